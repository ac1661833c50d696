// ObservedBackend: a Backend that forwards every call to the backend it
// wraps and watches the data path on the way: an always-on miss-ratio curve
// of the pages it is asked for, and optionally a page trace of every access.
// The mount wraps its pool's backend in one, the daemon each tenant's store,
// so `cleancache stats` can say how much memory each would need (Sizing) and
// the daemon's curve policy can move memory where it buys the most hits.
//
// Feeding the curve: a get is an access of each page asked for (hit or
// miss), a put a touch (the page enters the cache at the top of the stack),
// an invalidation forgets the page; a whole-file invalidation or a closed
// pool is not seen page by page (their pages' next gets count as reuses,
// which errs toward more memory). Pages are hashed as the replay hashes
// them (MissRatioCurve::PageHash(pool & 0xff, key, index)), so a trace
// recorded here replays onto the same curve. Hot-path cost for an unsampled
// page: one 64-bit hash, one compare, one relaxed add on one of 16
// cache-line counters (the true read count, for SHARDS_adj); only sampled
// pages (4% at the always-on rate) take the curve's lock.
// The curve is kept on the page axis (one page = the pool's page size) and
// turned into bytes when read (PageCost): memory for n pages = n x the
// bytes a stored page costs now + the backend's fixed slack. For a zcache
// (its stats report shards and segment_size) a page costs its average
// compressed size + 44 B of metadata (kZcachePageOverhead) and the slack is
// half a segment per shard (what the replay's prediction assumes,
// UsableBytes); for other backends a page costs real memory / pages stored
// and there is no slack. docs/MRC.md says what that assumes.
//
// Trace: with a TraceWriter, every get (one record per page), put and
// invalidate is appended (file hash, index, op, pool & 0xff; compressed size
// 0 = unknown). The writer's own size bound applies; the first dropped
// record calls `on_trace_full` once (the mount logs it).
//
// Thread safety: as Backend. The wrapped backend's locks are taken after
// the curve's sampled-path lock is released (never under it), so the lock
// order of docs/ARCHITECTURE.md is unchanged: the curve's mutex is a leaf.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>

#include "cleancache/backend.h"
#include "cleancache/miss_ratio_curve.h"
#include "cleancache/page_trace.h"

namespace cleancache {

// What a curve says about a cache's size. The memory figures are for
// `share` of the best reachable hit ratio (the curve's largest); nullopt
// while nothing was read.
// Memory for n pages = n x bytes_per_page + fixed_bytes.
struct PageCost {
  double bytes_per_page = 0;
  uint64_t fixed_bytes = 0;
};

struct Sizing {
  uint64_t capacity_bytes = 0;
  uint64_t reads = 0;         // gets the curve was fed (pages)
  double bytes_per_page = 0;  // the PageCost used to convert pages to bytes
  uint64_t fixed_bytes = 0;
  double best_hit_ratio = 0;  // at unbounded memory
  double hit_ratio_now = 0;   // at capacity_bytes
  std::optional<uint64_t> memory_for_90pct_bytes, memory_for_95pct_bytes, memory_for_99pct_bytes;
  double sampling_rate = 0;
  uint64_t curve_memory_bytes = 0;
};

// The Sizing a snapshot (page axis) gives a cache of `capacity_bytes` whose
// pages cost `cost`.
Sizing SizingFromCurve(const MissRatioCurve::Snapshot& curve, uint64_t capacity_bytes, const PageCost& cost);
// Smallest memory whose hit ratio per the curve reaches `share` x the best.
uint64_t MemoryForShareOfBest(const MissRatioCurve::Snapshot& curve, double share, const PageCost& cost);
// Pages `bytes` of memory hold at `cost`.
uint64_t PagesFor(uint64_t bytes, const PageCost& cost);

struct ObservedBackendOptions {
  // Sizes the curve (ForCapacity, as for at least 64 MiB: a smaller cache
  // would get too few samples to draw a curve; <= 656 KiB then) and is
  // Sizing's capacity.
  uint64_t capacity_bytes = 0;
  double curve_memory_share = 0.01;
  uint32_t page_size = kDefaultPageSize;
  std::unique_ptr<TraceWriter> trace;  // optional
  std::function<void(uint64_t records)> on_trace_full;
};

class ObservedBackend final : public Backend {
 public:
  ObservedBackend(std::unique_ptr<Backend> inner, ObservedBackendOptions options);
  ~ObservedBackend() override;

  std::string Name() const override { return inner_->Name(); }
  Result<BackendPoolId> OpenPool(const PoolConfig& config) override { return inner_->OpenPool(config); }
  void ClosePool(BackendPoolId pool) override { inner_->ClosePool(pool); }
  bool GetPage(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<uint8_t> page) override;
  void PutPage(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<const uint8_t> page) override;
  void InvalidatePage(BackendPoolId pool, const FileKey& key, uint64_t index) override;
  void InvalidateInode(BackendPoolId pool, const FileKey& key) override { inner_->InvalidateInode(pool, key); }
  size_t GetPages(BackendPoolId pool, const FileKey& key, uint64_t first, size_t count, std::span<uint8_t> pages,
                  std::span<uint8_t> hit) override;
  void PutPages(BackendPoolId pool, const FileKey& key, uint64_t first, size_t count,
                std::span<const uint8_t> pages) override;
  BackendStats Stats() const override { return inner_->Stats(); }
  uint64_t Shrink(uint64_t target_real_bytes) override { return inner_->Shrink(target_real_bytes); }
  void SetCapacity(uint64_t capacity_bytes) override;
  void SetEvictionListener(EvictionListener* listener) override { inner_->SetEvictionListener(listener); }

  Backend& inner() { return *inner_; }
  const MissRatioCurve& curve() const { return curve_; }
  // Gets fed so far (pages), exact.
  uint64_t reads() const;
  // The curve with SHARDS_adj applied (the true read count).
  MissRatioCurve::Snapshot Curve() const { return curve_.Curve().Adjusted(reads()); }
  // What pages cost now (see the top): from `stats` of the wrapped backend;
  // the page size (+ 44 B for a zcache) when nothing is stored.
  PageCost Cost(const BackendStats& stats) const;
  Sizing SizingNow() const;
  // Closes the trace (if any) and reports its error; later accesses are not
  // recorded.
  Status CloseTrace();
  uint64_t trace_records() const;
  uint64_t trace_dropped() const;

 private:
  void Count(uint64_t page_hash, uint64_t n) {
    reads_[page_hash & (kStripes - 1)].n.fetch_add(n, std::memory_order_relaxed);
  }
  void Record(TraceOp op, BackendPoolId pool, const FileKey& key, uint64_t index);

  static constexpr size_t kStripes = 16;
  struct alignas(64) Stripe {
    std::atomic<uint64_t> n{0};
  };
  std::unique_ptr<Backend> inner_;
  const uint32_t page_size_;
  std::atomic<uint64_t> capacity_;
  MissRatioCurve curve_;
  std::array<Stripe, kStripes> reads_;
  std::unique_ptr<TraceWriter> trace_;
  std::atomic<bool> tracing_{false};
  std::atomic<bool> trace_full_reported_{false};
  std::function<void(uint64_t)> on_trace_full_;
};

}  // namespace cleancache
