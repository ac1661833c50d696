// CachedFs: a passthrough FUSE filesystem (low-level API) over a backing
// directory whose file pages go through a PageCache in front of a
// Cleancache pool.
//
// Guarantees:
//  - Every operation is performed on the backing file; its errno is returned
//    unchanged. Writes reach the backing file before they are acknowledged.
//  - Pages are cached under VersionedKey(identity, validator) and every read
//    takes the validator from an fstat of the backing file first, so a
//    change made behind the mount's back (or through it) makes the old pages
//    unreachable before anything is served; racy validators bypass the cache.
//  - Writes, truncates and fallocate update/invalidate the touched pages of
//    the key in use (PageCache tickets stop in-flight reads from re-inserting
//    old data); unlink of a last link and rename-over drop the file's pages.
//    A file created through the mount and never read since has no pages
//    anywhere, so its writes and attribute changes skip all of that (see
//    Inode::pages_may_be_cached; a read that starts during a write is caught
//    after the write).
//  - Setuid/setgid: the connection has FUSE_HANDLE_KILLPRIV_V2, and writes,
//    truncates and O_TRUNC opens the kernel marks run without CAP_FSETID so
//    the backing kills the bits (device_hooks.h).
//  - close() reaches the mount (FUSE_FLUSH) only for opens whose close can
//    matter: not read-only ones, not write-only ones on local filesystems
//    that report nothing at close (see CloseNeedsFlush).
//  - Scan resistance: pages of long sequential reads are cached only while
//    cleancache has room or on their second touch (stream_admission.h).
//  - Kernel mode: the kernel page cache is kept across opens only while the
//    validator is unchanged and settled (auto_inval_data covers getattr).
//    Primary mode: direct_io, so the mount's PageCache is the only primary;
//    shared mappings work where the kernel offers FUSE_DIRECT_IO_ALLOW_MMAP
//    (Linux 6.6+; it keeps them coherent with direct I/O, device_hooks.h),
//    and fail with ENODEV on older kernels; private mappings and exec work.
//  - Ownership and modes of new objects are the caller's
//    (caller_identity.h); changes behind the mount's back are seen by the
//    next open at once where the backing is watched (backing_watcher.h).
// Thread safety: operations run on libfuse's worker threads concurrently.
#pragma once

#include "fuse/fuse_api.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "cleancache/cleancache.hpp"
#include "cleancache/page_cache.h"
#include "fuse/backing_watcher.h"
#include "fuse/inode_table.h"
#include "fuse/memory_governor.h"
#include "fuse/mount_options.h"

namespace cleancache::fuse {

// Reusable read buffers, so a 1 MiB read does not map fresh memory.
class BufferPool {
 public:
  explicit BufferPool(size_t buffer_bytes) : buffer_bytes_(buffer_bytes) {}
  std::unique_ptr<uint8_t[]> Take();
  void Give(std::unique_ptr<uint8_t[]> buffer);
  size_t buffer_bytes() const { return buffer_bytes_; }

 private:
  static constexpr size_t kMaxIdle = 32;
  size_t buffer_bytes_;
  std::mutex mu_;
  std::vector<std::unique_ptr<uint8_t[]>> idle_;
};

class CachedFs : public ChangeSink {
 public:
  static constexpr uint32_t kPageSize = 4096;
  static constexpr uint32_t kMaxIo = 1u << 20;  // max_read / max_write

  // Takes ownership of `root_fd` (O_PATH of the backing directory).
  // `governor` (may be null: a backend without local memory) tells whether
  // cleancache has room; it must outlive the CachedFs.
  CachedFs(const MountOptions& options, Cleancache& cache, PoolId pool, int root_fd, FileKey root_identity,
           const MemoryGovernor* governor = nullptr);
  ~CachedFs();

  static const fuse_lowlevel_ops& Ops();
  // Ops() with every operation that changes the backing answered EROFS
  // (MountOptions::read_only).
  static const fuse_lowlevel_ops& ReadOnlyOps();
  // The mount's counters, pool and backend figures (see `cleancache stats`).
  // docs/STATS.md; the version is bumped when a field changes meaning or
  // goes away.
  static constexpr int kStatsSchemaVersion = 1;
  nlohmann::json StatsJson() const;

