#include "fuse/stats_socket.h"

#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <xxhash.h>

#include <grp.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace cleancache::fuse {
namespace {

socklen_t AbstractAddress(const std::string& name, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  std::memcpy(addr->sun_path + 1, name.data(), name.size());
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
}

// Whether `pid`'s supplementary groups (/proc/PID/status, "Groups:") hold
// `gid`. SO_PEERCRED carries the primary group only.
bool InSupplementaryGroup(pid_t pid, gid_t gid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("Groups:")) continue;
    std::istringstream groups(line.substr(7));
    unsigned long g;
    while (groups >> g) {
      if (g == gid) return true;
    }
    return false;
  }
  return false;
}

}  // namespace

Result<StatsAccess> StatsAccess::Parse(const std::string& text) {
  if (text == "owner") return StatsAccess{};
  if (text == "all") return StatsAccess{Who::kAll, 0};
  unsigned long number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (!text.empty() && ec == std::errc() && end == text.data() + text.size()) {
    return StatsAccess{Who::kGroup, static_cast<gid_t>(number)};
  }
  struct group entry;
  struct group* found = nullptr;
  char buf[4096];
  if (!text.empty() && getgrnam_r(text.c_str(), &entry, buf, sizeof(buf), &found) == 0 && found != nullptr) {
    return StatsAccess{Who::kGroup, found->gr_gid};
  }
  return Status::InvalidArgument("stats access '" + text + "' is not owner, all, or a group name or number");
}

bool StatsAccess::Allows(uid_t owner, pid_t pid, uid_t uid, gid_t gid) const {
  if (uid == 0 || uid == owner || who == Who::kAll) return true;
  if (who != Who::kGroup) return false;
  return gid == group || InSupplementaryGroup(pid, group);
}

std::string StatsSocketName(const std::string& canonical_mountpoint) {
  // Client and server are the same program, so the hash only has to agree
  // within one build.
  const uint64_t h = XXH3_64bits(canonical_mountpoint.data(), canonical_mountpoint.size());
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  return std::string("cleancache-mount-") + hex;
}

Result<std::unique_ptr<StatsServer>> StatsServer::Start(const std::string& canonical_mountpoint,
                                                        std::function<std::string()> snapshot, StatsAccess access) {
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
  return std::unique_ptr<StatsServer>(new StatsServer(fd, stop, std::move(snapshot), access));
}

StatsServer::StatsServer(int listen_fd, int stop_fd, std::function<std::string()> snapshot, StatsAccess access)
    : listen_fd_(listen_fd), stop_fd_(stop_fd), snapshot_(std::move(snapshot)), access_(access), owner_(getuid()) {
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
    ucred peer{};
    socklen_t peer_len = sizeof(peer);
    std::string text;
    if (getsockopt(client, SOL_SOCKET, SO_PEERCRED, &peer, &peer_len) == 0 &&
        access_.Allows(owner_, peer.pid, peer.uid, peer.gid)) {
      text = snapshot_();
    } else {
      const std::string who = owner_ == 0 ? "root" : "uid " + std::to_string(owner_) + " and root";
      text = nlohmann::json{{"error", "permission denied: this mount's stats are readable by " + who +
                                          " only (the mount's --stats-access widens it)"}}
                 .dump();
    }
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
  // A refusal is a JSON object with only "error" (a snapshot never has one).
  auto answer = nlohmann::json::parse(text, nullptr, false);
  if (answer.is_object() && answer.size() == 1 && answer.contains("error") && answer["error"].is_string()) {
    return Status::PermissionDenied("stats of '" + path + "': " + answer["error"].get<std::string>());
  }
  return text;
}

}  // namespace cleancache::fuse
