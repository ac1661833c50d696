// How `cleancache stats MOUNTPOINT` reaches a running mount: the mount
// process listens on an abstract unix socket named after the canonical path
// of its mountpoint and answers every connection with one JSON snapshot,
// then closes it. Abstract sockets leave no file behind, and a second mount
// process for the same mountpoint cannot bind the name (it is busy).
// Who may read them is checked per connection with SO_PEERCRED (StatsAccess):
// by default the mount's owner and root only, as the snapshot names the
// backing directory and shows how much of it is read. Someone else gets a
// one-line JSON error ({"error": "..."}) instead of a snapshot. Nothing can be
// changed through the socket.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "cleancache/status.h"

namespace cleancache::fuse {

// Abstract socket name (without the leading NUL) for a canonical mountpoint.
std::string StatsSocketName(const std::string& canonical_mountpoint);

// Who may read a mount's stats besides root: its owner (the uid running the
// mount), everyone, or also the members of one group.
struct StatsAccess {
  enum class Who { kOwner, kAll, kGroup };
  Who who = Who::kOwner;
  gid_t group = 0;  // kGroup
  // "owner", "all", or a group name or number; InvalidArgument otherwise.
  static Result<StatsAccess> Parse(const std::string& text);
  // Whether the process (pid, uid, gid) may read what a mount run by `owner` serves.
  bool Allows(uid_t owner, pid_t pid, uid_t uid, gid_t gid) const;
};

class StatsServer {
 public:
  // Binds the name and starts answering with snapshot(); Busy if bound.
  static Result<std::unique_ptr<StatsServer>> Start(const std::string& canonical_mountpoint,
                                                    std::function<std::string()> snapshot, StatsAccess access = {});
  ~StatsServer();  // stops answering and joins the thread

 private:
  StatsServer(int listen_fd, int stop_fd, std::function<std::string()> snapshot, StatsAccess access);
  void Serve();
  int listen_fd_;
  int stop_fd_;  // eventfd
  std::function<std::string()> snapshot_;
  StatsAccess access_;
  uid_t owner_;
  std::thread thread_;
};

// The JSON text a mount answers with. NotFound when nothing listens there,
// PermissionDenied when the mount does not let this user read it.
Result<std::string> FetchMountStats(const std::string& mountpoint);

}  // namespace cleancache::fuse
