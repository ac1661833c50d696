// `cleancache serve`: runs cleancached, the host-wide transcendent memory, in
// the foreground. Settings come from the defaults, then --config FILE, then
// the flags. Logs to stderr; SIGTERM or SIGINT stops it cleanly (connections
// closed, socket removed). Exit 0 after a clean stop, 2 for bad settings,
// 1 if the daemon cannot start.
#ifdef CLEANCACHE_HAVE_DAEMON
#include <signal.h>

#include <iostream>
#include <optional>
#include <string>

#include "cleancache/backend_spec.h"
#include "cli/commands.h"
#include "daemon/daemon_config.h"
#include "daemon/server.h"

namespace {

constexpr int kExitStartFailed = 1;
constexpr int kExitBadInput = 2;

[[noreturn]] void Fail(int exit_code, const std::string& message) {
  std::cerr << "cleancache serve: " << message << "\n";
  throw CLI::RuntimeError(exit_code);
}

struct ServeArgs {
  std::string config_file;
  std::optional<std::string> socket;
  std::optional<std::string> capacity;
  std::optional<std::string> backend;
  std::optional<std::string> metrics;
};

cleancache::daemon::DaemonConfig BuildConfig(const ServeArgs& args) {
  using cleancache::daemon::ParseDaemonConfig;
  cleancache::daemon::DaemonConfig config;
  if (!args.config_file.empty()) {
    if (auto s = cleancache::daemon::LoadDaemonConfig(args.config_file, &config); !s.ok()) {
      Fail(kExitBadInput, s.message());
    }
  }
  // Flags override the file; they go through the same parser and checks.
  std::string overrides;
  if (args.socket) overrides += "socket = " + *args.socket + "\n";
  if (args.capacity) overrides += "capacity = " + *args.capacity + "\n";
  if (args.backend) overrides += "backend = " + *args.backend + "\n";
  if (args.metrics) overrides += "metrics = " + *args.metrics + "\n";
  if (auto s = ParseDaemonConfig(overrides, "command line", &config); !s.ok()) {
    Fail(kExitBadInput, s.message());
  }
  return config;
}

void Serve(const ServeArgs& args) {
  cleancache::daemon::ServerOptions options;
  options.config = BuildConfig(args);
  // Block the stop signals before any thread starts, so only sigwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  const auto& c = options.config;
  auto server = cleancache::daemon::Server::Start(options);
  if (!server.ok()) Fail(kExitStartFailed, server.status().message());
  std::cerr << "cleancached: serving " << c.socket_path << " (capacity " << cleancache::FormatSize(c.capacity)
            << ", backend " << c.backend << ", tenants by " << cleancache::daemon::TenantByName(c.tenant_by)
            << ", default weight " << c.default_tenant.weight << ")";
  if ((*server)->metrics_port() != 0) std::cerr << ", metrics on port " << (*server)->metrics_port();
  std::cerr << std::endl;
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::cerr << "cleancached: " << (signal_number == SIGINT ? "SIGINT" : "SIGTERM") << ", stopping" << std::endl;
  (*server)->Stop();
}

}  // namespace

void AddServeCommand(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* serve = app.add_subcommand("serve", "Run cleancached, the host-wide shared cache daemon (tmem: backend)");
  serve->add_option("--config", args->config_file, "Config file (see docs/DAEMON.md)");
  serve->add_option("--socket", args->socket, "Unix socket to listen on (default /run/cleancache/tmem.sock)");
  serve->add_option("--capacity", args->capacity, "Total real memory for all tenants, e.g. 1G (default 1G)");
  serve->add_option("--backend", args->backend, "Spec of each tenant's store (default zcache)");
  serve->add_option("--metrics", args->metrics, "Prometheus text on http://127.0.0.1:PORT/metrics (loopback only)");
  serve->callback([args] { Serve(*args); });
}
#endif  // CLEANCACHE_HAVE_DAEMON
