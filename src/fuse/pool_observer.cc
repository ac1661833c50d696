#include "fuse/pool_observer.h"

#include <cstdio>

#include "cleancache/page_trace.h"
#include "cleancache/sizing_json.h"
#include "fuse/cached_fs.h"

namespace cleancache::fuse {

Result<std::unique_ptr<ObservedBackend>> ObservePool(std::unique_ptr<Backend> backend, const MountOptions& options,
                                                     uint64_t capacity) {
  ObservedBackendOptions o;
  o.capacity_bytes = capacity;
  o.page_size = CachedFs::kPageSize;
  if (!options.trace_path.empty()) {
    TraceWriterOptions t;
    t.page_size = CachedFs::kPageSize;
    t.max_bytes = options.trace_max_bytes;
    t.puts_recorded = true;  // the pool's own puts are records: a replay must not add one per miss
    auto writer = TraceWriter::Create(options.trace_path, t);
    if (!writer.ok()) return writer.status();
    o.trace = std::move(*writer);
    o.on_trace_full = [path = options.trace_path, max = options.trace_max_bytes](uint64_t records) {
      std::fprintf(stderr,
                   "cleancache mount: trace %s reached --trace-max (%llu bytes) after %llu records; "
                   "recording stopped (the trace stays a valid prefix)\n",
                   path.c_str(), static_cast<unsigned long long>(max), static_cast<unsigned long long>(records));
    };
  }
  return std::make_unique<ObservedBackend>(std::move(backend), std::move(o));
}

void AddObservation(nlohmann::json& stats, const ObservedBackend& observed, const MountOptions& options) {
  stats["sizing"] = SizingJson(observed.SizingNow());
  if (!options.trace_path.empty()) {
    stats["trace"] = {{"path", options.trace_path},
                      {"records", observed.trace_records()},
                      {"dropped", observed.trace_dropped()},
                      {"max_bytes", options.trace_max_bytes},
                      {"limit_reached", observed.trace_dropped() > 0}};
  }
}

}  // namespace cleancache::fuse
