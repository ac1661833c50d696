// `cleancache stats MOUNTPOINT` (or `--socket PATH` for a daemon): the
// figures of a running mount or cleancached. Without options a view for
// people (src/cli/stats_view.h); --json the snapshot as the mount or daemon
// sent it, whose schema docs/STATS.md documents; --watch [SECONDS] a line of
// per-second rates every SECONDS (default 1) until Ctrl-C (exit 0) or until
// the mount or daemon goes away (a message, exit 1).
#include <signal.h>
#include <time.h>

#include <cerrno>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "cli/stats_view.h"
#ifdef CLEANCACHE_HAVE_FUSE
#include "fuse/stats_socket.h"
#endif
#ifdef CLEANCACHE_HAVE_DAEMON
#include "daemon/stats_report.h"
#include "tmem/daemon_connection.h"
#endif

namespace {

struct StatsArgs {
  std::string mountpoint;
  std::string daemon_socket;
  bool json = false;
  std::optional<double> watch;  // seconds between lines
};

// One snapshot, or the Status of why there is none.
cleancache::Result<nlohmann::json> Fetch(const StatsArgs& args) {
  std::string text;
  std::string source;
#ifdef CLEANCACHE_HAVE_DAEMON
  if (!args.daemon_socket.empty()) {
    auto fetched = cleancache::daemon::FetchDaemonStats(args.daemon_socket, 5000);
    if (!fetched.ok()) return fetched.status();
    text = std::move(*fetched);
    source = "cleancached at " + args.daemon_socket;
  }
#endif
#ifdef CLEANCACHE_HAVE_FUSE
  if (args.daemon_socket.empty()) {
    auto fetched = cleancache::fuse::FetchMountStats(args.mountpoint);
    if (!fetched.ok()) return fetched.status();
    text = std::move(*fetched);
    source = "the mount at '" + args.mountpoint + "'";
  }
#endif
  if (source.empty()) return cleancache::Status::NotSupported("built without the fuse component");
  auto snapshot = nlohmann::json::parse(text, nullptr, false);
  if (snapshot.is_discarded() || !snapshot.is_object()) {
    return cleancache::Status::Corruption("malformed answer from " + source);
  }
  return snapshot;
}

// Sleeps `seconds`; false when SIGINT or SIGTERM came first (they are
// blocked and taken here, so Ctrl-C ends the loop between two lines).
bool Sleep(const sigset_t& stop_signals, double seconds) {
  timespec wait{static_cast<time_t>(seconds), static_cast<long>(std::fmod(seconds, 1.0) * 1e9)};
  for (;;) {
    const int signal = sigtimedwait(&stop_signals, nullptr, &wait);
    if (signal > 0) return false;
    if (errno == EAGAIN) return true;
    // EINTR (another signal): wait again; a slightly longer interval is
    // harmless, the rates divide by the measured time.
  }
}

double Now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void Watch(const StatsArgs& args, nlohmann::json first) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  const std::string what =
      args.daemon_socket.empty() ? "the mount at '" + args.mountpoint + "'" : "cleancached at " + args.daemon_socket;
  nlohmann::json before = std::move(first);
  double before_at = Now();
  constexpr int kHeaderEvery = 20;  // lines, as vmstat repeats its header
  for (int line = 0;; ++line) {
    if (line % kHeaderEvery == 0) std::cout << WatchHeader(before) << std::flush;
    if (!Sleep(stop_signals, *args.watch)) return;
    auto after = Fetch(args);
    if (!after.ok()) {
      std::cout << std::flush;
      FailCommand("stats", kExitFailure,
                  what + " went away (unmounted, stopped or killed): " + after.status().message());
    }
    const double at = Now();
    std::cout << WatchLine(before, *after, at - before_at) << std::flush;
    before = std::move(*after);
    before_at = at;
  }
}

// The daemon's table (src/daemon) or the mount's view.
std::string RenderStats(const StatsArgs& args, const nlohmann::json& snapshot) {
#ifdef CLEANCACHE_HAVE_DAEMON
  if (!args.daemon_socket.empty()) {
    try {
      return cleancache::daemon::StatsTable(snapshot);
    } catch (const nlohmann::json::exception& e) {
      FailCommand("stats", kExitFailure, "malformed statistics from cleancached: " + std::string(e.what()));
    }
  }
#endif
  return RenderMountStats(snapshot);
}

}  // namespace

void AddStatsCommand(CLI::App& app) {
  auto args = std::make_shared<StatsArgs>();
  CLI::App* stats = app.add_subcommand("stats", "Show the figures of a cleancache mount (or daemon)");
  stats->add_option("mountpoint", args->mountpoint, "Mountpoint of a running `cleancache mount`");
#ifdef CLEANCACHE_HAVE_DAEMON
  stats->add_option("--socket", args->daemon_socket, "Instead: a cleancached daemon's global and per-tenant figures");
#endif
  stats->add_flag("--json", args->json, "The snapshot as JSON (schema: docs/STATS.md)");
  stats
      ->add_option("--watch", args->watch,
                   "Print per-second rates every SECONDS (default 1) until Ctrl-C or until the mount goes away")
      ->expected(0, 1)
      ->default_str("1")
      ->check(CLI::Range(0.1, 3600.0));
  stats->callback([args] {
    if (args->mountpoint.empty() && args->daemon_socket.empty())
      FailCommand("stats", kExitBadInput, "give a MOUNTPOINT (or --socket PATH for the daemon)");
    if (args->json && args->watch) FailCommand("stats", kExitBadInput, "--json and --watch do not go together");
    auto snapshot = Fetch(*args);
    if (!snapshot.ok()) FailCommand("stats", kExitFailure, snapshot.status().message());
    if (args->watch) {
      Watch(*args, std::move(*snapshot));
    } else if (args->json) {
      std::cout << snapshot->dump(2) << "\n";
    } else {
      std::cout << RenderStats(*args, *snapshot);
    }
  });
}
