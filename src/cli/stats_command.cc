// `cleancache stats MOUNTPOINT [--json]`: the counters of a running mount
// (see src/fuse/stats_socket.h for how they are fetched). The snapshot is a
// JSON object; FormatStatsTable renders any such object (sections of
// counters) for people, so other sources of counters can reuse it.
#include <cstdint>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "cleancache/backend_spec.h"
#include "cli/commands.h"
#ifdef CLEANCACHE_HAVE_FUSE
#include "fuse/stats_socket.h"
#endif
#ifdef CLEANCACHE_HAVE_DAEMON
#include "daemon/stats_client.h"
#endif

namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string FormatValue(const std::string& key, const nlohmann::json& value) {
  if (value.is_number_unsigned() && EndsWith(key, "bytes")) {
    uint64_t bytes = value.get<uint64_t>();
    return std::to_string(bytes) + " (" + cleancache::FormatSize(bytes) + ")";
  }
  if (value.is_number_float()) {
    std::ostringstream out;
    out << std::fixed << std::setprecision(2) << value.get<double>();
    return out.str();
  }
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

// Derived figures people look for first.
void AddSummary(const nlohmann::json& stats, std::ostringstream& out) {
  if (!stats.contains("reads")) return;
  const auto& reads = stats["reads"];
  uint64_t from_cc = reads.value("bytes_from_cleancache", uint64_t{0});
  uint64_t from_backing = reads.value("bytes_from_backing", uint64_t{0});
  if (from_cc + from_backing > 0) {
    out << std::left << std::setw(40) << "summary.cleancache_share_of_misses" << std::fixed << std::setprecision(1)
        << 100.0 * static_cast<double>(from_cc) / static_cast<double>(from_cc + from_backing) << " %\n";
  }
}

}  // namespace

std::string FormatStatsTable(const nlohmann::json& stats) {
  std::ostringstream out;
  for (const auto& [section, value] : stats.items()) {
    if (value.is_object()) {
      for (const auto& [key, field] : value.items()) {
        out << std::left << std::setw(40) << (section + "." + key) << FormatValue(key, field) << "\n";
      }
    } else {
      out << std::left << std::setw(40) << section << FormatValue(section, value) << "\n";
    }
  }
  AddSummary(stats, out);
  return out.str();
}

void AddStatsCommand(CLI::App& app) {
  struct Args {
    std::string mountpoint;
    std::string daemon_socket;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* stats = app.add_subcommand("stats", "Print the counters of a cleancache mount");
  stats->add_option("mountpoint", args->mountpoint, "Mountpoint of a running `cleancache mount`");
#ifdef CLEANCACHE_HAVE_DAEMON
  stats->add_option("--socket", args->daemon_socket, "Instead: a cleancached daemon's global and per-tenant counters");
#endif
  stats->add_flag("--json", args->json, "Machine-readable JSON instead of a table");
  stats->callback([args] {
#ifdef CLEANCACHE_HAVE_DAEMON
    if (!args->daemon_socket.empty()) {
      auto text = cleancache::daemon::RenderDaemonStats(args->daemon_socket, args->json);
      if (!text.ok()) {
        FailCommand("stats", kExitFailure, text.status().message());
      }
      std::cout << *text;
      return;
    }
#endif
    if (args->mountpoint.empty())
      FailCommand("stats", kExitBadInput, "give a MOUNTPOINT (or --socket PATH for the daemon)");
#ifdef CLEANCACHE_HAVE_FUSE
    auto text = cleancache::fuse::FetchMountStats(args->mountpoint);
    if (!text.ok()) {
      FailCommand("stats", kExitFailure, text.status().message());
    }
    auto snapshot = nlohmann::json::parse(*text, nullptr, false);
    if (snapshot.is_discarded()) {
      FailCommand("stats", kExitFailure, "malformed answer from the mount at '" + args->mountpoint + "'");
    }
#else
    FailCommand("stats", kExitFailure, "built without the fuse component");
    nlohmann::json snapshot;
#endif
    if (args->json) {
      std::cout << snapshot.dump(2) << "\n";
    } else {
      std::cout << FormatStatsTable(snapshot);
    }
  });
}
