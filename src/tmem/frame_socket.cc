#include "tmem/frame_socket.h"

#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace cleancache::daemon {
namespace {

constexpr size_t kInitialBuffer = 4096;
constexpr int kMaxFdsPerMessage = 4;

// A sched_yield that found no other thread to run returns in ~0.6 us on the
// 2-vCPU VM we measure on; one that switched to another thread and back takes
// 2.6 us even when that thread yields at once. A whole look (recvmsg + yield)
// takes ~1.5 us; one that took far longer was preempted.
constexpr std::chrono::nanoseconds kYieldRanNobody(2000);
constexpr std::chrono::nanoseconds kLookRanNobody(20000);
constexpr std::chrono::milliseconds kFirstPollPause(1);
constexpr std::chrono::milliseconds kLongestPollPause(100);

}  // namespace

FrameSocket::FrameSocket(int fd, bool (*cpu_contended)())
    : fd_(fd), cpu_contended_(cpu_contended), poll_pause_(kFirstPollPause) {}

FrameSocket::~FrameSocket() {
  if (received_fd_ >= 0) ::close(received_fd_);
  if (fd_ >= 0) ::close(fd_);
}

int FrameSocket::TakeReceivedFd() {
  const int fd = received_fd_;
  received_fd_ = -1;
  return fd;
}

bool FrameSocket::Fill(size_t want, uint32_t buffer_limit, Clock::time_point* poll_until, std::string* error,
                       bool* clean_eof) {
  *clean_eof = false;
  if (end_ - begin_ >= want) return true;
  if (buffer_.size() - begin_ < want) {
    if (end_ > begin_) std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
    if (buffer_.size() < want) buffer_.resize(std::max<size_t>(want, std::min<size_t>(buffer_limit, kInitialBuffer)));
  }
  while (end_ - begin_ < want) {
    const auto look_start = Clock::now();
    const bool polling = look_start < *poll_until;
    iovec iov{buffer_.data() + end_, buffer_.size() - end_};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    const ssize_t n = ::recvmsg(fd_, &msg, MSG_CMSG_CLOEXEC | (polling ? MSG_DONTWAIT : 0));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && polling && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // Offer the CPU between looks: a poller that shares its CPU with the
      // peer would otherwise hold the CPU the peer needs to answer (measured:
      // batched gets at 0.40 of in-process instead of 0.63 on a loaded 2-core
      // VM). If the yield ran another thread, or another thread preempted
      // this one, this CPU is wanted by someone: sleep now, and pause
      // polling (see the header).
      const auto before_yield = Clock::now();
      ::sched_yield();
      const auto after = Clock::now();
      if (after - before_yield > kYieldRanNobody || after - look_start > kLookRanNobody) {
        no_poll_until_ = after + poll_pause_;
        poll_pause_ = std::min<std::chrono::microseconds>(poll_pause_ * 2, kLongestPollPause);
        *poll_until = {};
      }
      continue;
    }
    if (n > 0 && polling) poll_pause_ = std::max<std::chrono::microseconds>(poll_pause_ / 2, kFirstPollPause);
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); n >= 0 && c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const size_t fds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < fds; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        if (received_fd_ < 0) {
          received_fd_ = fd;
        } else {
          ::close(fd);
        }
      }
    }
    if (n < 0) {
      *error = (errno == EAGAIN || errno == EWOULDBLOCK) ? "timed out waiting for the peer"
                                                         : std::string("receive failed: ") + std::strerror(errno);
      return false;
    }
    if (n == 0) {
      *clean_eof = (end_ == begin_);
      *error = *clean_eof ? "peer closed the connection" : "peer closed the connection mid-frame";
      return false;
    }
    end_ += static_cast<size_t>(n);
  }
  return true;
}

FrameSocket::ReadResult FrameSocket::ReadFrame(uint32_t max_body, FrameHeader* header, std::span<const uint8_t>* body,
                                               std::string* error, std::chrono::microseconds poll) {
  const uint32_t limit = static_cast<uint32_t>(kHeaderBytes) + max_body;
  Clock::time_point poll_until{};
  if (poll > std::chrono::microseconds::zero() && end_ - begin_ < kHeaderBytes) {
    const auto now = Clock::now();
    if (now >= no_poll_until_ && !cpu_contended_()) poll_until = now + poll;
  }
  bool clean_eof = false;
  if (!Fill(kHeaderBytes, limit, &poll_until, error, &clean_eof)) {
    return clean_eof ? ReadResult::kClosed : ReadResult::kError;
  }
  if (ParseError e = ParseHeader({buffer_.data() + begin_, kHeaderBytes}, max_body, header)) {
    *error = e.reason;
    return ReadResult::kError;
  }
  const size_t total = kHeaderBytes + header->body_length;
  if (!Fill(total, limit, &poll_until, error, &clean_eof)) return ReadResult::kError;
  *body = {buffer_.data() + begin_ + kHeaderBytes, header->body_length};
  begin_ += total;
  if (begin_ == end_) begin_ = end_ = 0;
  return ReadResult::kFrame;
}

bool FrameSocket::WriteAll(std::span<const uint8_t> bytes, int fd_to_pass, std::string* error) {
  size_t done = 0;
  while (done < bytes.size()) {
    iovec iov{const_cast<uint8_t*>(bytes.data() + done), bytes.size() - done};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    if (fd_to_pass >= 0 && done == 0) {
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(c), &fd_to_pass, sizeof(int));
    }
    const ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = (errno == EAGAIN || errno == EWOULDBLOCK) ? "timed out sending to the peer"
                                                         : std::string("send failed: ") + std::strerror(errno);
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace cleancache::daemon
