// FrameSocket: sends and receives protocol frames (protocol.h) over a Unix
// stream socket, passing at most one descriptor with SCM_RIGHTS.
//
// Reads are buffered, so a small frame usually costs one recvmsg. The buffer
// never grows beyond header + the caller's body limit, which bounds the
// memory one connection can make the daemon hold. Descriptors that arrive
// with any byte are kept (one at most; extras are closed at once) until
// TakeReceivedFd(); the rest are closed by the destructor.
// Not thread-safe: one reader and one writer thread at most, and the owner
// serialises them (the daemon and the client both do request/response).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "daemon/protocol.h"

namespace cleancache::daemon {

class FrameSocket {
 public:
  explicit FrameSocket(int fd);  // takes ownership
  ~FrameSocket();
  FrameSocket(const FrameSocket&) = delete;
  FrameSocket& operator=(const FrameSocket&) = delete;

  int fd() const { return fd_; }
  // Before blocking for more bytes, poll without blocking for up to this
  // long: a peer that answers within it costs no sleep and no wake-up.
  void set_spin_us(uint32_t us) { spin_us_ = us; }

  enum class ReadResult { kFrame, kClosed, kError };
  // Reads the next frame. On kFrame, `*body` views the body inside the
  // internal buffer until the next call. kClosed: orderly EOF between frames.
  // kError: `*error` says why (I/O error, timeout, EOF mid-frame, bad header).
  ReadResult ReadFrame(uint32_t max_body, FrameHeader* header, std::span<const uint8_t>* body, std::string* error);
  // Writes all bytes, passing `fd_to_pass` (if >= 0) with the first byte.
  bool WriteAll(std::span<const uint8_t> bytes, int fd_to_pass, std::string* error);

  // The descriptor received with the bytes read so far, or -1. Caller owns it.
  int TakeReceivedFd();

 private:
  bool Fill(size_t want, uint32_t buffer_limit, std::string* error, bool* clean_eof);

  int fd_;
  uint32_t spin_us_ = 0;
  int received_fd_ = -1;
  std::vector<uint8_t> buffer_;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace cleancache::daemon