  // Starts watching the backing for changes made behind the mount's back
  // (backing_watcher.h) and invalidating the kernel's caches of `session`
  // for them. Call after the session is mounted; StopWatching() before the
  // session is destroyed. A failure leaves the mount without a watcher:
  // changes behind its back are then seen after --timeout. On a network
  // filesystem the watcher runs but hears only this machine's changes: the
  // Status says so (NotSupported) while watching goes on.
  Status WatchBacking(fuse_session* session);
  void StopWatching();
  // Set before the FUSE loop starts and cleared after it ends, so requests
  // may read watcher_ without watch_mu_.
  bool watching() const { return watcher_ != nullptr; }

  // --- ChangeSink: a change behind the mount's back (watcher's thread) ---
  void FileChanged(const FileKey& file) override;
  void EntryChanged(const FileKey& directory, std::string_view name, const FileKey* departed) override;
  void Overflow() override;

  // --- operations (called from the fuse_lowlevel_ops trampolines) ---
  void Init(fuse_conn_info* conn);
  void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name);
  void Forget(fuse_ino_t ino, uint64_t nlookup);
  void GetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void SetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int valid, fuse_file_info* fi);
  void ReadLink(fuse_req_t req, fuse_ino_t ino);
  void MakeNode(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev, const char* link);
  void Link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char* name);
  void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name, bool directory);
  void Rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent, const char* newname,
              unsigned int flags);
  void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi);
  void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi);
  void Write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off, fuse_file_info* fi);
  void Fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length, fuse_file_info* fi);
  void OpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info* fi, bool plus);
  void ReleaseDir(fuse_file_info* fi);
  void StatFs(fuse_req_t req, fuse_ino_t ino);
  void SetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size, int flags);
  void GetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size);
  void ListXattr(fuse_req_t req, fuse_ino_t ino, size_t size);
  void RemoveXattr(fuse_req_t req, fuse_ino_t ino, const char* name);

  InodeTable& inodes() { return inodes_; }

 private:
  struct Counters {
    std::atomic<uint64_t> read_requests{0}, read_bytes{0}, write_requests{0}, write_bytes{0};
    std::atomic<uint64_t> bypass_bytes{0};       // racy files, read straight from the backing
    std::atomic<uint64_t> validator_changes{0};  // files seen changed (through or behind the mount)
    std::atomic<uint64_t> file_invalidations{0};
    // The kernel asks getxattr("security.capability") before a write unless
    // it knows the file has no privileges to drop (see device_hooks.h).
    std::atomic<uint64_t> getxattr_requests{0};
    std::atomic<uint64_t> streaming_reads{0};  // reads of files being read sequentially
    // Changes behind the mount's back: kernel caches dropped for them, and
    // opens through a dentry the change made stale (answered ESTALE).
    std::atomic<uint64_t> inode_invalidations{0}, entry_invalidations{0}, stale_opens{0};
  };

  // 0 or errno; fills *e and adds a lookup. `created`: this request has just
  // created the file (see Inode::pages_may_be_cached).
  int DoLookup(Inode& parent, const char* name, fuse_entry_param* e, bool created = false);
  // Notes the validator just seen; drops pages of the file's previous
  // version (memory hygiene: they are unreachable already).
  void Observe(Inode& inode, const struct stat& st);
  // Before a read takes the validator it may cache pages under.
  static void NoteCaching(Inode& inode);
  // Unlink / rename-over: an O_PATH descriptor of the regular file `name`
  // (or -1) and its attributes before; after the operation, drops its pages
  // if that removed its last link.
  int HoldVictim(int dirfd, const char* name, struct stat* before);
  void ReleaseVictim(int fd, const struct stat& before, bool done);
  void InvalidateRange(Inode& inode, const FileValidator& before, uint64_t offset, uint64_t length);
  bool primary_mode() const { return options_.primary_bytes != 0; }
  double timeout() const { return options_.timeout_seconds; }

  MountOptions options_;
  Cleancache& cache_;
  PoolId pool_;
  InodeTable inodes_;
  const MemoryGovernor* governor_;
  PageCache pages_;
  StreamAdmission admission_;
  BufferPool buffers_;
  Counters counters_;

  mutable std::mutex watch_mu_;  // guards watcher_ and watch_status_ (not the watcher's work)
  std::unique_ptr<BackingWatcher> watcher_;
  std::string watch_status_ = "off";
  std::atomic<bool> shared_mmap_{false};  // the kernel allows MAP_SHARED of direct_io files
  // Set while watching: where invalidations go. Read by the watcher's thread,
  // written only before it starts and after it stops.
  fuse_session* session_ = nullptr;
};

}  // namespace cleancache::fuse
