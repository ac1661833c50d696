// GenerationTable: the local, authoritative generation of every file of one
// pool (the memcached "namespacing trick" without a remote counter to lose).
//
// A file's generation is part of every key and of every value's binding, so
// bumping it makes all the file's remote pages unreachable at once. Values
// come from a clock shared by the backend that only grows, so a generation is
// never reused. Memory is bounded: a shard that is full forgets its entries
// and raises its floor (the generation of files it does not track) to a fresh
// clock value, which invalidates those files -- a loss, never staleness.
// Files are tracked by their 64-bit key hash; two files sharing a hash share a
// generation, which only costs extra misses.
// Thread safety: all methods may run concurrently.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace cleancache::memcached {

class GenerationTable {
 public:
  GenerationTable(uint64_t max_entries, std::atomic<uint64_t>& clock);

  uint64_t Get(uint64_t file_hash) const;
  // Gives the file a fresh generation.
  void Bump(uint64_t file_hash);
  uint64_t tracked_files() const;

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<uint64_t, uint64_t> generations;
    uint64_t floor = 0;
  };
  Shard& ShardFor(uint64_t file_hash) const { return shards_[(file_hash >> 32) % kShards]; }

  std::atomic<uint64_t>& clock_;
  size_t max_per_shard_;
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace cleancache::memcached
