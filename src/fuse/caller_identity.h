// Creating files as the caller: owner, group, supplementary groups and
// umask of the process that asked, not of the mount.
//
// A mount run by root performs every operation on the backing directory
// itself. Without this, a file, directory, node or symlink that uid 65534
// creates through the mount would belong to root, and its mode would carry
// the mount process's umask on top of the caller's (0777 -> 0755 under
// umask 022). With it the result is the same as the caller creating the
// object in the backing directly:
//  - the connection asks for FUSE_CAP_DONT_MASK, so the kernel sends the
//    caller's umask with MKNOD, MKDIR and CREATE instead of applying it;
//    the worker thread takes that umask, and the backing filesystem applies
//    it (or, under a default ACL, ignores it), as for a local caller;
//  - the worker thread takes the caller's fsuid, fsgid and supplementary
//    groups for the one system call that creates the object, so the owner,
//    a setgid directory's group inheritance, the setgid bit strip for a
//    non-member and the backing's own permission checks all come out as
//    the caller's.
// All of these are per-thread on Linux: umask after unshare(CLONE_FS)
// (done once per worker thread), setfsuid/setfsgid, and setgroups made with
// the raw system call (glibc's setgroups changes every thread of the
// process). A mount that is not root cannot take another uid; it creates
// as itself, with the caller's umask, as an unprivileged FUSE server must.
//
// Thread safety: changes and restores only the calling thread's state.
#pragma once

#include <sys/types.h>

#include <vector>

#include "fuse/fuse_api.h"

namespace cleancache::fuse {

class AsCaller {
 public:
  // Takes the identity of `req`'s caller. The umask is taken when
  // `apply_umask` (requests that carry one: MKNOD, MKDIR, CREATE).
  AsCaller(fuse_req_t req, bool apply_umask);
  ~AsCaller();
  AsCaller(const AsCaller&) = delete;
  AsCaller& operator=(const AsCaller&) = delete;

  // 0, or the errno that kept the thread from taking the caller's identity
  // (the request must then fail rather than create as the mount).
  int error() const { return error_; }

 private:
  int error_ = 0;
  bool identity_changed_ = false;
  bool umask_changed_ = false;
  mode_t saved_umask_ = 0;
  std::vector<gid_t> own_groups_;  // the mount's own, put back on destruction
};

}  // namespace cleancache::fuse
