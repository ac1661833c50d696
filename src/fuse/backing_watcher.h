// Seeing changes made to the backing directory behind the mount's back.
//
// The kernel caches a FUSE file's attributes and directory entries for the
// mount's --timeout, and in kernel mode its pages across opens; cleancache
// keeps pages under the file's validator. Changes made through the mount
// update all of these. Changes made directly in the backing (another
// process, a package upgrade, a rename-into-place) would not be seen by a
// reader until the timeout passes. The watcher hears them from the kernel
// and has them dropped at once:
//  - with fanotify, reporting file handles (FAN_REPORT_DFID_NAME_TARGET),
//    so each event names the changed file by the same handle the mount keys
//    its inodes by, and its directory entry by (directory handle, name);
//  - Scope::kFilesystem marks the backing's whole filesystem
//    (FAN_MARK_FILESYSTEM; needs CAP_SYS_ADMIN: a mount run by root);
//    Scope::kDirectories (what a mount that is not root can have, Linux
//    5.13+) marks each directory the kernel has looked up, for changes to
//    it and its children (WatchDirectory). Those marks are evictable: the
//    mount's descriptor pins a directory while the kernel knows it, and the
//    mark goes with the inode after. A file changed through a hard link in
//    a directory not looked up through the mount is not seen in this scope;
//  - content and attribute changes (FAN_MODIFY, FAN_ATTRIB) go to
//    ChangeSink::FileChanged; entries created, deleted or renamed
//    (FAN_CREATE, FAN_DELETE, FAN_MOVED_FROM, FAN_MOVED_TO) to
//    EntryChanged, with the file that left the name when there is one;
//  - events caused by the mount process itself are skipped: the mount
//    already keeps its caches right for changes made through it;
//  - when the kernel's event queue overflowed (16,384 events pending), the
//    sink hears Overflow() and must assume anything changed.
// fanotify queues an event before the changing system call returns, so a
// Drain() that starts after the change returned sees it: that is what makes
// a read that follows a change (an open by another process) never stale.
// Files on filesystems mounted below the backing directory are not watched.
//
// Thread safety: Drain() may be called from any thread, concurrently with
// the watcher's own thread; the sink is called with the watcher's mutex
// held, one event at a time, in queue order. The sink must not call
// Drain().
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "cleancache/file_key.h"
#include "cleancache/status.h"

namespace cleancache::fuse {

class ChangeSink {
 public:
  virtual ~ChangeSink() = default;
  // The file's content or attributes changed. `file` is device-qualified
  // as the mount's inode identities are.
  virtual void FileChanged(const FileKey& file) = 0;
  // `name` in `directory` was created, removed, or renamed from or to.
  // `departed`: the file that left the name (removed or renamed away), when
  // the kernel reported it.
  virtual void EntryChanged(const FileKey& directory, std::string_view name, const FileKey* departed) = 0;
  // Events were lost.
  virtual void Overflow() = 0;
};

struct WatcherStats {
  uint64_t events = 0;          // read from the kernel, own ones included
  uint64_t own_events = 0;      // caused by the mount itself: skipped
  uint64_t foreign_events = 0;  // on another filesystem (never expected)
  uint64_t overflows = 0;
  uint64_t watched_directories = 0;    // kDirectories: marks added
  uint64_t unwatched_directories = 0;  // kDirectories: marks the kernel refused
};

class BackingWatcher {
 public:
  enum class Scope { kFilesystem, kDirectories };

  // Watches the backing directory `root_fd` (O_PATH), whose files have
  // device `device`, in `scope`. NotSupported/PermissionDenied when fanotify
  // cannot do it here (kFilesystem without CAP_SYS_ADMIN, an old kernel, a
  // filesystem without file handles). `sink` must outlive the watcher.
  static Result<std::unique_ptr<BackingWatcher>> Start(int root_fd, dev_t device, Scope scope, ChangeSink* sink);

  // kDirectories: watch the directory `fd` (any descriptor, O_PATH too) and
  // its children. False if the kernel refused (its mark limit, say);
  // counted in Stats().unwatched_directories.
  bool WatchDirectory(int fd);
  Scope scope() const { return scope_; }
  ~BackingWatcher();
  BackingWatcher(const BackingWatcher&) = delete;
  BackingWatcher& operator=(const BackingWatcher&) = delete;

  // Handles every event queued so far before returning.
  void Drain();
  WatcherStats Stats() const;

 private:
  BackingWatcher(int fanotify_fd, int stop_fd, dev_t device, uint64_t fsid, Scope scope, ChangeSink* sink);
  // Run(): woken again within kStreamingMs of the last wake-up, the thread
  // waits kBatchMs for more events before it polls again.
  static constexpr int kStreamingMs = 5;
  static constexpr int kBatchMs = 1;
  void Run();
  void HandleEvent(const uint8_t* event, size_t length);

  const int fanotify_fd_;
  const int stop_fd_;  // eventfd: wakes the thread to exit
  const dev_t device_;
  const uint64_t fsid_;
  const pid_t self_;
  const Scope scope_;
  ChangeSink* const sink_;
  std::mutex mu_;  // one drainer at a time: events are handled in order
  std::atomic<uint64_t> events_{0}, own_events_{0}, foreign_events_{0}, overflows_{0};
  std::atomic<uint64_t> watched_directories_{0}, unwatched_directories_{0};
  std::thread thread_;
};

}  // namespace cleancache::fuse
