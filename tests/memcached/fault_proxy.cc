#include "memcached/fault_proxy.h"

#include "memcached/memcached_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace cleancache::testing {
namespace {

// memcached binary protocol (protocol_binary.h): request header layout.
constexpr size_t kHeaderBytes = 24;
constexpr uint8_t kRequestMagic = 0x80;
constexpr uint8_t kOpcodeDelete = 0x04;
constexpr uint8_t kOpcodeDeleteQuiet = 0x14;
constexpr uint8_t kOpcodeNobodyKnows = 0xEE;  // memcached answers "unknown command"
constexpr int kPollMs = 50;                   // how often relays look at the stop flag

uint32_t BodyBytes(const uint8_t* header) {
  uint32_t body;
  std::memcpy(&body, header + 8, sizeof body);
  return ntohl(body);
}

bool WriteAll(int fd, const uint8_t* data, size_t size) {
  while (size > 0) {
    ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Relayed requests go out at once, as the client sent them (without it,
// Nagle's algorithm and delayed acks add ~40 ms to every exchange).
void SendImmediately(int fd) {
  int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

}  // namespace

std::unique_ptr<FaultProxy> FaultProxy::Start(uint16_t upstream_port) {
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      listen(listener, 16) != 0 || getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    std::perror("FaultProxy: cannot listen");
    if (listener >= 0) close(listener);
    return nullptr;
  }
  std::unique_ptr<FaultProxy> proxy(new FaultProxy(listener, ntohs(address.sin_port), upstream_port));
  proxy->acceptor_ = std::thread([raw = proxy.get()] { raw->AcceptLoop(); });
  return proxy;
}

FaultProxy::~FaultProxy() {
  stopping_ = true;
  acceptor_.join();
  close(listener_);
  std::lock_guard lock(relays_mutex_);
  for (std::thread& relay : relays_) relay.join();
}

void FaultProxy::AcceptLoop() {
  while (!stopping_) {
    pollfd ready{listener_, POLLIN, 0};
    if (poll(&ready, 1, kPollMs) <= 0) continue;
    int client = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    int server = ConnectLoopback(upstream_port_);
    if (server < 0) {
      close(client);
      continue;
    }
    SendImmediately(client);
    SendImmediately(server);
    std::lock_guard lock(relays_mutex_);
    relays_.emplace_back([this, client, server] { Relay(client, server); });
  }
}

void FaultProxy::Relay(int client, int server) {
  std::vector<uint8_t> from_client;  // bytes of requests not yet complete
  uint8_t buffer[65536];
  bool open = true;
  while (open && !stopping_) {
    pollfd ready[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
    if (poll(ready, 2, kPollMs) <= 0) continue;
    if (ready[1].revents) {
      ssize_t n = recv(server, buffer, sizeof buffer, 0);
      open = n > 0 && WriteAll(client, buffer, static_cast<size_t>(n));
    }
    if (open && ready[0].revents) {
      ssize_t n = recv(client, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      from_client.insert(from_client.end(), buffer, buffer + n);
      // Forward whole requests only, so a fault can act on one of them.
      while (open && from_client.size() >= kHeaderBytes) {
        size_t request_bytes = kHeaderBytes + BodyBytes(from_client.data());
        if (from_client.size() < request_bytes) break;
        std::vector<uint8_t> request(from_client.begin(),
                                     from_client.begin() + static_cast<std::ptrdiff_t>(request_bytes));
        from_client.erase(from_client.begin(), from_client.begin() + static_cast<std::ptrdiff_t>(request_bytes));
        open = Inspect(request) && WriteAll(server, request.data(), request.size());
      }
    }
  }
  close(client);
  close(server);
}

bool FaultProxy::Inspect(std::vector<uint8_t>& request) {
  if (request[0] != kRequestMagic) return true;
  const uint8_t opcode = request[1];
  const bool is_delete = opcode == kOpcodeDelete || opcode == kOpcodeDeleteQuiet;
  switch (armed_.load()) {
    case Fault::kNone: return true;
    case Fault::kCloseConnection:
      if (!is_delete) return true;
      armed_ = Fault::kNone;
      ++applied_;
      return false;
    case Fault::kConflictDelete:
      if (!is_delete) return true;
      armed_ = Fault::kNone;
      ++applied_;
      std::memset(request.data() + 16, 0xFF, 8);  // the header's CAS field
      return true;
    case Fault::kRefuseDelete:
      if (!is_delete) return true;
      armed_ = Fault::kNone;
      ++applied_;
      request[1] = kOpcodeNobodyKnows;
      return true;
    case Fault::kMissDelete: {
      if (!is_delete) return true;
      armed_ = Fault::kNone;
      ++applied_;
      const size_t key_bytes = (size_t{request[2]} << 8) | request[3];
      const size_t key_start = kHeaderBytes + request[4];           // after the extras
      if (key_bytes > 0) request[key_start + key_bytes - 1] = 'z';  // our keys are hex: now another key
      return true;
    }
  }
  return true;
}

}  // namespace cleancache::testing
