// DaemonHarness: starts a cleancached Server for one test in a fresh temporary
// directory (socket inside it), captures its log, and can restart it on the
// same socket. Everything is removed by the destructor, even on failure.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "daemon/server.h"

namespace cleancache::testing {

class DaemonHarness {
 public:
  // `config.socket_path` is replaced by one in the temporary directory.
  // With `start` false, the socket path is known but the daemon waits for
  // Start(), so a test can fork clients first and name them in config().
  // `request_poll`: ServerOptions::request_poll (zero: connection threads
  // always sleep for the next request).
  explicit DaemonHarness(daemon::DaemonConfig config = DefaultConfig(), daemon::StoreFactory factory = {},
                         bool start = true,
                         std::chrono::microseconds request_poll = daemon::ServerOptions{}.request_poll);
  ~DaemonHarness();

  static daemon::DaemonConfig DefaultConfig();  // 64 MiB zcache, tenants by process
  daemon::Server& server() { return *server_; }
  const std::string& socket() const { return socket_; }
  // "tmem:SOCKET?timeout_ms=5000&reconnect_ms=0" plus `extra` options.
  std::string Spec(const std::string& extra = "") const;
  daemon::DaemonConfig& config() { return config_; }
  void Stop();
  void Start();
  bool LogContains(const std::string& text);
  std::string Log();

 private:
  std::string dir_;
  std::string socket_;
  daemon::DaemonConfig config_;
  daemon::StoreFactory factory_;
  std::chrono::microseconds request_poll_;
  std::unique_ptr<daemon::Server> server_;
  class LineSink;
  std::mutex log_mutex_;
  std::vector<std::string> log_;
};

}  // namespace cleancache::testing
