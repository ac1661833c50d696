#include "fuse/stream_admission.h"

#include <xxhash.h>

#include <algorithm>
#include <bit>

namespace cleancache::fuse {
namespace {

constexpr int kHashes = 3;
constexpr uint64_t kBitsPerKey = 8;

}  // namespace

StreamAdmission::StreamAdmission(uint64_t window_pages)
    : window_pages_(std::max<uint64_t>(window_pages, 1024)),
      bit_mask_(std::bit_ceil(window_pages_ * kBitsPerKey) - 1),
      words_(std::make_unique<std::atomic<uint64_t>[]>((bit_mask_ + 1) / 64)) {}

bool StreamAdmission::NoteRead(StreamState& state, uint64_t offset, uint64_t size) {
  uint64_t expected = state.next_offset.load(std::memory_order_relaxed);
  bool continues = offset + kBehindBytes >= expected && offset <= expected + kAheadBytes;
  uint64_t run = continues ? state.run_bytes.load(std::memory_order_relaxed) + size : size;
  state.run_bytes.store(run, std::memory_order_relaxed);
  state.next_offset.store(std::max(offset + size, continues ? expected : 0), std::memory_order_relaxed);
  return run >= kStreamBytes;
}

bool StreamAdmission::SecondTouch(const FileKey& key, uint64_t index) {
  const uint64_t h = XXH3_64bits_withSeed(&index, sizeof(index), key.hash());
  const uint64_t step = (h >> 32) | 1;
  bool seen = true;
  for (int i = 0; i < kHashes; ++i) {
    uint64_t bit = (h + static_cast<uint64_t>(i) * step) & bit_mask_;
    uint64_t mask = 1ull << (bit % 64);
    uint64_t old = words_[bit / 64].fetch_or(mask, std::memory_order_relaxed);
    if (!(old & mask)) seen = false;
  }
  if (!seen && inserted_.fetch_add(1, std::memory_order_relaxed) + 1 >= window_pages_) {
    // The window is full: forget it all (whoever sees the count first).
    uint64_t count = inserted_.load(std::memory_order_relaxed);
    if (count >= window_pages_ && inserted_.compare_exchange_strong(count, 0, std::memory_order_relaxed)) {
      for (uint64_t w = 0; w < (bit_mask_ + 1) / 64; ++w) words_[w].store(0, std::memory_order_relaxed);
    }
  }
  return seen;
}

}  // namespace cleancache::fuse
