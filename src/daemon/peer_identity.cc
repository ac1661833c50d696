#include "daemon/peer_identity.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace cleancache::daemon {

std::string PeerIdentity::ToString() const {
  return "pid " + std::to_string(pid) + " uid " + std::to_string(uid) + " gid " + std::to_string(gid) + " cgroup " +
         cgroup;
}

std::string CgroupFromProcText(std::string_view text) {
  std::string unified;
  std::string memory;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    const auto first = line.find(':');
    const auto second = first == std::string::npos ? std::string::npos : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    if (line.compare(0, first, "0") == 0 && controllers.empty()) unified = path;
    if (controllers == "memory") memory = path;
  }
  // On a hybrid host the unified path may be "/" while the memory controller
  // holds the real grouping; prefer whichever says more.
  if (!unified.empty() && unified != "/") return unified;
  if (!memory.empty()) return memory;
  return unified.empty() ? "/" : unified;
}

Result<PeerIdentity> IdentifyPeer(int socket_fd) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(socket_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return Status::IOError(std::string("SO_PEERCRED: ") + std::strerror(errno));
  }
  PeerIdentity peer;
  peer.pid = cred.pid;
  peer.uid = cred.uid;
  peer.gid = cred.gid;
  std::ifstream in("/proc/" + std::to_string(cred.pid) + "/cgroup");
  std::stringstream text;
  if (in) text << in.rdbuf();
  peer.cgroup = CgroupFromProcText(text.str());
  return peer;
}

std::string TenantName(const PeerIdentity& peer, TenantBy by) {
  switch (by) {
    case TenantBy::kUid: return "uid:" + std::to_string(peer.uid);
    case TenantBy::kGid: return "gid:" + std::to_string(peer.gid);
    case TenantBy::kCgroup: return "cgroup:" + peer.cgroup;
    case TenantBy::kProcess: return "pid:" + std::to_string(peer.pid);
  }
  return "uid:" + std::to_string(peer.uid);
}

}  // namespace cleancache::daemon
