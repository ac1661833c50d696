// MissRatioEstimator: per-tenant estimate of how much more memory the tenant
// would need to reach a target hit ratio (a first step toward rightsizing).
//
// Method (ghost list): the tenant's store reports every page it evicts; the
// estimator remembers the last `ghost_pages` of them (hashes only, no data),
// numbered in eviction order. A get that misses on a remembered page would
// have hit had the store been larger by roughly the number of pages evicted
// since that page left ("eviction distance"). The hits plus the ghost hits
// within distance d estimate the hit ratio with d more pages; the smallest
// such d that reaches the target is the answer. Distances are kept in
// power-of-two buckets, so the answer is rounded up to one.
// Thread safety: all methods may be called concurrently (one mutex; OnEvict
// only hashes and inserts, as the EvictionListener contract asks).
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "cleancache/backend.h"

namespace cleancache::daemon {

class MissRatioEstimator : public EvictionListener {
 public:
  explicit MissRatioEstimator(size_t ghost_pages);

  void OnEvict(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<const uint8_t> page) override;
  void RecordHits(uint64_t hits);
  void RecordMiss(BackendPoolId pool, const FileKey& key, uint64_t index);

  struct Estimate {
    uint64_t accesses = 0;
    uint64_t hits = 0;
    uint64_t ghost_hits = 0;
    // More pages needed for the target; nullopt when even the whole ghost
    // list would not reach it (the need is beyond what is tracked).
    std::optional<uint64_t> extra_pages;
  };
  Estimate EstimateFor(double target_hit_ratio) const;

 private:
  static constexpr size_t kBuckets = 40;
  static uint64_t Hash(BackendPoolId pool, const FileKey& key, uint64_t index);

  const size_t ghost_pages_;
  mutable std::mutex mutex_;
  uint64_t evictions_ = 0;                         // sequence number of the next eviction
  std::vector<uint64_t> ring_;                     // hash of eviction seq % ghost_pages_
  std::unordered_map<uint64_t, uint64_t> ghosts_;  // hash -> eviction seq
  uint64_t accesses_ = 0;
  uint64_t hits_ = 0;
  std::array<uint64_t, kBuckets> ghost_hits_{};  // bucket b: distance in [2^b, 2^(b+1))
};

}  // namespace cleancache::daemon
