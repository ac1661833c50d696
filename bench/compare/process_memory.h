// Process memory, as the contestants living in this process are charged for
// it, and the warm-up that makes the first contestant pay no more for fresh
// memory than the last.
//
// A store's memory is what the process holds more after filling it than
// before creating it, counted as
//   heap bytes in use (mallinfo2().uordblks: malloc'd chunks with their
//   headers and rounding, main arena)
// + resident bytes of every mapping but the [heap] (/proc/self/smaps: mmap'd
//   segments, malloc's own mmap'd chunks, anything else the store maps).
// Plain RSS would not do: free heap pages that malloc_trim cannot return
// (fragments) stay resident and are silently reused by the next store, which
// then looks smaller than its payload. Heap fragmentation the store itself
// causes is therefore not charged to it (in its favour).
// Process-wide by nature: call from the one thread driving the benchmark
// while no store is working (the benchmark is single-threaded).
#pragma once

#include <cstddef>
#include <cstdint>

namespace cleancache::compare {

struct MemorySample {
  uint64_t heap_in_use = 0;
  uint64_t resident_outside_heap = 0;
};

// Trims the heap (malloc_trim) first, so freed memory does not count.
MemorySample SampleMemory();
// Growth from `before` to `after` (0 if it shrank).
uint64_t MemoryGrowth(const MemorySample& before, const MemorySample& after);

// Maps, touches and unmaps `bytes` of anonymous memory. On a VM, the first
// touch of fresh guest memory costs several times more than later touches;
// doing it once up front gives every contestant warm memory.
void TouchFreshMemory(size_t bytes);

}  // namespace cleancache::compare
