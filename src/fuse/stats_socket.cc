#include "fuse/stats_socket.h"

#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace cleancache::fuse {
namespace {

socklen_t AbstractAddress(const std::string& name, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  std::memcpy(addr->sun_path + 1, name.data(), name.size());
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
}

}  // namespace

std::string StatsSocketName(const std::string& canonical_mountpoint) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : canonical_mountpoint) h = (h ^ c) * 0x100000001b3ull;
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  return std::string("cleancache-mount-") + hex;
}

Result<std::unique_ptr<StatsServer>> StatsServer::Start(const std::string& canonical_mountpoint,
                                                        std::function<std::string()> snapshot) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IOError(std::string("stats socket: ") + std::strerror(errno));
  sockaddr_un addr;
  socklen_t len = AbstractAddress(StatsSocketName(canonical_mountpoint), &addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || listen(fd, 16) != 0) {
    int err = errno;
    close(fd);
    if (err == EADDRINUSE) {
      return Status::Busy("mountpoint '" + canonical_mountpoint + "' is busy: another cleancache mount serves it");
    }
    return Status::IOError(std::string("stats socket: ") + std::strerror(err));
  }
  int stop = eventfd(0, EFD_CLOEXEC);
  if (stop < 0) {
    close(fd);
    return Status::IOError(std::string("eventfd: ") + std::strerror(errno));
  }
  return std::unique_ptr<StatsServer>(new StatsServer(fd, stop, std::move(snapshot)));
}

StatsServer::StatsServer(int listen_fd, int stop_fd, std::function<std::string()> snapshot)
    : listen_fd_(listen_fd), stop_fd_(stop_fd), snapshot_(std::move(snapshot)) {
  thread_ = std::thread([this] { Serve(); });
}

StatsServer::~StatsServer() {
  uint64_t one = 1;
  (void)!write(stop_fd_, &one, sizeof(one));
  thread_.join();
  close(listen_fd_);
  close(stop_fd_);
}

void StatsServer::Serve() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    std::string text = snapshot_();
    size_t done = 0;
    while (done < text.size()) {
      ssize_t n = send(client, text.data() + done, text.size() - done, MSG_NOSIGNAL);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    close(client);
  }
}

Result<std::string> FetchMountStats(const std::string& mountpoint) {
  char* canonical = realpath(mountpoint.c_str(), nullptr);
  if (canonical == nullptr) return Status::NotFound("mountpoint '" + mountpoint + "': " + std::strerror(errno));
  std::string path = canonical;
  free(canonical);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IOError(std::string("socket: ") + std::strerror(errno));
  sockaddr_un addr;
  socklen_t len = AbstractAddress(StatsSocketName(path), &addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    close(fd);
    return Status::NotFound("no cleancache mount at '" + path + "'");
  }
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  std::string text;
  char buf[4096];
  while (true) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return Status::IOError("reading stats of '" + path + "': " + std::strerror(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return text;
}

}  // namespace cleancache::fuse
