// The mount's hooks on its /dev/fuse I/O: INIT flags libfuse 3.14 (Debian
// bookworm) does not know, and per-request marks it does not pass on.
//
// 1. Shared mappings under --primary SIZE. Files are opened FOPEN_DIRECT_IO
// there, and without FUSE_DIRECT_IO_ALLOW_MMAP (Linux 6.6) the kernel
// refuses every MAP_SHARED mapping of them with ENODEV. With it the kernel
// maps them through its page cache and keeps that coherent with direct I/O
// (a direct read or write first writes back and drops the mapped range), and
// the mount's own primary sees every page the mapping writes, as a WRITE.
// The INIT reply gets the flag whenever the kernel offers it; older kernels
// still answer ENODEV (see docs/FUSE.md).
//
// 2. Killing setuid/setgid on write and truncate in the server, so that the
// kernel can stop asking before every write. Without FUSE_HANDLE_KILLPRIV_V2 the kernel sends getxattr
// ("security.capability") before every write(2) to a FUSE file, to learn
// whether the write must drop privileges (file_remove_privs): an untar of
// /usr/include costs 28,273 of those among its 129,138 requests. With the
// flag the FUSE superblock is SB_NOSEC: once a file is seen with no
// setuid/setgid bit and no capability, the kernel remembers it (S_NOSEC)
// until the file's attributes are refreshed. In exchange the server must
// kill setuid/setgid on the writes, truncates and O_TRUNC opens the kernel
// marks (FUSE_WRITE_KILL_SUIDGID, FATTR_KILL_SUIDGID, FUSE_OPEN_KILL_SUIDGID:
// the caller lacks CAP_FSETID).
//
// libfuse 3.14 (Debian bookworm) can neither negotiate the flag nor hand the
// write and open marks to the handlers. So the mount does its /dev/fuse I/O
// through libfuse's custom-io hooks (InstallDeviceHooks):
//  - the INIT reply gets FUSE_HANDLE_KILLPRIV_V2 when the kernel offers it;
//  - the mark of each WRITE, OPEN and CREATE request is kept for the worker
//    thread that received it, which is the thread that dispatches and
//    handles it (libfuse's loops receive and process on one thread; the
//    mount does not use splice receive, so every request passes the hook).
// A handler that sees the mark (RequestKillsSuidSgid) performs the
// operation inside a WithoutFsetid scope: CAP_FSETID is dropped from the
// worker thread's effective set, so the backing filesystem's own kernel
// kills setuid/setgid, with its fresh view of the mode, exactly as for a
// local unprivileged writer. A server without CAP_FSETID (a user mount) has
// nothing to drop: its writes already kill the bits.
//
// Thread safety: the hooks and RequestKillsSuidSgid use only the calling
// thread's state; WithoutFsetid changes only the calling thread's
// capabilities.
#pragma once

#include <linux/capability.h>

#include <cstdint>

#include "cleancache/status.h"
#include "fuse/fuse_api.h"

namespace cleancache::fuse {

// Routes the mounted `session`'s device I/O through the hooks above. Call
// after fuse_session_mount and before the loop starts.
Status InstallDeviceHooks(fuse_session* session);

// FUSE_DIRECT_IO_ALLOW_MMAP (linux/fuse.h of bookworm is Linux 6.1's).
inline constexpr uint64_t kDirectIoAllowMmap = 1ull << 36;

// The kernel's INIT flags (flags2 << 32 | flags); valid in the init
// handler, which runs on the thread that received INIT.
uint64_t InitFlagsOffered();

// Whether the request this worker thread is handling carries the kernel's
// "kill setuid/setgid" mark (WRITE, OPEN or CREATE; SETATTR carries it in
// its `valid` bits as FUSE_SET_ATTR_KILL_SUID, which libfuse passes on).
bool RequestKillsSuidSgid();

// The SETATTR mark (the kernel's FATTR_KILL_SUIDGID) under libfuse's name.
inline constexpr int kSetAttrKillSuidSgid = FUSE_SET_ATTR_KILL_SUID;

// While alive, the calling thread runs without CAP_FSETID if `drop` (and it
// had it); restores it on destruction.
class WithoutFsetid {
 public:
  explicit WithoutFsetid(bool drop);
  ~WithoutFsetid();
  WithoutFsetid(const WithoutFsetid&) = delete;
  WithoutFsetid& operator=(const WithoutFsetid&) = delete;

 private:
  __user_cap_data_struct before_[2]{};  // the thread's sets (v3: two words each)
  bool dropped_ = false;
};

}  // namespace cleancache::fuse
