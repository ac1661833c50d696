// DaemonConnection: the client end of one connection to cleancached: connect,
// Hello (passing the shared area, if any), then strict request/response calls
// (protocol.h). Every reply is validated (opcode, request id, size) before
// use. Any I/O failure, timeout or malformed reply is an error and leaves the
// connection unusable; the owner drops it and makes a new one. A call polls
// for its reply before sleeping when ReplyPoll expects it within the budget.
// Not thread-safe: the owner serialises calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cleancache/status.h"
#include "tmem/frame_socket.h"
#include "tmem/protocol.h"
#include "tmem/reply_poll.h"
#include "tmem/shared_area.h"

namespace cleancache::daemon {

struct Reply {
  WireStatus status = WireStatus::kOk;
  std::span<const uint8_t> body;  // valid until the next call
  std::string message() const { return {body.begin(), body.end()}; }
};

class DaemonConnection {
 public:
  // `area` may be null (a control-only client, e.g. `cleancache stats`).
  // `reply_poll`: the most a call polls for its reply before sleeping (0: never).
  static Result<std::unique_ptr<DaemonConnection>> Connect(
      const std::string& socket_path, uint32_t timeout_ms, const SharedArea* area,
      std::chrono::microseconds reply_poll = std::chrono::microseconds::zero());

  const HelloReply& hello() const { return hello_; }
  uint64_t NextRequestId() { return ++last_request_id_; }
  // Sends one encoded request frame (with id `request_id` and opcode `op`,
  // moving `pages` pages through the area) and reads its reply.
  Result<Reply> Call(std::span<const uint8_t> frame, Opcode op, uint64_t request_id, uint32_t pages = 0);

 private:
  DaemonConnection(int fd, std::chrono::microseconds reply_poll) : socket_(fd), reply_poll_(reply_poll) {}
  FrameSocket socket_;
  ReplyPoll reply_poll_;
  HelloReply hello_;
  uint64_t last_request_id_ = 0;
};

// Status for a non-OK wire status, with the daemon's message.
Status WireError(const Reply& reply, const std::string& what);

// Connects, asks for the daemon's statistics (JSON text) and disconnects.
Result<std::string> FetchDaemonStats(const std::string& socket_path, uint32_t timeout_ms);

}  // namespace cleancache::daemon
