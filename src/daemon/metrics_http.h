// MetricsHttpServer: a minimal HTTP/1.0 responder on a loopback address that
// serves Prometheus text at GET /metrics (and 404 elsewhere). One thread,
// one request per connection, requests bounded to 8 KiB and 2 s, so a slow
// or hostile scraper cannot hold memory or stall the daemon.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "cleancache/status.h"

namespace cleancache::daemon {

class MetricsHttpServer {
 public:
  // `address` is "127.x.y.z:PORT" (PORT 0 = any free port).
  static Result<std::unique_ptr<MetricsHttpServer>> Start(const std::string& address,
                                                          std::function<std::string()> body);
  ~MetricsHttpServer();
  uint16_t port() const { return port_; }

 private:
  MetricsHttpServer() = default;
  void Run();
  void Answer(int fd);

  int listen_fd_ = -1;
  int stop_fd_ = -1;
  uint16_t port_ = 0;
  std::function<std::string()> body_;
  std::thread thread_;
};

}  // namespace cleancache::daemon
