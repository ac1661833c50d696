// StreamAdmission: the mount's scan resistance. A long sequential read must
// not flush what the mount has cached (bench/value's scan workload: a hot
// set read at random beside a looping 1 MiB scan of twice the data set; with
// every page read admitted, the hot set's hit ratio fell to 0.69).
//
// A read continues its file's stream when it starts near where the previous
// read of the file ended (the kernel's readahead requests may be served out
// of order); once a file has been read this way for 8 MiB, its
// reads are streaming. Pages a streaming read fetches from the backing are
// cached (PageCache::Admit) only
//  - while cleancache has room: a cold cache fills from a scan (`cat` of a
//    data set, then random reads of it, hits), or
//  - on their second touch: the first is remembered in a doorkeeper, a
//    Bloom filter (8 bits, 3 hashes per key: ~3% false positives) sized for
//    `window_pages` keys and cleared once that many have passed (TinyLFU's
//    doorkeeper). A scan repeated within the window is admitted on its second
//    pass; a longer one (a backup, a loop over a data set larger than the
//    window) is served and cached nowhere, and evicts nothing.
// Random reads are always admitted: they are what the cache is for.
// Thread safety: all methods may run concurrently (relaxed atomics: the
// policy is a heuristic; a lost update costs one page's admission).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "cleancache/file_key.h"

namespace cleancache::fuse {

// Per file: where its last read ended and how long the run is.
struct StreamState {
  std::atomic<uint64_t> next_offset{0};
  std::atomic<uint64_t> run_bytes{0};
};

class StreamAdmission {
 public:
  static constexpr uint64_t kStreamBytes = 8ull << 20;
  // A read continues the stream if it starts at most this far behind or
  // ahead of where the previous one ended: the kernel's readahead requests
  // (128 KiB) may be served out of order by different threads. Random 4 KiB
  // reads of an 8 MiB file land there 4.7% of the time, so they almost never
  // string together 2048 of them.
  static constexpr uint64_t kBehindBytes = 256ull << 10;
  static constexpr uint64_t kAheadBytes = 128ull << 10;

  explicit StreamAdmission(uint64_t window_pages);

  // Notes a read of `size` bytes at `offset`; true if the file is streaming.
  static bool NoteRead(StreamState& state, uint64_t offset, uint64_t size);
  // A streamed page read from the backing: true on its second touch within
  // the window.
  bool SecondTouch(const FileKey& key, uint64_t index);

  uint64_t window_pages() const { return window_pages_; }

 private:
  const uint64_t window_pages_;
  const uint64_t bit_mask_;  // bits - 1 (a power of two)
  std::unique_ptr<std::atomic<uint64_t>[]> words_;
  std::atomic<uint64_t> inserted_{0};
};

}  // namespace cleancache::fuse
