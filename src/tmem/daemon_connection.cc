#include "tmem/daemon_connection.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cleancache::daemon {

Status WireError(const Reply& reply, const std::string& what) {
  const std::string text = what + ": " + reply.message();
  switch (reply.status) {
    case WireStatus::kPermissionDenied: return Status::PermissionDenied(text);
    case WireStatus::kNotFound: return Status::NotFound(text);
    case WireStatus::kBusy: return Status::Busy(text);
    case WireStatus::kInvalidArgument:
    case WireStatus::kBadRequest: return Status::InvalidArgument(text);
    default: return Status::Unavailable(text);
  }
}

Result<std::unique_ptr<DaemonConnection>> DaemonConnection::Connect(const std::string& socket_path, uint32_t timeout_ms,
                                                                    const SharedArea* area,
                                                                    std::chrono::microseconds reply_poll) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(addr.sun_path))
    return Status::InvalidArgument("socket path too long: " + socket_path);
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IOError(std::string("socket: ") + std::strerror(errno));
  std::unique_ptr<DaemonConnection> conn(new DaemonConnection(fd, reply_poll));
  timeval tv{static_cast<time_t>(timeout_ms / 1000), static_cast<suseconds_t>((timeout_ms % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return Status::Unavailable("cannot reach cleancached at " + socket_path + ": " + std::strerror(errno));
  }
  std::vector<uint8_t> frame;
  const uint64_t id = conn->NextRequestId();
  EncodeHello(&frame, id, area != nullptr ? area->size() : 0);
  std::string error;
  if (!conn->socket_.WriteAll(frame, area != nullptr ? area->fd() : -1, &error)) {
    return Status::Unavailable("cleancached at " + socket_path + ": " + error);
  }
  FrameHeader header;
  std::span<const uint8_t> body;
  const auto read = conn->socket_.ReadFrame(kMaxResponseBody, &header, &body, &error);
  if (read != FrameSocket::ReadResult::kFrame) {
    return Status::Unavailable("cleancached at " + socket_path + ": " + error);
  }
  if (header.opcode != Opcode::kHello || header.request_id != id) {
    return Status::Corruption("cleancached at " + socket_path + ": reply does not match hello");
  }
  if (header.status != 0) {
    return WireError(Reply{static_cast<WireStatus>(header.status), body}, "cleancached refused hello");
  }
  if (ParseError e = ParseHelloReply(body, &conn->hello_)) {
    return Status::Corruption("cleancached at " + socket_path + ": " + e.reason);
  }
  if (area != nullptr && conn->hello_.shared_bytes != area->size()) {
    return Status::Corruption("cleancached did not accept the shared area");
  }
  return conn;
}

Result<Reply> DaemonConnection::Call(std::span<const uint8_t> frame, Opcode op, uint64_t request_id, uint32_t pages) {
  std::string error;
  const auto sent = std::chrono::steady_clock::now();
  if (!socket_.WriteAll(frame, -1, &error)) return Status::Unavailable(error);
  FrameHeader header;
  Reply reply;
  const auto read = socket_.ReadFrame(kMaxResponseBody, &header, &reply.body, &error, reply_poll_.For(op, pages));
  if (read != FrameSocket::ReadResult::kFrame) return Status::Unavailable(error);
  reply_poll_.Observe(op, pages, std::chrono::steady_clock::now() - sent);
  if (header.opcode != op || header.request_id != request_id) {
    return Status::Corruption("reply does not match the request");
  }
  reply.status = static_cast<WireStatus>(header.status);
  return reply;
}

Result<std::string> FetchDaemonStats(const std::string& socket_path, uint32_t timeout_ms) {
  auto conn = DaemonConnection::Connect(socket_path, timeout_ms, nullptr);
  if (!conn.ok()) return conn.status();
  std::vector<uint8_t> frame;
  const uint64_t id = (*conn)->NextRequestId();
  EncodeEmpty(&frame, Opcode::kStats, id);
  auto reply = (*conn)->Call(frame, Opcode::kStats, id);
  if (!reply.ok()) return reply.status();
  if (reply->status != WireStatus::kOk) return WireError(*reply, "statistics");
  return reply->message();
}

}  // namespace cleancache::daemon
