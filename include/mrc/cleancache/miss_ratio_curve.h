// MissRatioCurve: the hit ratio an LRU cache would have at every size, in
// pages and in bytes of real memory, estimated from the accesses it is fed.
//
// Method: SHARDS (Waldspurger et al., "Efficient MRC Construction with
// SHARDS", FAST '15), fixed-size variant. A page is sampled iff its 64-bit
// hash is <= a threshold T (rate R = (T + 1) / 2^64); a page is in or out for
// the whole run, so every reuse of a sampled page is seen. Over the sampled
// pages the estimator keeps an exact LRU stack: each sampled page remembers
// the logical time of its last access, a Fenwick tree over times holds 1 and
// the page's size at that time, so a reuse's stack distance (distinct sampled
// pages touched since, itself included) and byte distance (their sizes summed)
// are two prefix sums: O(log s) per sampled access, s = sampled pages. The
// distances are scaled by 1/R, and the access is counted with weight 1/R (the
// accesses it stands for), in histograms of log-linear buckets (exact below
// 128, then 64 buckets per power of two: <= 1.6% wide).
// Fixed size: at most `max_samples` pages are tracked. When one more would
// enter, the page with the largest hash leaves and T drops below that hash,
// so R only falls and memory stays bounded whatever the trace's footprint.
// Counts are weighted by the R in force when they were made, so no rescaling
// is needed when R falls.
//
// Bytes: each access passes the page's size as stored (its compressed size;
// 4096 when unknown); `page_overhead_bytes` is added to it (the backend's
// per-page metadata). A page hits in a cache of C bytes iff the sizes of the
// distinct pages used since its last access, its own included, sum to <= C:
// LRU over variable-size objects, which ignores the backend's packing and
// eviction granularity (docs/MRC.md measures what that costs).
//
// Memory: MemoryBytes() counts the sample table, the heap of sampled hashes,
// the Fenwick tree and the histograms. ForCapacity() sizes max_samples so the
// total stays <= 1% of the cache's capacity (docs/MRC.md has the arithmetic).
//
// Thread safety: every method may be called concurrently. The sampling test
// is one relaxed atomic load outside any lock (an unsampled access costs a
// hash and a compare); sampled accesses and snapshots take one mutex per
// estimator. A Snapshot is an immutable copy.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "cleancache/file_key.h"

namespace cleancache {

struct MissRatioCurveOptions {
  // Pages tracked at most (>= 16). Memory is about kBytesPerSample each.
  uint64_t max_samples = 8192;
  // Starting rate; 1.0 tracks every page until max_samples are tracked
  // (exact while the footprint fits).
  double initial_rate = 1.0;
  // Added to every page's size on the byte axis (zcache: 44 B, see
  // src/mrc/trace_replay.h).
  uint32_t page_overhead_bytes = 0;

  // Budget per tracked page used by ForCapacity: 80-88 B as MemoryBytes()
  // counts it (32 B table node + 8-16 B bucket, 8 B heap slot, 2 x 16 B
  // Fenwick slots), rounded up to 128.
  static constexpr uint64_t kBytesPerSample = 128;
  // Histograms grow with the largest distance seen; reserved out of the
  // budget: 2 histograms x 64 buckets per power of two x 8 B x 40 powers of
  // two (distances up to 2^40 pages or bytes) = 40 KiB.
  static constexpr uint64_t kHistogramReserveBytes = 40 << 10;
  // Options whose MemoryBytes() stays <= memory_share x capacity_bytes:
  // max_samples = (share x capacity - histogram reserve) / 128, at least 16
  // (so at 1% the bound holds from an 8 MiB cache up: 335 samples there;
  // 256 MiB: 20,651). initial_rate = max_samples / (8 x capacity / 4 KiB),
  // ~0.04 at 1%: the sample set is full only once the footprint passes 8x
  // the capacity in uncompressed pages, and a smaller footprint sends 4% of
  // accesses down the sampled path, not all of them: the always-on setting,
  // a zcache get 2.4% slower (bench/mrc). Twice the rate (replay's default)
  // halves the worst prediction error seen, 0.032 -> 0.016, and cost a get
  // 2.4-4.9% (docs/MRC.md).
  static MissRatioCurveOptions ForCapacity(uint64_t capacity_bytes, double memory_share = 0.01);
};

// One point of a curve.
struct MissRatioPoint {
  uint64_t size = 0;  // pages or bytes, per the axis asked for
  double hit_ratio = 0;
};

class MissRatioCurve {
 public:
  // The hash a page is sampled and tracked by: XXH3 over (pool, file key
  // hash, index). Callers with their own 64-bit file hash use the second form.
  static uint64_t PageHash(uint64_t pool, const FileKey& key, uint64_t index);
  static uint64_t PageHash(uint64_t file_hash, uint64_t index);

