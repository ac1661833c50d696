#include "daemon/miss_ratio_estimator.h"

#include <bit>

namespace cleancache::daemon {

MissRatioEstimator::MissRatioEstimator(size_t ghost_pages)
    : ghost_pages_(ghost_pages == 0 ? 1 : ghost_pages), ring_(ghost_pages_, 0) {
  ghosts_.reserve(ghost_pages_);
}

uint64_t MissRatioEstimator::Hash(BackendPoolId pool, const FileKey& key, uint64_t index) {
  uint64_t h = key.hash() ^ (index * 0x9E3779B97F4A7C15ull) ^ (pool * 0xC2B2AE3D27D4EB4Full);
  h ^= h >> 31;
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 29);
}

void MissRatioEstimator::OnEvict(BackendPoolId pool, const FileKey& key, uint64_t index,
                                 std::span<const uint8_t> /*page*/) {
  const uint64_t h = Hash(pool, key, index);
  std::lock_guard lock(mutex_);
  uint64_t& slot = ring_[evictions_ % ghost_pages_];
  if (evictions_ >= ghost_pages_) {
    // The oldest ghost leaves, unless its hash was re-evicted since.
    auto old = ghosts_.find(slot);
    if (old != ghosts_.end() && old->second + ghost_pages_ <= evictions_) ghosts_.erase(old);
  }
  slot = h;
  ghosts_[h] = evictions_++;
}

void MissRatioEstimator::RecordHits(uint64_t hits) {
  std::lock_guard lock(mutex_);
  accesses_ += hits;
  hits_ += hits;
}

void MissRatioEstimator::RecordMiss(BackendPoolId pool, const FileKey& key, uint64_t index) {
  const uint64_t h = Hash(pool, key, index);
  std::lock_guard lock(mutex_);
  ++accesses_;
  auto it = ghosts_.find(h);
  if (it == ghosts_.end()) return;
  const uint64_t distance = evictions_ - it->second;  // >= 1
  ghosts_.erase(it);
  ++ghost_hits_[std::min<size_t>(kBuckets - 1, std::bit_width(distance) - 1)];
}

MissRatioEstimator::Estimate MissRatioEstimator::EstimateFor(double target) const {
  std::lock_guard lock(mutex_);
  Estimate e;
  e.accesses = accesses_;
  e.hits = hits_;
  for (uint64_t g : ghost_hits_) e.ghost_hits += g;
  if (accesses_ == 0) return e;
  const double needed = target * static_cast<double>(accesses_);
  double reached = static_cast<double>(hits_);
  if (reached >= needed) {
    e.extra_pages = 0;
    return e;
  }
  for (size_t b = 0; b < kBuckets; ++b) {
    reached += static_cast<double>(ghost_hits_[b]);
    const uint64_t upper = (uint64_t{2} << b) - 1;  // largest distance in bucket b
    if (reached >= needed) {
      e.extra_pages = std::min<uint64_t>(upper, ghost_pages_);
      return e;
    }
  }
  return e;
}

}  // namespace cleancache::daemon
