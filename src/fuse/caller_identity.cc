#include "fuse/caller_identity.h"

#include <sched.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace cleancache::fuse {
namespace {

// Once per worker thread: its own umask (and cwd, which the mount does not
// use), so that taking a caller's umask leaves every other thread alone.
bool ThreadHasOwnUmask() {
  thread_local const bool unshared = unshare(CLONE_FS) == 0;
  return unshared;
}

// The raw system call: glibc's setgroups() applies to every thread.
int SetThreadGroups(const std::vector<gid_t>& groups) {
  return static_cast<int>(syscall(SYS_setgroups, groups.size(), groups.data()));
}

std::vector<gid_t> ThreadGroups() {
  int n = getgroups(0, nullptr);
  std::vector<gid_t> groups(n > 0 ? static_cast<size_t>(n) : 0);
  if (n > 0 && getgroups(n, groups.data()) != n) groups.clear();
  return groups;
}

// The caller's supplementary groups (libfuse reads /proc/<tid>/status); none
// if the caller is gone, which grants less, never more.
std::vector<gid_t> CallerGroups(fuse_req_t req) {
  std::vector<gid_t> groups(32);
  int n = fuse_req_getgroups(req, static_cast<int>(groups.size()), groups.data());
  if (n > static_cast<int>(groups.size())) {
    groups.resize(static_cast<size_t>(n));
    n = fuse_req_getgroups(req, n, groups.data());
  }
  groups.resize(n > 0 && n <= static_cast<int>(groups.size()) ? static_cast<size_t>(n) : 0);
  return groups;
}

}  // namespace

AsCaller::AsCaller(fuse_req_t req, bool apply_umask) {
  const int saved_errno = errno;
  const fuse_ctx* ctx = fuse_req_ctx(req);
  if (apply_umask) {
    if (!ThreadHasOwnUmask()) {
      error_ = errno;
      return;
    }
    saved_umask_ = umask(ctx->umask & 0777);
    umask_changed_ = true;
  }
  // Root's files are created as root already (and root bypasses the checks
  // a supplementary group could change); a mount that is not root cannot
  // become anyone else.
  static const bool mount_is_root = geteuid() == 0;
  if (!mount_is_root || (ctx->uid == 0 && ctx->gid == getegid())) {
    errno = saved_errno;
    return;
  }
  own_groups_ = ThreadGroups();
  if (SetThreadGroups(CallerGroups(req)) != 0) {
    error_ = errno;
    return;
  }
  identity_changed_ = true;
  setfsgid(ctx->gid);
  setfsuid(ctx->uid);
  // setfsuid/setfsgid report the previous value, not failure: read back.
  if (static_cast<uid_t>(setfsuid(static_cast<uid_t>(-1))) != ctx->uid ||
      static_cast<gid_t>(setfsgid(static_cast<gid_t>(-1))) != ctx->gid) {
    error_ = EPERM;
  }
  errno = saved_errno;
}

AsCaller::~AsCaller() {
  const int saved_errno = errno;  // the caller reads the operation's errno after this
  if (identity_changed_) {
    // fsuid first: going back to 0 puts the filesystem capabilities back.
    setfsuid(geteuid());
    setfsgid(getegid());
    SetThreadGroups(own_groups_);
  }
  if (umask_changed_) umask(saved_umask_);
  errno = saved_errno;
}

}  // namespace cleancache::fuse
