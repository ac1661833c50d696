#include "mrc/trace_replay.h"

#include <algorithm>
#include <chrono>
#include <memory>

#include "cleancache/cleancache.hpp"
#include "cleancache/corpus.h"

namespace cleancache::mrc {
namespace {

// The replay pool's uuid: shared with nobody, it only makes gets non-exclusive.
constexpr std::string_view kReplayUuid = "c1ea0cac-4e00-4e91-a000-000000000017";

uint64_t PoolSalt(uint8_t pool) { return pool * 0x9E3779B97F4A7C15ull; }

Result<std::unique_ptr<Cleancache>> NewCache(const BackendSpec& spec, uint32_t page_size, PoolId* pool,
                                             std::string* name) {
  auto backend = CreateBackend(spec);
  if (!backend.ok()) return backend.status();
  if (name != nullptr) *name = backend.value()->Name();
  auto cache = std::make_unique<Cleancache>();
  if (Status s = cache->RegisterBackend(std::move(backend).value()); !s.ok()) return s;
  PoolConfig config;
  config.page_size = page_size;
  config.shared = true;
  config.uuid = Uuid::Parse(kReplayUuid).value();
  auto opened = cache->OpenPool(config);
  if (!opened.ok()) return opened.status();
  *pool = opened.value();
  return cache;
}

// Stored size of each content page under the spec's codec: put one at a time
// into a scratch backend and read the compressed-bytes figure.
Result<std::vector<uint32_t>> StoredSizes(std::string_view spec_text, const PageCorpus& corpus) {
  const uint64_t room = corpus.page_count() * corpus.page_size() * 2 + (32u << 20);
  auto spec = SpecWithCapacity(spec_text, room);
  if (!spec.ok()) return spec.status();
  PoolId pool = kNoPool;
  auto cache = NewCache(*spec, corpus.page_size(), &pool, nullptr);
  if (!cache.ok()) return cache.status();
  std::vector<uint32_t> sizes(corpus.page_count());
  uint64_t before = 0;
  for (size_t i = 0; i < corpus.page_count(); ++i) {
    cache.value()->PutPage(pool, FileKey::FromInode(0, 1), i, corpus.page(i));
    const uint64_t after = cache.value()->BackendStatistics().compressed_bytes;
    sizes[i] = static_cast<uint32_t>(std::min<uint64_t>(after - before, corpus.page_size()));
    before = after;
  }
  return sizes;
}

}  // namespace

uint64_t UsableBytes(uint64_t capacity, const BackendStats& stats) {
  auto shards = stats.extra.find("shards"), segment = stats.extra.find("segment_size");
  if (shards == stats.extra.end() || segment == stats.extra.end()) return capacity;
  const uint64_t idle = shards->second * segment->second / 2;
  return capacity > idle ? capacity - idle : 0;
}

Result<BackendSpec> SpecWithCapacity(std::string_view text, uint64_t capacity) {
  auto spec = ParseBackendSpec(text);
  if (!spec.ok()) return spec.status();
  std::erase_if(spec->options, [](const auto& kv) { return kv.first == "capacity"; });
  spec->options.emplace_back("capacity", std::to_string(capacity));
  if (Status s = CheckBackendSpec(*spec); !s.ok()) {
    return Status::InvalidArgument("backend '" + std::string(text) + "' with capacity=" + std::to_string(capacity) +
                                   ": " + s.message() + " (replay needs a backend with a capacity key, e.g. zcache)");
  }
  return spec;
}

Status CheckReplayOptions(const ReplayOptions& options) {
  if (options.capacities.empty()) return Status::InvalidArgument("no capacities given");
  if (!(options.compressibility >= 0 && options.compressibility <= 1))
    return Status::InvalidArgument("compressibility must be in 0..1");
  if (options.distinct_contents == 0) return Status::InvalidArgument("distinct contents must be >= 1");
  if (!(options.curve_initial_rate >= 0 && options.curve_initial_rate <= 1))
    return Status::InvalidArgument("curve sampling rate must be in (0, 1], or 0 for the default");
  for (uint64_t capacity : options.capacities) {
    if (capacity == 0) return Status::InvalidArgument("a capacity of 0");
    if (auto spec = SpecWithCapacity(options.backend, capacity); !spec.ok()) return spec.status();
  }
  return Status::Ok();
}

Result<ReplayReport> ReplayTrace(const PageTrace& trace, const ReplayOptions& options) {
  if (Status s = CheckReplayOptions(options); !s.ok()) return s;
  SyntheticCorpusOptions content;
  content.pages = options.distinct_contents;
  content.page_size = trace.page_size;
  content.compressibility = options.compressibility;
  content.seed = options.seed;
  auto corpus = BuildSyntheticCorpus(content);
  if (!corpus.ok()) return corpus.status();
  auto sizes = StoredSizes(options.backend, *corpus);
  if (!sizes.ok()) return sizes.status();

  const uint64_t largest = *std::max_element(options.capacities.begin(), options.capacities.end());
  MissRatioCurveOptions curve_options = MissRatioCurveOptions::ForCapacity(largest, options.curve_memory_share);
  const bool zcache = ParseBackendSpec(options.backend)->scheme == "zcache";
  curve_options.page_overhead_bytes = zcache ? kZcachePageOverhead : 0;
  curve_options.initial_rate =
      options.curve_initial_rate > 0 ? options.curve_initial_rate : std::min(1.0, 2 * curve_options.initial_rate);
  MissRatioCurve curve(curve_options);

  ReplayReport report;
  report.records = trace.records.size();
  double fed_bytes = 0;
  uint64_t fed = 0;
  std::vector<uint8_t> buffer(trace.page_size);
  for (size_t c = 0; c < options.capacities.size(); ++c) {
    const bool feed = c == 0;
    auto spec = SpecWithCapacity(options.backend, options.capacities[c]);
    if (!spec.ok()) return spec.status();
    PoolId pool = kNoPool;
    std::string name;
    auto made = NewCache(*spec, trace.page_size, &pool, &name);
    if (!made.ok()) return made.status();
    Cleancache& cache = *made.value();
    if (c == 0) report.backend_name = name;
    ReplayPoint point;
    point.capacity_bytes = options.capacities[c];
    auto last_progress = std::chrono::steady_clock::now();
    for (size_t i = 0; i < trace.records.size(); ++i) {
      const TraceRecord& r = trace.records[i];
      const FileKey key = FileKey::FromInode(r.pool, r.file_hash);
      const uint64_t hash = MissRatioCurve::PageHash(r.file_hash ^ PoolSalt(r.pool), r.index);
      const size_t which = static_cast<size_t>(hash % corpus->page_count());
      const uint32_t bytes = r.compressed_bytes != 0 ? r.compressed_bytes : (*sizes)[which];
      switch (r.op) {
        case TraceOp::kGet:
          ++point.reads;
          if (cache.GetPage(pool, key, r.index, buffer)) {
            ++point.hits;
          } else if (!trace.puts_recorded) {
            cache.PutPage(pool, key, r.index, corpus->page(which));
          }
          if (feed) {
            curve.Access(hash, bytes);
            fed_bytes += bytes + curve_options.page_overhead_bytes;
            ++fed;
          }
          break;
        case TraceOp::kPut:
          cache.PutPage(pool, key, r.index, corpus->page(which));
          if (feed) curve.Touch(hash, bytes);
          break;
        case TraceOp::kInvalidate:
          cache.InvalidatePage(pool, key, r.index);
          if (feed) curve.Invalidate(hash);
          break;
      }
      if (options.progress && (i & 4095) == 0) {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_progress > std::chrono::milliseconds(100)) {
          options.progress(c, i, trace.records.size());
          last_progress = now;
        }
      }
    }
    if (options.progress) options.progress(c, trace.records.size(), trace.records.size());
    point.stats = cache.BackendStatistics();
    point.usable_bytes = UsableBytes(point.capacity_bytes, point.stats);
    point.measured = point.reads == 0 ? 0 : static_cast<double>(point.hits) / static_cast<double>(point.reads);
    report.reads = point.reads;
    report.points.push_back(point);
  }
  report.curve = curve.Curve().Adjusted(report.points.front().reads);
  for (ReplayPoint& p : report.points) p.predicted = report.curve.HitRatioAtBytes(p.usable_bytes);
  report.curve_max_samples = curve.max_samples();
  report.curve_memory_bytes = curve.MemoryBytes();
  report.mean_page_bytes = fed == 0 ? 0 : fed_bytes / static_cast<double>(fed);
  return report;
}

}  // namespace cleancache::mrc
