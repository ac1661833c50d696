#include "cleancache/observed_backend.h"

#include <algorithm>
#include <cmath>

#include "mrc/trace_replay.h"

namespace cleancache {
namespace {

// Larger than any footprint a curve sees (2^40 pages = 4 PiB of 4 KiB pages).
constexpr uint64_t kUnbounded = uint64_t{1} << 40;
constexpr uint64_t kMinCurveCapacity = 64ull << 20;

MissRatioCurveOptions CurveOptions(const ObservedBackendOptions& o) {
  // Sized as for a cache of at least 64 MiB (4,923 samples, <= 656 KiB):
  // at 1% of a 4 MiB cache ForCapacity keeps 16 samples, 4 pages of an
  // 8 MiB working set, too few to draw a curve from.
  return MissRatioCurveOptions::ForCapacity(std::max<uint64_t>(o.capacity_bytes, kMinCurveCapacity),
                                            o.curve_memory_share);
}

}  // namespace

uint64_t PagesFor(uint64_t bytes, const PageCost& cost) {
  if (cost.bytes_per_page <= 0 || bytes <= cost.fixed_bytes) return 0;
  return static_cast<uint64_t>(static_cast<double>(bytes - cost.fixed_bytes) / cost.bytes_per_page);
}

uint64_t MemoryForShareOfBest(const MissRatioCurve::Snapshot& curve, double share, const PageCost& cost) {
  const double best = curve.HitRatioAtPages(kUnbounded);
  const double target = share * best;
  // HitRatioAtPages is monotone in the size: binary search for the smallest
  // page count reaching the target.
  uint64_t lo = 0, hi = kUnbounded;
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    if (curve.HitRatioAtPages(mid) >= target) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  if (lo == 0) return 0;
  return static_cast<uint64_t>(std::llround(static_cast<double>(lo) * cost.bytes_per_page)) + cost.fixed_bytes;
}

Sizing SizingFromCurve(const MissRatioCurve::Snapshot& curve, uint64_t capacity_bytes, const PageCost& cost) {
  Sizing s;
  s.capacity_bytes = capacity_bytes;
  s.bytes_per_page = cost.bytes_per_page;
  s.fixed_bytes = cost.fixed_bytes;
  s.sampling_rate = curve.sampling_rate();
  s.reads = static_cast<uint64_t>(std::llround(std::max(0.0, curve.accesses())));
  if (curve.accesses() <= 0 || cost.bytes_per_page <= 0) return s;
  s.best_hit_ratio = curve.HitRatioAtPages(kUnbounded);
  s.hit_ratio_now = curve.HitRatioAtPages(PagesFor(capacity_bytes, cost));
  s.memory_for_90pct_bytes = MemoryForShareOfBest(curve, 0.90, cost);
  s.memory_for_95pct_bytes = MemoryForShareOfBest(curve, 0.95, cost);
  s.memory_for_99pct_bytes = MemoryForShareOfBest(curve, 0.99, cost);
  return s;
}

ObservedBackend::ObservedBackend(std::unique_ptr<Backend> inner, ObservedBackendOptions options)
    : inner_(std::move(inner)),
      page_size_(options.page_size),
      capacity_(options.capacity_bytes),
      curve_(CurveOptions(options)),
      trace_(std::move(options.trace)),
      tracing_(trace_ != nullptr),
      on_trace_full_(std::move(options.on_trace_full)) {}

ObservedBackend::~ObservedBackend() { (void)CloseTrace(); }

void ObservedBackend::Record(TraceOp op, BackendPoolId pool, const FileKey& key, uint64_t index) {
  if (!tracing_.load(std::memory_order_relaxed)) return;
  TraceRecord r;
  r.file_hash = key.hash();
  r.index = index;
  r.op = op;
  r.pool = static_cast<uint8_t>(pool);
  // A failed append after CloseTrace (a racing put) is no full trace.
  if (!trace_->Append(r) && tracing_.load() && !trace_full_reported_.exchange(true) && on_trace_full_) {
    on_trace_full_(trace_->records());
  }
}

bool ObservedBackend::GetPage(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<uint8_t> page) {
  const uint64_t h = MissRatioCurve::PageHash(pool & 0xff, key, index);
  Count(h, 1);
  curve_.Access(h, page_size_);
  Record(TraceOp::kGet, pool, key, index);
  return inner_->GetPage(pool, key, index, page);
}

size_t ObservedBackend::GetPages(BackendPoolId pool, const FileKey& key, uint64_t first, size_t count,
                                 std::span<uint8_t> pages, std::span<uint8_t> hit) {
  for (size_t i = 0; i < count; ++i) {
    const uint64_t h = MissRatioCurve::PageHash(pool & 0xff, key, first + i);
    Count(h, 1);
    curve_.Access(h, page_size_);
    Record(TraceOp::kGet, pool, key, first + i);
  }
  return inner_->GetPages(pool, key, first, count, pages, hit);
}

void ObservedBackend::PutPage(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<const uint8_t> page) {
  curve_.Touch(MissRatioCurve::PageHash(pool & 0xff, key, index), page_size_);
  Record(TraceOp::kPut, pool, key, index);
  inner_->PutPage(pool, key, index, page);
}

void ObservedBackend::PutPages(BackendPoolId pool, const FileKey& key, uint64_t first, size_t count,
                               std::span<const uint8_t> pages) {
  for (size_t i = 0; i < count; ++i) {
    curve_.Touch(MissRatioCurve::PageHash(pool & 0xff, key, first + i), page_size_);
    Record(TraceOp::kPut, pool, key, first + i);
  }
  inner_->PutPages(pool, key, first, count, pages);
}

void ObservedBackend::InvalidatePage(BackendPoolId pool, const FileKey& key, uint64_t index) {
  curve_.Invalidate(MissRatioCurve::PageHash(pool & 0xff, key, index));
  Record(TraceOp::kInvalidate, pool, key, index);
  inner_->InvalidatePage(pool, key, index);
}

void ObservedBackend::SetCapacity(uint64_t capacity_bytes) {
  capacity_ = capacity_bytes;
  inner_->SetCapacity(capacity_bytes);
}

uint64_t ObservedBackend::reads() const {
  uint64_t n = 0;
  for (const Stripe& s : reads_) n += s.n.load(std::memory_order_relaxed);
  return n;
}

PageCost ObservedBackend::Cost(const BackendStats& stats) const {
  auto shards = stats.extra.find("shards"), segment = stats.extra.find("segment_size");
  PageCost cost;
  if (shards != stats.extra.end() && segment != stats.extra.end()) {  // a zcache
    cost.fixed_bytes = shards->second * segment->second / 2;
    cost.bytes_per_page = (stats.pages_stored == 0 ? static_cast<double>(page_size_)
                                                   : static_cast<double>(stats.compressed_bytes) /
                                                         static_cast<double>(stats.pages_stored)) +
                          mrc::kZcachePageOverhead;
  } else if (stats.pages_stored == 0 || stats.real_memory_bytes == 0) {
    cost.bytes_per_page = page_size_;
  } else {
    cost.bytes_per_page = static_cast<double>(stats.real_memory_bytes) / static_cast<double>(stats.pages_stored);
  }
  return cost;
}

Sizing ObservedBackend::SizingNow() const {
  const BackendStats stats = inner_->Stats();
  const uint64_t capacity = capacity_ != 0 ? capacity_.load() : stats.capacity_bytes;
  Sizing s = SizingFromCurve(Curve(), capacity, Cost(stats));
  s.curve_memory_bytes = curve_.MemoryBytes();
  return s;
}

Status ObservedBackend::CloseTrace() {
  if (!trace_ || !tracing_.exchange(false)) return Status::Ok();
  return trace_->Close();
}

uint64_t ObservedBackend::trace_records() const { return trace_ ? trace_->records() : 0; }
uint64_t ObservedBackend::trace_dropped() const { return trace_ ? trace_->dropped() : 0; }

}  // namespace cleancache
