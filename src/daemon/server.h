// Server: cleancached, the host-wide transcendent memory shared by many
// processes. Listens on a Unix socket, identifies each client by the kernel
// (SO_PEERCRED), keeps one Session per connection on its own thread, and
// shares the configured capacity among tenants through the Governor.
//
// Robustness: a client that breaks the protocol is disconnected with a logged
// reason; everyone else is unaffected. A client that dies loses its private
// pools (their pages are freed). Connections beyond max_clients are refused.
// Lifetime: Start() returns a running server; Stop() (or the destructor)
// closes every connection, joins every thread and removes the socket file.
// Reload() applies a new config file's reloadable settings (MergeReload) to
// the running daemon, or keeps the old config if the new one is invalid.
// Thread safety: Stats(), Reload() and Stop() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <spdlog/logger.h>
#include <nlohmann/json.hpp>

#include "cleancache/metrics_http.h"
#include "cleancache/status.h"
#include "daemon/daemon_config.h"
#include "daemon/governor.h"
#include "daemon/session.h"
#include "daemon/shared_pool_registry.h"

namespace cleancache::daemon {

struct ServerOptions {
  DaemonConfig config;
  StoreFactory store_factory;  // empty: StoreFactoryForSpec(config.backend)
  // Where the server logs (each line with its level); null: StderrLogger.
  std::shared_ptr<spdlog::logger> logger;
  // Safety net only: puts resample and rebalance as they go (Governor::AfterPut).
  std::chrono::milliseconds rebalance_interval{1000};
  // After a reply, how long a connection's thread polls for the client's next
  // request before sleeping, while the client sends its requests that soon
  // (e.g. readahead batches in a row); 0 = never. See Server::Serve.
  std::chrono::microseconds request_poll{50};
};

// "[level] NAME: text" lines on stderr, registered nowhere.
std::shared_ptr<spdlog::logger> StderrLogger(const std::string& name);

class Server {
 public:
  static Result<std::unique_ptr<Server>> Start(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void Stop();
  // Logs what changed (and what needs a restart); an invalid config is
  // logged, returned and not applied.
  Status Reload(const DaemonConfig& file);
  const std::string& socket_path() const { return options_.config.socket_path; }
  uint16_t metrics_port() const { return metrics_ ? metrics_->port() : 0; }
  uint64_t epoch() const { return epoch_; }
  nlohmann::json Stats();

 private:
  struct Connection {
    int fd = -1;  // guarded by connections_mutex_; -1 once the thread closed it
    std::atomic<bool> done{false};
    std::thread thread;
  };

  explicit Server(ServerOptions options);
  Status Listen();
  void AcceptLoop();
  void RebalanceLoop();
  void Serve(Connection* connection, int fd, uint64_t session_id);
  void ReapFinished(bool all);
  void Log(spdlog::level::level_enum level, const std::string& line);

  ServerOptions options_;  // options_.config: as started (the fixed settings)
  std::unique_ptr<LiveConfig> live_config_;
  std::mutex reload_mutex_;
  uint64_t epoch_ = 0;
  std::unique_ptr<Governor> governor_;
  std::unique_ptr<SharedPoolRegistry> shared_pools_;
  std::atomic<uint64_t> next_pool_id_{1};
  std::atomic<uint64_t> next_session_id_{1};
  std::unique_ptr<DaemonContext> context_;
  std::unique_ptr<MetricsHttpServer> metrics_;

  int listen_fd_ = -1;
  bool bound_ = false;
  int stop_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::once_flag stop_once_;
  std::thread accept_thread_;
  std::thread rebalance_thread_;
  std::mutex rebalance_mutex_;
  std::condition_variable rebalance_wake_;

  std::mutex connections_mutex_;
  std::list<Connection> connections_;
  std::atomic<uint64_t> open_connections_{0};
  std::atomic<uint64_t> total_connections_{0};
  std::atomic<uint64_t> protocol_errors_{0};
  std::atomic<uint64_t> refused_connections_{0};
  std::atomic<uint64_t> refused_puts_{0};
};

}  // namespace cleancache::daemon
