// Running one cleancache mount: checks, backend, pool, FUSE session, loop,
// and the cleanup at unmount (the pool ends with InvalidateFs).
#pragma once

#include <functional>

#include "cleancache/status.h"
#include "fuse/mount_options.h"

namespace cleancache::fuse {

// Blocks until the filesystem is unmounted (umount, fusermount3 -u, or
// SIGINT/SIGTERM/SIGHUP). Every check that can fail (backing directory,
// mountpoint, backend spec, the mount itself) runs before `on_mounted` is
// called; a failure returns its Status and leaves nothing mounted.
Status RunMount(const MountOptions& options, const std::function<void()>& on_mounted);

// True if `canonical_path` is the mountpoint of some mount (/proc/self/mountinfo).
bool IsMountPoint(const std::string& canonical_path);

}  // namespace cleancache::fuse
