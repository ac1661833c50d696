// FrameSocket: sends and receives protocol frames (protocol.h) over a Unix
// stream socket, passing at most one descriptor with SCM_RIGHTS.
//
// Reads are buffered, so a small frame usually costs one recvmsg. The buffer
// never grows beyond header + the caller's body limit, which bounds the
// memory one connection can make the daemon hold. Descriptors that arrive
// with any byte are kept (one at most; extras are closed at once) until
// TakeReceivedFd(); the rest are closed by the destructor.
// Reads can poll before they block (see ReadFrame): a reply or request that
// arrives within the poll costs no sleep and no wake-up, which on a VM whose
// idle vCPUs halt is most of a round trip. Polling is only for CPU nobody
// else wants: there is no poll while runnable threads outnumber the host's
// CPUs (CpuContention), and when a yield between looks lets another thread run,
// the CPU is wanted (by the peer, other clients, other programs) and polling
// would take from them, so the read sleeps at once and polling pauses: 1 ms
// after the first such poll, doubling up to 100 ms while they keep coming,
// halving again with each poll that gets its bytes undisturbed.
// Not thread-safe: one reader and one writer thread at most, and the owner
// serialises them (the daemon and the client both do request/response).
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tmem/cpu_contention.h"
#include "tmem/protocol.h"

namespace cleancache::daemon {

class FrameSocket {
 public:
  // Takes ownership of `fd`. `cpu_contended` says whether polling would take
  // CPU someone else wants (tests pass one that says no, to poll for sure).
  explicit FrameSocket(int fd, bool (*cpu_contended)() = &CpuContention::Now);
  ~FrameSocket();
  FrameSocket(const FrameSocket&) = delete;
  FrameSocket& operator=(const FrameSocket&) = delete;

  int fd() const { return fd_; }

  enum class ReadResult { kFrame, kClosed, kError };
  // Reads the next frame. On kFrame, `*body` views the body inside the
  // internal buffer until the next call. kClosed: orderly EOF between frames.
  // kError: `*error` says why (I/O error, timeout, EOF mid-frame, bad header).
  // `poll`: before blocking, look for the bytes without blocking for up to
  // this long, yielding the CPU between looks so that a thread waiting for
  // this CPU (often the peer itself) runs instead of the poller.
  ReadResult ReadFrame(uint32_t max_body, FrameHeader* header, std::span<const uint8_t>* body, std::string* error,
                       std::chrono::microseconds poll = std::chrono::microseconds::zero());
  // Writes all bytes, passing `fd_to_pass` (if >= 0) with the first byte.
  bool WriteAll(std::span<const uint8_t> bytes, int fd_to_pass, std::string* error);

  // The descriptor received with the bytes read so far, or -1. Caller owns it.
  int TakeReceivedFd();

 private:
  using Clock = std::chrono::steady_clock;
  // Reads until `want` bytes are buffered, polling until `*poll_until` (which
  // it clears when polling must stop) and then blocking.
  bool Fill(size_t want, uint32_t buffer_limit, Clock::time_point* poll_until, std::string* error, bool* clean_eof);

  int fd_;
  bool (*const cpu_contended_)();
  Clock::time_point no_poll_until_{};
  std::chrono::microseconds poll_pause_;
  int received_fd_ = -1;
  std::vector<uint8_t> buffer_;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace cleancache::daemon
