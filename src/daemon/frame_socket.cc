#include "daemon/frame_socket.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstring>

namespace cleancache::daemon {
namespace {

constexpr size_t kInitialBuffer = 4096;
constexpr int kMaxFdsPerMessage = 4;

}  // namespace

FrameSocket::FrameSocket(int fd) : fd_(fd) {}

FrameSocket::~FrameSocket() {
  if (received_fd_ >= 0) ::close(received_fd_);
  if (fd_ >= 0) ::close(fd_);
}

int FrameSocket::TakeReceivedFd() {
  const int fd = received_fd_;
  received_fd_ = -1;
  return fd;
}

bool FrameSocket::Fill(size_t want, uint32_t buffer_limit, std::string* error, bool* clean_eof) {
  *clean_eof = false;
  if (end_ - begin_ >= want) return true;
  if (buffer_.size() - begin_ < want) {
    if (end_ > begin_) std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
    if (buffer_.size() < want) buffer_.resize(std::max<size_t>(want, std::min<size_t>(buffer_limit, kInitialBuffer)));
  }
  std::chrono::steady_clock::time_point spin_until{};
  if (spin_us_ > 0) spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us_);
  while (end_ - begin_ < want) {
    const bool spinning = spin_us_ > 0 && std::chrono::steady_clock::now() < spin_until;
    iovec iov{buffer_.data() + end_, buffer_.size() - end_};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    const ssize_t n = ::recvmsg(fd_, &msg, MSG_CMSG_CLOEXEC | (spinning ? MSG_DONTWAIT : 0));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && spinning && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
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
                                               std::string* error) {
  const uint32_t limit = static_cast<uint32_t>(kHeaderBytes) + max_body;
  bool clean_eof = false;
  if (!Fill(kHeaderBytes, limit, error, &clean_eof)) return clean_eof ? ReadResult::kClosed : ReadResult::kError;
  if (ParseError e = ParseHeader({buffer_.data() + begin_, kHeaderBytes}, max_body, header)) {
    *error = e.reason;
    return ReadResult::kError;
  }
  const size_t total = kHeaderBytes + header->body_length;
  if (!Fill(total, limit, error, &clean_eof)) return ReadResult::kError;
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
