// Daemon statistics in the three shapes people read them: JSON (the Stats
// reply and `cleancache stats --socket --json`), a text table (the same
// command without --json) and Prometheus text exposition (the metrics port).
// Pure functions of their input; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/governor.h"

namespace cleancache::daemon {

struct DaemonFigures {
  uint64_t epoch = 0;
  uint64_t capacity_bytes = 0;
  uint64_t connections = 0;
  uint64_t connections_total = 0;
  uint64_t protocol_errors = 0;
  uint64_t refused_connections = 0;
  uint64_t refused_puts = 0;  // puts naming no open pool: no tenant to count them
  std::string tenant_by;
  std::string backend;
};

nlohmann::json StatsToJson(const DaemonFigures& daemon, const std::vector<TenantView>& tenants);
// Both take the JSON above (so the CLI can format what a daemon sent).
std::string StatsTable(const nlohmann::json& stats);
std::string MetricsText(const nlohmann::json& stats);

}  // namespace cleancache::daemon
