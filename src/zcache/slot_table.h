// SlotTable: fixed-size records addressed by 32-bit slot numbers, stored in
// chunks so that growth is small steps (memory is accounted per chunk and the
// capacity check happens before each step) and slots never move.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace cleancache::zcache {

inline constexpr uint32_t kNil = UINT32_MAX;

// T must have `uint32_t& free_link()`, a field it may reuse while the slot is free.
template <typename T, uint32_t kChunkSlots>
class SlotTable {
 public:
  T& operator[](uint32_t slot) { return chunks_[slot / kChunkSlots][slot % kChunkSlots]; }
  const T& operator[](uint32_t slot) const { return chunks_[slot / kChunkSlots][slot % kChunkSlots]; }

  // True when Allocate() would have to add a chunk of ChunkBytes().
  bool NeedsChunk() const { return free_head_ == kNil && next_unused_ == chunks_.size() * kChunkSlots; }
  static constexpr size_t ChunkBytes() { return sizeof(T) * kChunkSlots; }

  uint32_t Allocate() {
    uint32_t slot;
    if (free_head_ != kNil) {
      slot = free_head_;
      free_head_ = (*this)[slot].free_link();
    } else {
      if (next_unused_ == chunks_.size() * kChunkSlots) chunks_.push_back(std::make_unique<T[]>(kChunkSlots));
      slot = next_unused_++;
    }
    (*this)[slot] = T{};
    ++in_use_;
    return slot;
  }

  void Free(uint32_t slot) {
    (*this)[slot] = T{};
    (*this)[slot].free_link() = free_head_;
    free_head_ = slot;
    --in_use_;
  }

  uint32_t in_use() const { return in_use_; }
  // Slots ever handed out (an upper bound for iteration).
  uint32_t high_water() const { return next_unused_; }
  size_t MemoryBytes() const { return chunks_.size() * ChunkBytes() + chunks_.capacity() * sizeof(void*); }

 private:
  std::vector<std::unique_ptr<T[]>> chunks_;
  uint32_t free_head_ = kNil;
  uint32_t next_unused_ = 0;
  uint32_t in_use_ = 0;
};

// 64-bit finaliser (MurmurHash3 fmix64): spreads structured keys over buckets.
inline uint64_t Mix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

}  // namespace cleancache::zcache