  explicit MissRatioCurve(const MissRatioCurveOptions& options);
  ~MissRatioCurve();
  MissRatioCurve(const MissRatioCurve&) = delete;
  MissRatioCurve& operator=(const MissRatioCurve&) = delete;

  // A read of the page: counted (a hit at every size >= its distance, a miss
  // below, a cold miss everywhere if never seen), then the page is the most
  // recently used with `bytes` as its size.
  void Access(uint64_t page_hash, uint32_t bytes) {
    if (page_hash <= threshold_.load(std::memory_order_relaxed)) Sampled(page_hash, bytes, true);
  }
  // A put with no read (the page enters or refreshes the cache): moves it to
  // the top of the stack without counting an access.
  void Touch(uint64_t page_hash, uint32_t bytes) {
    if (page_hash <= threshold_.load(std::memory_order_relaxed)) Sampled(page_hash, bytes, false);
  }
  // The page is gone (invalidated): its next access is a cold miss.
  void Invalidate(uint64_t page_hash);

  class Snapshot {
   public:
    double HitRatioAtPages(uint64_t pages) const { return HitRatio(by_pages_, pages); }
    double HitRatioAtBytes(uint64_t bytes) const { return HitRatio(by_bytes_, bytes); }
    // `points` sizes spaced geometrically from `smallest` to `largest`.
    std::vector<MissRatioPoint> PagesCurve(uint64_t smallest, uint64_t largest, int points) const;
    std::vector<MissRatioPoint> BytesCurve(uint64_t smallest, uint64_t largest, int points) const;
    // SHARDS_adj (the paper's section 3.3): given the true number of reads
    // the curve was fed (callers that count them anyway: the shim per pool,
    // a replay), the difference from the sampled estimate is put in the
    // smallest distance, so a hot page that happens to be sampled (or
    // missed) does not tilt the whole curve. Measured in docs/MRC.md: Zipf
    // 0.8 error 0.038 -> below 0.01 at 32 MiB.
    Snapshot Adjusted(uint64_t accesses) const;
    double accesses() const { return weight_ + adjustment_; }  // estimated reads of the whole trace
    uint64_t sampled_accesses() const { return sampled_accesses_; }
    uint64_t samples() const { return samples_; }  // pages tracked now
    double sampling_rate() const { return rate_; }

   private:
    friend class MissRatioCurve;
    double HitRatio(const std::vector<double>& histogram, uint64_t size) const;
    std::vector<double> by_pages_, by_bytes_;  // weight per distance bucket
    double weight_ = 0;                        // every counted access, cold misses included
    double adjustment_ = 0;                    // SHARDS_adj: reads at distance 1 (may be < 0)
    uint64_t sampled_accesses_ = 0;
    uint64_t samples_ = 0;
    double rate_ = 1;
  };
  Snapshot Curve() const;

  double sampling_rate() const;
  uint64_t max_samples() const;
  // Bytes held now (tables, heap, tree, histograms), per the allocator's
  // granularity (16-byte chunks with an 8-byte header).
  uint64_t MemoryBytes() const;

 private:
  void Sampled(uint64_t page_hash, uint32_t bytes, bool counted);
  struct State;
  std::atomic<uint64_t> threshold_;
  std::unique_ptr<State> state_;
};

}  // namespace cleancache
