// Running one cleancache mount: checks, backend, pool, FUSE session, loop,
// and the cleanup at unmount (the pool ends with InvalidateFs).
#pragma once

#include <spdlog/logger.h>
#include <sys/types.h>

#include <functional>
#include <string>

#include "cleancache/status.h"
#include "fuse/mount_options.h"

namespace cleancache::fuse {

// Blocks until the filesystem is unmounted (umount, fusermount3 -u, or
// SIGINT/SIGTERM/SIGHUP). Every check that can fail (backing directory,
// mountpoint, backend spec, the mount itself) runs before `on_mounted` is
// called; a failure returns its Status and leaves nothing mounted. What
// happens while mounted (warnings, the unmount) goes to `log`.
Status RunMount(const MountOptions& options, spdlog::logger& log, const std::function<void()>& on_mounted);

// True if `canonical_path` is the mountpoint of some mount (libmount's
// reading of /proc/self/mountinfo).
bool IsMountPoint(const std::string& canonical_path);

// allow_other by a user other than root needs `user_allow_other` in
// fuse.conf (fusermount3 refuses it otherwise): Ok, or PermissionDenied
// saying what to add to which file.
Status CheckAllowOther(uid_t uid, const std::string& fuse_conf = "/etc/fuse.conf");

}  // namespace cleancache::fuse
