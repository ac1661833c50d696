#include "daemon/stats_report.h"

#include <fmt/format.h>


#include "cleancache/backend_spec.h"
#include "cleancache/prometheus_text.h"
#include "cleancache/sizing_json.h"

namespace cleancache::daemon {
namespace {

uint64_t U(const nlohmann::json& j, const char* key) { return j.contains(key) ? j[key].get<uint64_t>() : 0; }

std::string Ratio(uint64_t hits, uint64_t misses) {
  return hits + misses == 0
             ? "-"
             : fmt::format("{:.1f}%", 100.0 * static_cast<double>(hits) / static_cast<double>(hits + misses));
}

// tenant["sizing"][field] when it is a number (the section is there once the
// tenant's miss-ratio curve has enough samples).
const nlohmann::json* SizingField(const nlohmann::json& tenant, const char* field) {
  auto sizing = tenant.find("sizing");
  if (sizing == tenant.end() || !sizing->is_object()) return nullptr;
  auto f = sizing->find(field);
  return f != sizing->end() && f->is_number() ? &*f : nullptr;
}

}  // namespace

nlohmann::json StatsToJson(const DaemonFigures& d, const std::vector<TenantView>& tenants) {
  nlohmann::json out;
  out["schema_version"] = 1;  // docs/STATS.md, "cleancached"
  uint64_t real = 0, pages = 0, hits = 0, misses = 0, puts = 0, evictions = 0, dropped = d.refused_puts;
  auto& list = out["tenants"] = nlohmann::json::array();
  for (const TenantView& t : tenants) {
    real += t.store.real_memory_bytes;
    pages += t.store.pages_stored;
    hits += t.hits;
    misses += t.misses;
    puts += t.puts;
    evictions += t.store.evictions;
    // Every put the store did not keep and did not evict later: refused for
    // room or a closed pool (dropped_puts) or for compressing poorly
    // (rejected_puts, with incompressible=reject).
    const uint64_t tenant_dropped = t.store.dropped_puts + t.store.rejected_incompressible;
    dropped += tenant_dropped;
    list.push_back({{"name", t.name},
                    {"weight", t.weight},
                    {"cap_bytes", t.cap},
                    {"share_bytes", t.share_bytes},
                    {"real_memory_bytes", t.store.real_memory_bytes},
                    {"pages", t.store.pages_stored},
                    {"original_bytes", t.store.original_bytes},
                    {"compressed_bytes", t.store.compressed_bytes},
                    {"hits", t.hits},
                    {"misses", t.misses},
                    {"puts", t.puts},
                    {"invalidations", t.invalidations},
                    {"evictions", t.store.evictions},
                    {"dropped_puts", tenant_dropped},
                    {"rejected_puts", t.store.rejected_incompressible},
                    {"governor_evicted_bytes", t.governor_evicted_bytes},
                    {"memory_for_90pct_bytes", SizingJson(t.sizing)["memory_for_90pct_bytes"]},
                    {"sizing", SizingJson(t.sizing)},
                    {"connections", t.connections}});
  }
  out["daemon"] = {{"epoch", d.epoch},
                   {"backend", d.backend},
                   {"tenant_by", d.tenant_by},
                   {"capacity_bytes", d.capacity_bytes},
                   {"real_memory_bytes", real},
                   {"pages", pages},
                   {"hits", hits},
                   {"misses", misses},
                   {"puts", puts},
                   {"evictions", evictions},
                   {"dropped_puts", dropped},
                   {"refused_puts", d.refused_puts},
                   {"connections", d.connections},
                   {"connections_total", d.connections_total},
                   {"protocol_errors", d.protocol_errors},
                   {"refused_connections", d.refused_connections},
                   {"tenants", tenants.size()}};
  return out;
}

std::string StatsTable(const nlohmann::json& stats) {
  const nlohmann::json& d = stats.at("daemon");
  std::string out = fmt::format(
      "cleancached: {} of {} used, {} pages, hit ratio {} ({} hits, {} misses), {} puts dropped, {} connections, "
      "{} tenants by {}\n",
      FormatSize(U(d, "real_memory_bytes")), FormatSize(U(d, "capacity_bytes")), U(d, "pages"),
      Ratio(U(d, "hits"), U(d, "misses")), U(d, "hits"), U(d, "misses"), U(d, "dropped_puts"), U(d, "connections"),
      U(d, "tenants"), d.value("tenant_by", std::string("?")));
  out += fmt::format("{:<28} {:>6} {:>11} {:>11} {:>10} {:>10} {:>10} {:>7} {:>10} {:>10} {:>11}\n", "TENANT", "WEIGHT",
                     "SHARE", "MEMORY", "PAGES", "HITS", "MISSES", "HIT%", "EVICTED", "DROPPED", "NEED@90%");
  for (const auto& t : stats.at("tenants")) {
    const bool known = t.contains("memory_for_90pct_bytes") && t["memory_for_90pct_bytes"].is_number();
    out += fmt::format("{:<28} {:>6} {:>11} {:>11} {:>10} {:>10} {:>10} {:>7} {:>10} {:>10} {:>11}\n",
                       t.value("name", std::string("?")), U(t, "weight"), FormatSize(U(t, "share_bytes")),
                       FormatSize(U(t, "real_memory_bytes")), U(t, "pages"), U(t, "hits"), U(t, "misses"),
                       Ratio(U(t, "hits"), U(t, "misses")), U(t, "evictions"), U(t, "dropped_puts"),
                       known ? FormatSize(t["memory_for_90pct_bytes"].get<uint64_t>()) : std::string("-"));
  }
  // Miss-ratio sizing of the tenants that have it (docs/STATS.md, "sizing").
  bool sizing_header = false;
  for (const auto& t : stats.at("tenants")) {
    const nlohmann::json* p90 = SizingField(t, "memory_for_90pct_bytes");
    const nlohmann::json* p95 = SizingField(t, "memory_for_95pct_bytes");
    const nlohmann::json* p99 = SizingField(t, "memory_for_99pct_bytes");
    const nlohmann::json* best = SizingField(t, "best_hit_ratio");
    const nlohmann::json* now = SizingField(t, "hit_ratio_now");
    if (p90 == nullptr && p95 == nullptr && p99 == nullptr && best == nullptr && now == nullptr) continue;
    if (!sizing_header) {
      out += fmt::format("\nsizing (miss-ratio curve)\n{:<28} {:>11} {:>11} {:>11} {:>9} {:>9}\n", "TENANT", "FOR 90%",
                         "FOR 95%", "FOR 99%", "BEST HIT", "HIT NOW");
      sizing_header = true;
    }
    auto size = [](const nlohmann::json* f) { return f ? FormatSize(f->get<uint64_t>()) : std::string("-"); };
    auto ratio = [](const nlohmann::json* f) {
      return f ? fmt::format("{:.1f}%", 100.0 * f->get<double>()) : std::string("-");
    };
    out += fmt::format("{:<28} {:>11} {:>11} {:>11} {:>9} {:>9}\n", t.value("name", std::string("?")), size(p90),
                       size(p95), size(p99), ratio(best), ratio(now));
  }
  return out;
}

std::string MetricsText(const nlohmann::json& stats) {
  using Type = cleancache::PrometheusText::Type;
  const nlohmann::json& d = stats.at("daemon");
  cleancache::PrometheusText out;
  out.BuildInfo("cleancached");
  out.Gauge("cleancached_capacity_bytes", "Configured capacity of real memory.",
            static_cast<double>(U(d, "capacity_bytes")));
  out.Gauge("cleancached_real_memory_bytes", "Real memory held by all tenants' pages.",
            static_cast<double>(U(d, "real_memory_bytes")));
  out.Gauge("cleancached_pages", "Pages stored, all tenants.", static_cast<double>(U(d, "pages")));
  out.Gauge("cleancached_tenants", "Tenants known now.", static_cast<double>(U(d, "tenants")));
  out.Gauge("cleancached_connections", "Client connections open now.", static_cast<double>(U(d, "connections")));
  out.Counter("cleancached_hits_total", "Gets that found the page, all tenants.", U(d, "hits"));
  out.Counter("cleancached_misses_total", "Gets that missed, all tenants.", U(d, "misses"));
  out.Counter("cleancached_puts_total", "Pages put, all tenants.", U(d, "puts"));
  out.Counter("cleancached_evictions_total", "Pages evicted to make room, all tenants.", U(d, "evictions"));
  out.Counter("cleancached_connections_total", "Client connections accepted since the start.",
              U(d, "connections_total"));
  out.Counter("cleancached_refused_connections_total", "Connections refused (limits, permissions).",
              U(d, "refused_connections"));
  out.Counter("cleancached_protocol_errors_total", "Connections closed for breaking the protocol.",
              U(d, "protocol_errors"));
  out.Counter("cleancached_dropped_puts_total", "Pages put and not stored, all tenants and puts naming no open pool.",
              U(d, "dropped_puts"));
  struct Series {
    const char* metric;
    const char* field;
    const char* help;
    Type type;
  };
  const Series series[] = {
      {"cleancached_tenant_real_memory_bytes", "real_memory_bytes", "Real memory held by the tenant's pages.",
       Type::kGauge},
      {"cleancached_tenant_share_bytes", "share_bytes", "Tenant's enforced share: its weighted share, at most its cap.",
       Type::kGauge},
      {"cleancached_tenant_cap_bytes", "cap_bytes", "Tenant's configured cap (0 = none).", Type::kGauge},
      {"cleancached_tenant_weight", "weight", "Tenant's configured weight.", Type::kGauge},
      {"cleancached_tenant_pages", "pages", "Pages stored for the tenant.", Type::kGauge},
      {"cleancached_tenant_hits_total", "hits", "Gets that found the page.", Type::kCounter},
      {"cleancached_tenant_misses_total", "misses", "Gets that missed.", Type::kCounter},
      {"cleancached_tenant_puts_total", "puts", "Pages put.", Type::kCounter},
      {"cleancached_tenant_evictions_total", "evictions", "Pages evicted from the tenant's store.", Type::kCounter},
      {"cleancached_tenant_dropped_puts_total", "dropped_puts", "Pages put and not stored (no room, poor compression).",
       Type::kCounter},
  };
  const nlohmann::json& tenants = stats.at("tenants");
  for (const Series& s : series) {
    out.Family(s.metric, s.help, s.type);
    for (const auto& t : tenants) out.Sample(s.metric, U(t, s.field), {{"tenant", t.value("name", std::string())}});
  }
  // Miss-ratio sizing, where the daemon has it for a tenant (docs/STATS.md,
  // "sizing"): a gauge per figure, with only the tenants that have it.
  const std::pair<const char*, const char*> sizing[] = {
      {"memory_for_90pct_bytes", "Memory the tenant would need for 90% of its best hit ratio."},
      {"memory_for_95pct_bytes", "Memory the tenant would need for 95% of its best hit ratio."},
      {"memory_for_99pct_bytes", "Memory the tenant would need for 99% of its best hit ratio."},
      {"best_hit_ratio", "Hit ratio the tenant would reach with unlimited memory (0..1)."},
      {"hit_ratio_now", "Hit ratio the tenant's curve predicts at its present memory (0..1)."},
  };
  for (auto [field, help] : sizing) {
    bool any = false;
    for (const auto& t : tenants) {
      const nlohmann::json* f = SizingField(t, field);
      if (f == nullptr) continue;
      const std::string metric = fmt::format("cleancached_tenant_sizing_{}", field);
      if (!any) out.Family(metric, help, Type::kGauge);
      any = true;
      out.Sample(metric, f->get<double>(), {{"tenant", t.value("name", std::string())}});
    }
  }
  return out.text();
}

}  // namespace cleancache::daemon
