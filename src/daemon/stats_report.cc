#include "daemon/stats_report.h"

#include <fmt/format.h>

#include <tuple>

#include "cleancache/backend_spec.h"
#include "cleancache/sizing_json.h"

namespace cleancache::daemon {
namespace {

uint64_t U(const nlohmann::json& j, const char* key) { return j.contains(key) ? j[key].get<uint64_t>() : 0; }

std::string Ratio(uint64_t hits, uint64_t misses) {
  return hits + misses == 0
             ? "-"
             : fmt::format("{:.1f}%", 100.0 * static_cast<double>(hits) / static_cast<double>(hits + misses));
}

std::string PromLabel(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// The tenants' "sizing" sections (miss-ratio curves) as gauges; tenants
// with no reads yet have no memory figures and are left out of those.
std::string SizingPrometheus(const nlohmann::json& stats) {
  std::string out =
      "# HELP cleancached_tenant_memory_for_hit_ratio_bytes Real memory for this share of the tenant's best hit "
      "ratio, per its miss-ratio curve.\n# TYPE cleancached_tenant_memory_for_hit_ratio_bytes gauge\n";
  const std::pair<const char*, const char*> shares[] = {
      {"0.90", "memory_for_90pct_bytes"}, {"0.95", "memory_for_95pct_bytes"}, {"0.99", "memory_for_99pct_bytes"}};
  for (const auto& t : stats.at("tenants")) {
    if (!t.contains("sizing")) continue;
    for (const auto& [share, field] : shares) {
      const nlohmann::json& sizing = t.at("sizing");
      if (sizing.contains(field) && sizing.at(field).is_number())
        out += fmt::format("cleancached_tenant_memory_for_hit_ratio_bytes{{tenant=\"{}\",share=\"{}\"}} {}\n",
                           PromLabel(t.value("name", std::string())), share, sizing.at(field).get<uint64_t>());
    }
  }
  for (const auto& [metric, field, help] :
       {std::tuple{"cleancached_tenant_best_hit_ratio", "best_hit_ratio",
                   "Hit ratio with unbounded memory, per the tenant's miss-ratio curve."},
        std::tuple{"cleancached_tenant_hit_ratio_now", "hit_ratio_now",
                   "Hit ratio at the tenant's share, per its miss-ratio curve."}}) {
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", metric, help, metric);
    for (const auto& t : stats.at("tenants")) {
      if (t.contains("sizing"))
        out += fmt::format("{}{{tenant=\"{}\"}} {}\n", metric, PromLabel(t.value("name", std::string())),
                           t.at("sizing").value(field, 0.0));
    }
  }
  return out;
}

}  // namespace

nlohmann::json StatsToJson(const DaemonFigures& d, const std::vector<TenantView>& tenants) {
  nlohmann::json out;
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
  return out;
}

std::string PrometheusText(const nlohmann::json& stats) {
  const nlohmann::json& d = stats.at("daemon");
  std::string out;
  auto gauge = [&out](const char* name, const char* help, const char* type) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  gauge("cleancached_capacity_bytes", "Configured capacity of real memory.", "gauge");
  out += fmt::format("cleancached_capacity_bytes {}\n", U(d, "capacity_bytes"));
  gauge("cleancached_connections", "Client connections open now.", "gauge");
  out += fmt::format("cleancached_connections {}\n", U(d, "connections"));
  gauge("cleancached_protocol_errors_total", "Connections closed for breaking the protocol.", "counter");
  out += fmt::format("cleancached_protocol_errors_total {}\n", U(d, "protocol_errors"));
  gauge("cleancached_dropped_puts_total", "Pages put and not stored, all tenants and puts naming no open pool.",
        "counter");
  out += fmt::format("cleancached_dropped_puts_total {}\n", U(d, "dropped_puts"));
  struct Series {
    const char* metric;
    const char* field;
    const char* help;
    const char* type;
  };
  const Series series[] = {
      {"cleancached_tenant_real_memory_bytes", "real_memory_bytes", "Real memory held by the tenant's pages.", "gauge"},
      {"cleancached_tenant_share_bytes", "share_bytes", "Tenant's enforced share: its weighted share, at most its cap.",
       "gauge"},
      {"cleancached_tenant_cap_bytes", "cap_bytes", "Tenant's configured cap (0 = none).", "gauge"},
      {"cleancached_tenant_weight", "weight", "Tenant's configured weight.", "gauge"},
      {"cleancached_tenant_pages", "pages", "Pages stored for the tenant.", "gauge"},
      {"cleancached_tenant_hits_total", "hits", "Gets that found the page.", "counter"},
      {"cleancached_tenant_misses_total", "misses", "Gets that missed.", "counter"},
      {"cleancached_tenant_puts_total", "puts", "Pages put.", "counter"},
      {"cleancached_tenant_evictions_total", "evictions", "Pages evicted from the tenant's store.", "counter"},
      {"cleancached_tenant_dropped_puts_total", "dropped_puts", "Pages put and not stored (no room, poor compression).",
       "counter"},
  };
  for (const Series& s : series) {
    gauge(s.metric, s.help, s.type);
    for (const auto& t : stats.at("tenants")) {
      out +=
          fmt::format("{}{{tenant=\"{}\"}} {}\n", s.metric, PromLabel(t.value("name", std::string())), U(t, s.field));
    }
  }
  out += SizingPrometheus(stats);
  return out;
}

}  // namespace cleancache::daemon
