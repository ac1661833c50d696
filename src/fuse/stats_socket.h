// How `cleancache stats MOUNTPOINT` reaches a running mount: the mount
// process listens on an abstract unix socket named after the canonical path
// of its mountpoint and answers every connection with one JSON snapshot,
// then closes it. Abstract sockets leave no file behind, and a second mount
// process for the same mountpoint cannot bind the name (it is busy).
// Anyone in the network namespace may read the counters (they are not
// secret: hit counts and sizes); nothing can be changed through the socket.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "cleancache/status.h"

namespace cleancache::fuse {

// Abstract socket name (without the leading NUL) for a canonical mountpoint.
std::string StatsSocketName(const std::string& canonical_mountpoint);

class StatsServer {
 public:
  // Binds the name and starts answering with snapshot(); Busy if bound.
  static Result<std::unique_ptr<StatsServer>> Start(const std::string& canonical_mountpoint,
                                                    std::function<std::string()> snapshot);
  ~StatsServer();  // stops answering and joins the thread

 private:
  StatsServer(int listen_fd, int stop_fd, std::function<std::string()> snapshot);
  void Serve();
  int listen_fd_;
  int stop_fd_;  // eventfd
  std::function<std::string()> snapshot_;
  std::thread thread_;
};

// The JSON text a mount answers with. NotFound when nothing listens there.
Result<std::string> FetchMountStats(const std::string& mountpoint);

}  // namespace cleancache::fuse
