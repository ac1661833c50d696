// PeerIdentity: who is on the other end of a Unix socket, as the kernel says
// (SO_PEERCRED at connect time, plus the pid's cgroup from /proc). Clients
// cannot claim an identity: every tenant and authorisation decision of the
// daemon rests on this.
#pragma once

#include <sys/types.h>

#include <string>

#include "cleancache/status.h"
#include "daemon/daemon_config.h"

namespace cleancache::daemon {

struct PeerIdentity {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string cgroup;  // unified-hierarchy path, else the memory controller's; "/" if unknown

  std::string ToString() const;  // "pid 12 uid 1000 gid 1000 cgroup /user.slice"
};

Result<PeerIdentity> IdentifyPeer(int socket_fd);
// The cgroup of `pid` from the text of /proc/PID/cgroup.
std::string CgroupFromProcText(std::string_view text);
// "uid:1000", "gid:100", "cgroup:/system.slice/x.service" or "pid:1234".
std::string TenantName(const PeerIdentity& peer, TenantBy by);

}  // namespace cleancache::daemon
