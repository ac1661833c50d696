#include "fuse/mount_metrics.h"

#include "cleancache/prometheus_text.h"

namespace cleancache::fuse {
namespace {

uint64_t U(const nlohmann::json& j, const char* section, const char* key) {
  auto s = j.find(section);
  if (s == j.end() || !s->is_object()) return 0;
  auto f = s->find(key);
  return f != s->end() && f->is_number_unsigned() ? f->get<uint64_t>() : 0;
}

std::string Text(const nlohmann::json& j, const char* section, const char* key) {
  auto s = j.find(section);
  if (s == j.end() || !s->is_object()) return "";
  auto f = s->find(key);
  return f != s->end() && f->is_string() ? f->get<std::string>() : "";
}

}  // namespace

std::string MountMetricsText(const nlohmann::json& j) {
  using Type = PrometheusText::Type;
  PrometheusText out;
  out.BuildInfo("cleancache");
  out.Family("cleancache_mount_info", "The mount these metrics are of; always 1.", Type::kGauge);
  out.Sample("cleancache_mount_info", uint64_t{1},
             {{"mountpoint", Text(j, "mount", "mountpoint")},
              {"backing", Text(j, "mount", "backing")},
              {"backend", Text(j, "mount", "backend")}});
  struct Figure {
    const char* metric;
    const char* section;
    const char* field;
    const char* help;
    Type type;
  };
  const Figure figures[] = {
      {"cleancache_hits_total", "cleancache", "hits", "Pages asked of cleancache and found.", Type::kCounter},
      {"cleancache_misses_total", "cleancache", "misses", "Pages asked of cleancache and not found.", Type::kCounter},
      {"cleancache_puts_total", "cleancache", "puts", "Pages offered to cleancache.", Type::kCounter},
      {"cleancache_invalidations_total", "cleancache", "invalidations",
       "Invalidations sent to cleancache (pages, files).", Type::kCounter},
      {"cleancache_evictions_total", "cleancache", "evictions", "Pages cleancache dropped to make room.",
       Type::kCounter},
      {"cleancache_read_requests_total", "reads", "requests", "Read requests programs made through the mount.",
       Type::kCounter},
      {"cleancache_read_bytes_total", "reads", "bytes", "Bytes programs read through the mount.", Type::kCounter},
      {"cleancache_cleancache_read_bytes_total", "reads", "bytes_from_cleancache",
       "Bytes served from cleancache instead of the backing.", Type::kCounter},
      {"cleancache_backing_read_bytes_total", "reads", "bytes_from_backing", "Bytes read from the backing directory.",
       Type::kCounter},
      {"cleancache_write_bytes_total", "writes", "bytes", "Bytes programs wrote through the mount.", Type::kCounter},
      {"cleancache_memory_used_bytes", "cleancache", "memory_used_bytes",
       "Memory cleancache holds now: compressed pages and their index.", Type::kGauge},
      {"cleancache_memory_capacity_bytes", "cleancache", "capacity_bytes",
       "The most memory cleancache may hold now (0: not known).", Type::kGauge},
      {"cleancache_pages_stored", "cleancache", "pages_stored", "Pages cleancache holds now.", Type::kGauge},
      {"cleancache_stored_original_bytes", "cleancache", "original_bytes",
       "Uncompressed size of the pages cleancache holds.", Type::kGauge},
      {"cleancache_primary_resident_bytes", "primary_cache", "resident_bytes",
       "Bytes in the mount's own primary cache (--primary SIZE; 0 in kernel mode).", Type::kGauge},
      {"cleancache_background_puts_pending", "background_puts", "pending", "Pages read whose put is still queued.",
       Type::kGauge},
  };
  for (const Figure& f : figures) {
    out.Family(f.metric, f.help, f.type);
    out.Sample(f.metric, U(j, f.section, f.field));
  }
  if (j.contains("memory")) {
    out.Gauge("cleancache_memory_limit_bytes",
              "Memory limit the governor works within (the cgroup's or the machine's).",
              static_cast<double>(U(j, "memory", "limit_bytes")));
  }
  // Miss-ratio sizing, once the mount has it (docs/STATS.md, "sizing").
  if (auto sizing = j.find("sizing"); sizing != j.end() && sizing->is_object()) {
    const std::pair<const char*, const char*> figures[] = {
        {"memory_for_90pct_bytes", "Memory that would reach 90% of the best hit ratio."},
        {"memory_for_95pct_bytes", "Memory that would reach 95% of the best hit ratio."},
        {"memory_for_99pct_bytes", "Memory that would reach 99% of the best hit ratio."},
        {"best_hit_ratio", "Hit ratio with unlimited memory (0..1)."},
        {"hit_ratio_now", "Hit ratio the curve predicts at the present capacity (0..1)."},
    };
    for (auto [field, help] : figures) {
      auto f = sizing->find(field);
      if (f == sizing->end() || !f->is_number()) continue;
      out.Gauge(std::string("cleancache_sizing_") + field, help, f->get<double>());
    }
  }
  return out.text();
}

}  // namespace cleancache::fuse
