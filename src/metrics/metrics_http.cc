#include "cleancache/metrics_http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace cleancache {
namespace {

// One request per connection at a time, bounded: 16 connections, 2 s idle,
// 8 KiB of buffer per connection (a GET with its headers is a few hundred
// bytes; Prometheus sends ~300).
constexpr unsigned kMaxConnections = 16;
constexpr unsigned kIdleSeconds = 2;
constexpr size_t kConnectionMemory = 8192;

MHD_Result Answer(void* cls, MHD_Connection* connection, const char* url, const char* method, const char* /*version*/,
                  const char* /*upload_data*/, size_t* upload_size, void** request_state) {
  // libmicrohttpd calls once with the headers, then again per body chunk: a
  // GET has none, so the first call answers.
  auto* server = static_cast<MetricsHttpServer*>(cls);
  (void)request_state;
  unsigned status = MHD_HTTP_OK;
  std::string text;
  if (std::strcmp(method, MHD_HTTP_METHOD_GET) != 0 && std::strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
    status = MHD_HTTP_METHOD_NOT_ALLOWED;
    text = "only GET\n";
  } else if (*upload_size != 0) {
    return MHD_NO;  // a GET with a body: drop the connection
  } else if (std::strcmp(url, "/metrics") == 0) {
    text = server->Body();
  } else {
    status = MHD_HTTP_NOT_FOUND;
    text = "not found; metrics are at /metrics\n";
  }
  MHD_Response* response = MHD_create_response_from_buffer(text.size(), text.data(), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                          status == MHD_HTTP_OK ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain");
  const MHD_Result queued = MHD_queue_response(connection, status, response);
  MHD_destroy_response(response);
  return queued;
}

}  // namespace

Status ParseLoopbackAddress(std::string_view text, std::string* host, uint16_t* port) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return Status::InvalidArgument("metrics address must be HOST:PORT");
  *host = std::string(text.substr(0, colon));
  const std::string_view digits = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), *port);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
    return Status::InvalidArgument("metrics port is not a number 0..65535");
  }
  in_addr addr{};
  if (inet_pton(AF_INET, host->c_str(), &addr) != 1 || (ntohl(addr.s_addr) >> 24) != 127) {
    return Status::InvalidArgument("metrics address must be an IPv4 loopback address (127.x.x.x), got '" + *host + "'");
  }
  return Status::Ok();
}

Result<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(const std::string& address,
                                                                    std::function<std::string()> body) {
  std::string host;
  uint16_t port = 0;
  if (Status s = ParseLoopbackAddress(address, &host, &port); !s.ok()) return s;
  std::unique_ptr<MetricsHttpServer> server(new MetricsHttpServer());
  server->body_ = std::move(body);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  // One internal thread polls every connection (no thread per connection):
  // body() runs on it, one request at a time.
  server->daemon_ = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, nullptr, nullptr, &Answer, server.get(), MHD_OPTION_SOCK_ADDR,
      reinterpret_cast<sockaddr*>(&addr), MHD_OPTION_CONNECTION_LIMIT, kMaxConnections, MHD_OPTION_CONNECTION_TIMEOUT,
      kIdleSeconds, MHD_OPTION_CONNECTION_MEMORY_LIMIT, kConnectionMemory, MHD_OPTION_END);
  if (server->daemon_ == nullptr) {
    return Status::IOError("metrics: cannot listen on " + address + " (address in use, or no such local address)");
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(server->daemon_, MHD_DAEMON_INFO_BIND_PORT);
  server->port_ = info != nullptr ? info->port : port;
  return server;
}

MetricsHttpServer::~MetricsHttpServer() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
}

}  // namespace cleancache
