// The mount's inodes: one per backing file identity, each holding an O_PATH
// descriptor of the backing file. The FUSE node id of an inode is its
// address (the root is FUSE_ROOT_ID); an inode lives while the kernel holds
// lookups on it. Hard links share one identity and so one inode; a recycled
// inode number gets a new inode because its identity differs (handle
// generation) -- with the (dev, ino) fallback a dead inode is detected by
// its link count and replaced.
// Thread safety: all methods may run concurrently.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "cleancache/file_key.h"
#include "fuse/file_validator.h"
#include "fuse/stream_admission.h"

namespace cleancache::fuse {

struct Inode {
  int fd = -1;  // O_PATH, owned
  FileKey identity;
  mode_t type = 0;       // S_IFMT bits
  uint64_t nlookup = 0;  // guarded by the table's mutex

  // False only while no page of this file can be in the primary or in
  // cleancache under any version: the mount itself just created the file
  // (O_EXCL), in a pool no other mount shares, and no read has started on it
  // since. Writes and validator changes then have nothing to invalidate. A
  // read sets it, for good, before it takes the validator it caches under.
  std::atomic<bool> pages_may_be_cached{true};
  // The backing filesystem refused RWF_DONTCACHE (see backing_read.h).
  std::atomic<bool> lacks_dontcache{false};
  StreamState stream;  // sequential-read detection (stream_admission.h)
  // The backing file left a name, or its last link, behind the mount's back
  // (backing_watcher.h): a dentry the kernel still holds for it may be
  // stale, so an open through it is answered ESTALE and the kernel looks
  // the name up again. A new lookup that finds the file clears it.
  std::atomic<bool> departed_behind{false};
  std::atomic<bool> watched{false};
  // Its last link was removed through the mount: opening it (through
  // /proc/PID/fd) is legitimate. A file found with no link and without
  // this left its name behind the mount's back (see departed_behind).
  std::atomic<bool> unlinked_through_mount{false};  // a directory the watcher marked (directories scope)

  std::mutex mu;  // guards the fields below
  bool seen_before = false;
  FileValidator seen;  // validator of the version whose pages may be cached
  bool opened_before = false;
  FileValidator last_open;         // validator at the last open (kernel keep_cache)
  bool last_open_settled = false;  // ...and it was not racy then

  ~Inode();
};

class InodeTable {
 public:
  // Adopts `fd` (O_PATH) as the root, with one permanent lookup.
  InodeTable(int root_fd, FileKey root_identity, mode_t root_type);
  ~InodeTable();

  Inode& root() { return *root_; }
  // Node id <-> inode.
  Inode& Get(uint64_t nodeid);
  uint64_t NodeId(Inode& inode);

  // Finds or creates the inode for an O_PATH descriptor (taking ownership of
  // `fd`, closing it when an inode exists) and adds one lookup.
  // `nothing_cached`: the caller knows no page of the file can be cached (it
  // has just created it); applies only if the inode is new.
  Inode& Acquire(int fd, const FileKey& identity, const struct stat& st, bool nothing_cached = false);
  // Adds one lookup to a known inode (link(2) returns an existing inode).
  void AddLookup(Inode& inode);
  // Drops `count` lookups; the inode is freed when none remain.
  void Forget(Inode& inode, uint64_t count);
  // Calls `fn` on the inode of `identity`, if the kernel knows one, with the
  // table locked (the inode cannot be forgotten meanwhile). True if found.
  bool Visit(const FileKey& identity, const std::function<void(Inode&)>& fn);
  // Node ids of every inode the kernel knows, the root included.
  std::vector<uint64_t> NodeIds();
  size_t size();

 private:
  std::mutex mu_;
  Inode* root_;
  std::unordered_map<FileKey, Inode*, FileKeyHash> by_identity_;
};

}  // namespace cleancache::fuse
