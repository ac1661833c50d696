// Serving Prometheus text over HTTP on a loopback address, for the daemon and
// the FUSE mount alike (both sit above this layer; neither includes the other).
//
// Contract:
//  * ParseLoopbackAddress accepts "127.x.y.z:PORT" only (PORT 0 = any free
//    port) and names the culprit otherwise: the metrics carry file and tenant
//    names, so they are never offered beyond the host.
//  * MetricsHttpServer answers GET /metrics with body() as
//    `text/plain; version=0.0.4` and any other path with 404, from
//    libmicrohttpd's own thread; body() runs on that thread, one request at a
//    time. Connections are limited (16 at once, 2 s of idleness, 8 KiB of
//    request), so a slow or hostile scraper cannot hold memory or stall the
//    program. The destructor stops answering and waits for a running body().
//  * Errors are Status values (control path).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "cleancache/status.h"

struct MHD_Daemon;

namespace cleancache {

// "127.0.0.1:9477" -> host, port; only IPv4 loopback addresses are accepted.
Status ParseLoopbackAddress(std::string_view text, std::string* host, uint16_t* port);

class MetricsHttpServer {
 public:
  static Result<std::unique_ptr<MetricsHttpServer>> Start(const std::string& address,
                                                          std::function<std::string()> body);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;
  uint16_t port() const { return port_; }
  // The text GET /metrics answers with (what the HTTP thread calls).
  std::string Body() const { return body_(); }

 private:
  MetricsHttpServer() = default;
  MHD_Daemon* daemon_ = nullptr;
  uint16_t port_ = 0;
  std::function<std::string()> body_;
};

}  // namespace cleancache
