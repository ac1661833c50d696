#include "daemon/stats_client.h"

#include <nlohmann/json.hpp>

#include "daemon/stats_report.h"
#include "tmem/daemon_connection.h"

namespace cleancache::daemon {

Result<std::string> RenderDaemonStats(const std::string& socket_path, bool json, uint32_t timeout_ms) {
  auto text = FetchDaemonStats(socket_path, timeout_ms);
  if (!text.ok()) return text.status();
  auto stats = nlohmann::json::parse(*text, nullptr, false);
  if (stats.is_discarded() || !stats.is_object() || !stats.contains("daemon") || !stats.contains("tenants")) {
    return Status::Corruption("malformed statistics from cleancached at " + socket_path);
  }
  try {
    return json ? stats.dump(2) + "\n" : StatsTable(stats);
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption("malformed statistics from cleancached at " + socket_path + ": " + e.what());
  }
}

}  // namespace cleancache::daemon
