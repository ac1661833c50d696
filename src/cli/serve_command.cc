// `cleancache serve`: runs cleancached, the host-wide transcendent memory, in
// the foreground. Settings come from the defaults, then --config FILE, then
// the flags. Logs with a level to --log (auto: the journal under systemd,
// else stderr; cli/log_setup.h), at --log-level or the file's log_level. Signals are read from a signalfd in the main
// thread (no work in a signal handler): SIGTERM or SIGINT stops it cleanly
// (connections closed, socket removed); SIGHUP rereads the config file (and
// the flags over it) and applies what can change while running (Server::
// Reload logs each change; an invalid file is logged and the old config
// kept). It tells systemd (sd_notify; nothing happens without NOTIFY_SOCKET)
// READY=1 once the socket listens, RELOADING=1 with MONOTONIC_USEC before a
// reload and READY=1 after it, STOPPING=1 when it stops, so a
// Type=notify unit orders its dependents after a daemon that accepts
// connections and `systemctl reload` waits for the reload. Exit 0 after a clean stop, 2 for bad settings, 1 if the
// daemon cannot start (commands.h).
#ifdef CLEANCACHE_HAVE_DAEMON
#include <signal.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

#include "cleancache/backend_spec.h"
#include "cli/commands.h"
#include "cli/log_setup.h"
#include "daemon/daemon_config.h"
#include "daemon/server.h"

namespace {

using cleancache::Result;
using cleancache::Status;
using cleancache::daemon::DaemonConfig;

[[noreturn]] void Fail(int exit_code, const std::string& message) { FailCommand("serve", exit_code, message); }

struct ServeArgs {
  std::string config_file;
  std::optional<std::string> socket;
  std::optional<std::string> capacity;
  std::optional<std::string> backend;
  std::optional<std::string> metrics;
  std::optional<std::string> log_level;
  std::string log = "auto";
};

// The defaults, the config file, then the flags; every check included.
Result<DaemonConfig> BuildConfig(const ServeArgs& args) {
  DaemonConfig config;
  if (!args.config_file.empty()) {
    if (Status s = cleancache::daemon::LoadDaemonConfig(args.config_file, &config); !s.ok()) return s;
  }
  // Flags override the file; they go through the same parser and checks.
  std::string overrides;
  if (args.socket) overrides += "socket = " + *args.socket + "\n";
  if (args.capacity) overrides += "capacity = " + *args.capacity + "\n";
  if (args.backend) overrides += "backend = " + *args.backend + "\n";
  if (args.metrics) overrides += "metrics = " + *args.metrics + "\n";
  if (args.log_level) overrides += "log_level = " + *args.log_level + "\n";
  if (Status s = cleancache::daemon::ParseDaemonConfig(overrides, "command line", &config); !s.ok()) return s;
  if (Status s = cleancache::daemon::CheckDaemonConfig(config); !s.ok()) return s;
  return config;
}

// The daemon's log at the config's level (valid: CheckDaemonConfig passed).
void SetLevel(spdlog::logger& log, const std::string& level) {
  cleancache::cli::LogSettings settings;
  if (cleancache::cli::ParseLogLevel(level, &settings).ok()) log.set_level(settings.level);
}

// sd_notify's MONOTONIC_USEC: when the reload began, on CLOCK_MONOTONIC.
uint64_t MonotonicMicros() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

void Serve(const ServeArgs& args) {
  // Blocked before any thread starts (all inherit the mask), so these
  // signals only ever arrive through the signalfd, even during start-up.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  const int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC);
  if (signal_fd < 0) Fail(kExitFailure, std::string("signalfd: ") + std::strerror(errno));
  cleancache::cli::LogSettings log_settings;
  if (Status s = cleancache::cli::ParseLogTarget(args.log, &log_settings); !s.ok()) {
    Fail(kExitBadInput, "--log: " + s.message());
  }
  auto config = BuildConfig(args);
  if (!config.ok()) Fail(kExitBadInput, config.status().message());
  // The daemon runs in the foreground (systemd's Type=simple or notify).
  auto sink = cleancache::cli::MakeLogSink(cleancache::cli::ResolveLogTarget(log_settings.target, false, ::getenv),
                                           log_settings, "cleancached");
  if (!sink.ok()) Fail(kExitFailure, "--log: " + sink.status().message());
  auto log = cleancache::cli::MakeLogger("cleancached", *sink, log_settings);
  SetLevel(*log, config->log_level);
  auto Log = [&log](spdlog::level::level_enum level, const std::string& line) { log->log(level, line); };
  cleancache::daemon::ServerOptions options;
  options.config = *config;
  options.logger = log;
  const auto& c = options.config;
  auto server = cleancache::daemon::Server::Start(options);
  if (!server.ok()) Fail(kExitFailure, server.status().message());
  std::string serving = "serving " + c.socket_path + " (capacity " + cleancache::FormatSize(c.capacity) + ", backend " +
                        c.backend + ", tenants by " + cleancache::daemon::TenantByName(c.tenant_by) +
                        ", default weight " + std::to_string(c.default_tenant.weight) + ")";
  if ((*server)->metrics_port() != 0) serving += ", metrics on port " + std::to_string((*server)->metrics_port());
  Log(spdlog::level::info, serving);
  sd_notify(0, "READY=1");  // Start returned: the socket listens
  for (;;) {
    signalfd_siginfo info{};
    const ssize_t n = read(signal_fd, &info, sizeof(info));
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof(info))) {
      Log(spdlog::level::err, std::string("reading signals failed (") + std::strerror(errno) + "), stopping");
      break;
    }
    if (info.ssi_signo != SIGHUP) {
      Log(spdlog::level::info, std::string(info.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM") + ", stopping");
      break;
    }
    Log(spdlog::level::info,
        "SIGHUP: reloading " +
            (args.config_file.empty() ? std::string("(no config file: the flags only)") : args.config_file));
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", static_cast<unsigned long long>(MonotonicMicros()));
    auto fresh = BuildConfig(args);
    if (!fresh.ok()) {
      Log(spdlog::level::warn, "reload: new config is invalid, keeping the old one: " + fresh.status().message());
    } else if ((*server)->Reload(*fresh).ok()) {  // Reload logs what it did
      SetLevel(*log, fresh->log_level);
    }
    sd_notify(0, "READY=1");  // running again, with the new config or the old one
  }
  sd_notify(0, "STOPPING=1");
  (*server)->Stop();
  close(signal_fd);
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
  serve
      ->add_option("--log", args->log,
                   "Where to log: stderr, syslog, journal, file:PATH, or auto (the journal under "
                   "systemd, else stderr)")
      ->capture_default_str();
  serve->add_option("--log-level", args->log_level,
                    "Least severe level logged: error, warn, info or debug (default: the config's log_level, info)");
  serve->callback([args] { Serve(*args); });
}
#endif  // CLEANCACHE_HAVE_DAEMON
