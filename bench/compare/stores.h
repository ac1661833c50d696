// The contestants of `compare`, each a factory of fresh PageStores.
// Factories fail with a Status that says why a contestant cannot run here
// (zram: no device, not root, device busy), so the tool can skip it and say so.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "compare/page_store.h"

namespace cleancache::compare {

// How a contestant's "real memory" is obtained.
enum class MemoryBasis {
  kProcessMemory,   // what this process holds more: heap in use + resident outside the heap (process_memory.h)
  kZramMemUsed,     // /sys/block/zram0/mm_stat mem_used_total
  kCompressedOnly,  // payload bytes only: the physical limit, no index or allocator
};
const char* MemoryBasisName(MemoryBasis basis);

struct Contestant {
  std::string name;  // e.g. "zcache-lz4"
  MemoryBasis memory;
  bool bounded;  // has a capacity with eviction: takes part in the Zipf run
  std::function<Result<std::unique_ptr<PageStore>>(const StoreSetup&)> create;
};

// Our backend, built from `spec` (e.g. "zcache:codec=lz4") through
// CreateBackend and used through a Cleancache instance; the capacity of the
// setup is appended to the spec. Gets keep the page (a shared pool), like
// every peer's; with `exclusive_gets`, a private pool, whose gets take the page
// (Linux's semantics for private pools; not bounded: no Zipf run).
enum class ZCachePool { kShared, kPrivate };
Contestant ZCacheContestant(std::string name, std::string spec, ZCachePool pool = ZCachePool::kShared);
// RocksDB's CompressedSecondaryCache with LZ4, used through its
// SecondaryCache interface.
Contestant RocksDbContestant();
// Linux zram (/dev/zram0, lz4), 4 KiB O_DIRECT pwrite/pread.
Contestant ZramContestant(std::string device = "zram0");
// Raw per-page codecs into a packed arena, and memcpy.
Contestant RawLz4Contestant();
Contestant RawZstdContestant(int level);
Contestant MemcpyContestant();

}  // namespace cleancache::compare
