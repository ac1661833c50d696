// CachedFs: the data path (open, read, write, truncate) and the counters.
#include "fuse/cached_fs.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "fuse/backing_read.h"
#include "fuse/caller_identity.h"
#include "fuse/device_hooks.h"
#include "fuse/file_validator.h"

namespace cleancache::fuse {
namespace {

std::string ProcPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// Whether close(2) of this open file must reach the mount (FUSE_FLUSH):
// the kernel then writes back the file's dirty shared-mapped pages, and the
// mount's flush closes a duplicate of the backing descriptor so that an
// error the backing deferred to close (NFS reports write errors there) is
// passed on. A read-only open has neither; neither has a write-only open on
// a local filesystem without a flush operation (O_WRONLY cannot be mapped).
// Anything else keeps the flush. Saves a round trip per close().
bool CloseNeedsFlush(int flags, int fd) {
  int access = flags & O_ACCMODE;
  if (access == O_RDONLY) return false;
  if (access != O_WRONLY) return true;
  struct statfs backing;
  if (fstatfs(fd, &backing) != 0) return true;
  switch (backing.f_type) {
    case EXT4_SUPER_MAGIC:  // also ext2 and ext3
    case XFS_SUPER_MAGIC:
    case TMPFS_MAGIC: return false;
    default: return true;
  }
}

// Filesystems whose files other machines change: a watcher hears only the
// changes made on this one.
const char* RemoteFilesystemName(int fd) {
  struct statfs fs;
  if (fstatfs(fd, &fs) != 0) return nullptr;
  switch (static_cast<uint32_t>(fs.f_type)) {
    case NFS_SUPER_MAGIC: return "nfs";
    case CIFS_SUPER_MAGIC:
    case SMB2_SUPER_MAGIC: return "smb";
    case CEPH_SUPER_MAGIC: return "ceph";
    case V9FS_MAGIC: return "9p";
    case FUSE_SUPER_MAGIC: return "fuse";
    default: return nullptr;
  }
}

// fstat of an open backing file; on failure the request is answered.
bool StatOrReplyError(fuse_req_t req, int fd, struct stat* st) {
  if (fstat(fd, st) == 0) return true;
  fuse_reply_err(req, errno);
  return false;
}

}  // namespace

std::unique_ptr<uint8_t[]> BufferPool::Take() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto buffer = std::move(idle_.back());
      idle_.pop_back();
      return buffer;
    }
  }
  // Not zeroed: only the pages a read touches become resident.
  return std::make_unique_for_overwrite<uint8_t[]>(buffer_bytes_);
}

void BufferPool::Give(std::unique_ptr<uint8_t[]> buffer) {
  std::lock_guard lock(mu_);
  if (idle_.size() < kMaxIdle) idle_.push_back(std::move(buffer));
}

CachedFs::CachedFs(const MountOptions& options, Cleancache& cache, PoolId pool, int root_fd, FileKey root_identity,
                   const MemoryGovernor* governor)
    : options_(options),
      cache_(cache),
      pool_(pool),
      inodes_(root_fd, root_identity, S_IFDIR),
      governor_(governor),
      pages_(cache, pool, PageCacheOptions{options.primary_bytes, kPageSize, 0, options.put_queue_bytes}),
      admission_(options.stream_window_pages),
      buffers_(kMaxIo + 2 * kPageSize) {}

CachedFs::~CachedFs() = default;

void CachedFs::Init(fuse_conn_info* conn) {
  conn->max_write = kMaxIo;
  conn->max_readahead = kMaxIo;
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;  // writes go through before they are acknowledged
  // The caller's umask comes with the request and is applied by the
  // backing (caller_identity.h); without the flag the kernel applies it.
  if (conn->capable & FUSE_CAP_DONT_MASK) conn->want |= FUSE_CAP_DONT_MASK;
  if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA) conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
  if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  if (conn->capable & FUSE_CAP_READDIRPLUS_AUTO) conn->want |= FUSE_CAP_READDIRPLUS_AUTO;
  shared_mmap_ = (InitFlagsOffered() & kDirectIoAllowMmap) != 0;  // the hook accepts it (device_hooks.h)
}

void CachedFs::Observe(Inode& inode, const struct stat& st) {
  if (!S_ISREG(st.st_mode)) return;
  FileValidator now = FileValidator::FromStat(st);
  FileValidator previous;
  {
    std::lock_guard lock(inode.mu);
    if (inode.seen_before && inode.seen == now) return;
    bool had = inode.seen_before;
    previous = inode.seen;
    inode.seen = now;
    inode.seen_before = true;
    if (!had) return;
  }
  ++counters_.validator_changes;
  if (!inode.pages_may_be_cached) return;  // nothing under the old version to drop
  ++counters_.file_invalidations;
  pages_.InvalidateFile(VersionedKey(inode.identity, previous));
}

void CachedFs::NoteCaching(Inode& inode) {
  if (!inode.pages_may_be_cached.load(std::memory_order_relaxed)) inode.pages_may_be_cached = true;
}

void CachedFs::InvalidateRange(Inode& inode, const FileValidator& before, uint64_t offset, uint64_t length) {
  if (IsRacy(before, RealtimeNowNs())) return;  // nothing was cached under a racy version
  uint64_t first = offset / kPageSize;
  uint64_t last = length == UINT64_MAX ? UINT64_MAX : (offset + length + kPageSize - 1) / kPageSize;
  pages_.InvalidatePages(VersionedKey(inode.identity, before), first, last - first);
}

Status CachedFs::WatchBacking(fuse_session* session) {
  struct stat root;
  if (fstat(inodes_.root().fd, &root) != 0)
    return Status::IOError(std::string("fstat(backing): ") + std::strerror(errno));
  session_ = session;
  // The whole filesystem where the mount may (root); else each directory
  // the kernel looks up (an unprivileged fanotify group, Linux 5.13+).
  using Scope = BackingWatcher::Scope;
  Result<std::unique_ptr<BackingWatcher>> watcher = Status::NotSupported("not tried");
  if (options_.watch_scope != WatchScope::kDirectories) {
    watcher = BackingWatcher::Start(inodes_.root().fd, root.st_dev, Scope::kFilesystem, this);
  }
  if (!watcher.ok() && options_.watch_scope != WatchScope::kFilesystem) {
    watcher = BackingWatcher::Start(inodes_.root().fd, root.st_dev, Scope::kDirectories, this);
  }
  std::lock_guard lock(watch_mu_);
  if (!watcher.ok()) {
    session_ = nullptr;
    watch_status_ = "off: " + watcher.status().ToString();
    return watcher.status();
  }
  watcher_ = std::move(*watcher);
  watch_status_ = watcher_->scope() == Scope::kFilesystem ? "filesystem" : "directories";
  if (const char* remote = RemoteFilesystemName(inodes_.root().fd)) {
    watch_status_ += std::string(" (local changes only: the backing is ") + remote + ")";
    return Status::NotSupported(std::string("the backing is on ") + remote +
                                ": only changes made through this machine's kernel are reported, not those made on "
                                "other machines or by the filesystem's own server");
  }
  return Status::Ok();
}

void CachedFs::StopWatching() {
  std::unique_ptr<BackingWatcher> watcher;
  {
    std::lock_guard lock(watch_mu_);
    watcher = std::move(watcher_);
  }
  watcher.reset();  // joins the watcher's thread: no invalidation after this
  session_ = nullptr;
}

// Runs on the watcher's thread (or an Open's Drain), never inside a request
// that holds a kernel lock the invalidation needs: the kernel takes the
// parent directory's lock for an entry and page locks for an inode.
void CachedFs::FileChanged(const FileKey& file) {
  uint64_t nodeid = 0;
  inodes_.Visit(file, [&](Inode& inode) {
    nodeid = inodes_.NodeId(inode);
    struct stat st;
    if (fstat(inode.fd, &st) != 0) return;
    if (st.st_nlink == 0) inode.departed_behind = true;  // removed, or replaced by a rename
    Observe(inode, st);                                  // drops cleancache's pages of the old version now
  });
  if (nodeid == 0) return;  // the kernel holds nothing of it
  ++counters_.inode_invalidations;
  fuse_lowlevel_notify_inval_inode(session_, nodeid, 0, 0);  // attributes and all pages
}

void CachedFs::EntryChanged(const FileKey& directory, std::string_view name, const FileKey* departed) {
  if (departed != nullptr) inodes_.Visit(*departed, [](Inode& inode) { inode.departed_behind = true; });
  uint64_t parent = 0;
  inodes_.Visit(directory, [&](Inode& dir) { parent = inodes_.NodeId(dir); });
  if (parent == 0) return;
  ++counters_.entry_invalidations;
  const std::string terminated(name);  // libfuse sends the terminating NUL from the buffer
  fuse_lowlevel_notify_inval_entry(session_, parent, terminated.c_str(), terminated.size());
}

// Lost events: every inode's attributes and pages may be stale. Entries
// cannot be listed; they expire after --timeout (counted in `overflows`).
void CachedFs::Overflow() {
  for (uint64_t nodeid : inodes_.NodeIds()) {
    ++counters_.inode_invalidations;
    fuse_lowlevel_notify_inval_inode(session_, nodeid, 0, 0);
  }
}

void CachedFs::Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Inode& inode = inodes_.Get(ino);
  // Changes behind the mount's back that returned before this open are
  // queued by now: handle them first, so that this open sees them. (OPEN is
  // never sent with a directory lock held, and this thread holds no page
  // lock: the invalidations cannot wait for this request.)
  if (watcher_) watcher_->Drain();
  if (inode.departed_behind) {
    // The kernel reached a file that has since left its name behind the
    // mount's back: ESTALE makes the VFS walk the path again with
    // LOOKUP_REVAL, which finds what the name holds now.
    ++counters_.stale_opens;
    return (void)fuse_reply_err(req, ESTALE);
  }
  // O_DIRECT is the kernel's business: our buffers are not aligned for it.
  int flags = fi->flags & ~(O_NOFOLLOW | O_DIRECT);
  struct stat before;
  bool truncating = (flags & O_TRUNC) && fstat(inode.fd, &before) == 0;
  int fd;
  {
    WithoutFsetid as_caller((flags & O_TRUNC) && RequestKillsSuidSgid());
    fd = open(ProcPath(inode.fd).c_str(), flags);
  }
  if (fd < 0) {
    fuse_reply_err(req, errno);
    return;
  }
  if (truncating) InvalidateRange(inode, FileValidator::FromStat(before), 0, UINT64_MAX);
  struct stat st;
  const bool stat_ok = fstat(fd, &st) == 0;
  if (stat_ok && st.st_nlink == 0 && !inode.unlinked_through_mount && watching()) {
    // Removed or replaced behind the mount's back, and no event said which
    // file left the name (the directories scope does not see the victim of
    // a rename-over): as for departed_behind above.
    close(fd);
    ++counters_.stale_opens;
    return (void)fuse_reply_err(req, ESTALE);
  }
  if (stat_ok) {
    Observe(inode, st);
    FileValidator now = FileValidator::FromStat(st);
    std::lock_guard lock(inode.mu);
    // The kernel may keep what it cached only if the file provably did not
    // change since: same validator, and that validator was settled when it
    // was taken (a same-tick change would not have moved it).
    fi->keep_cache = !primary_mode() && inode.opened_before && inode.last_open_settled && inode.last_open == now;
    inode.last_open = now;
    inode.last_open_settled = !IsRacy(now, RealtimeNowNs());
    inode.opened_before = true;
  }
  fi->fh = static_cast<uint64_t>(fd);
  if (primary_mode()) fi->direct_io = 1;
  fi->noflush = !CloseNeedsFlush(flags, fd);
  if (fuse_reply_open(req, fi) != 0) close(fd);
}

void CachedFs::Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
  Inode& dir = inodes_.Get(parent);
  int flags = (fi->flags | O_CREAT) & ~(O_NOFOLLOW | O_DIRECT);
  // O_EXCL tells whether this call created the file (then nothing of it can
  // be cached yet); without the caller's O_EXCL, a file that appeared since
  // the kernel's lookup is opened as O_CREAT alone would have.
  int fd;
  bool created;
  {
    AsCaller as_caller(req, true);
    if (as_caller.error() != 0) return (void)fuse_reply_err(req, as_caller.error());
    fd = openat(dir.fd, name, flags | O_EXCL, mode);
    created = fd >= 0;
    if (fd < 0 && errno == EEXIST && !(flags & O_EXCL)) {
      WithoutFsetid without_fsetid((flags & O_TRUNC) && RequestKillsSuidSgid());
      fd = openat(dir.fd, name, flags, mode);
    }
  }
  if (fd < 0) {
    fuse_reply_err(req, errno);
    return;
  }
  fuse_entry_param e;
  if (int err = DoLookup(dir, name, &e, created); err != 0) {
    close(fd);
    fuse_reply_err(req, err);
    return;
  }
  fi->fh = static_cast<uint64_t>(fd);
  if (primary_mode()) fi->direct_io = 1;
  fi->noflush = !CloseNeedsFlush(flags, fd);
  if (fuse_reply_create(req, &e, fi) != 0) close(fd);
}

void CachedFs::Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  Inode& inode = inodes_.Get(ino);
  int fd = static_cast<int>(fi->fh);
  ++counters_.read_requests;
  NoteCaching(inode);
  struct stat st;
  if (!StatOrReplyError(req, fd, &st)) return;
  uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (static_cast<uint64_t>(off) >= file_size || size == 0) {
    fuse_reply_buf(req, nullptr, 0);
    return;
  }
  size = std::min<uint64_t>({size, file_size - off, kMaxIo});
  Observe(inode, st);
  FileValidator validator = FileValidator::FromStat(st);
  auto buffer = buffers_.Take();
  if (!S_ISREG(st.st_mode) || IsRacy(validator, RealtimeNowNs())) {
    long got = ReadBacking(fd, {buffer.get(), size}, off, options_.backing_cache, inode.lacks_dontcache);
    if (got < 0) {
      fuse_reply_err(req, static_cast<int>(-got));
    } else {
      counters_.bypass_bytes += got;
      counters_.read_bytes += got;
      fuse_reply_buf(req, reinterpret_cast<const char*>(buffer.get()), static_cast<size_t>(got));
    }
  } else {
    uint64_t first = off / kPageSize;
    uint64_t count = (off + size - 1) / kPageSize - first + 1;
    const FileKey key = VersionedKey(inode.identity, validator);
    // A long sequential read is cached only where it evicts nothing, or on
    // its second pass (stream_admission.h).
    PageCache::Admit admit;
    if (options_.stream_admission && StreamAdmission::NoteRead(inode.stream, off, size)) {
      ++counters_.streaming_reads;
      if (governor_ == nullptr || !governor_->HasRoom()) {
        admit = [this, &key](uint64_t index) { return admission_.SecondTouch(key, index); };
      }
    }
    // The reply goes out as soon as the data is there; putting the pages
    // into cleancache (compression) happens after, off the reader's path.
    int rc = pages_.Read(
        key, first, count, {buffer.get(), count * kPageSize},
        [&](uint64_t first_index, std::span<uint8_t> out) {
          return ReadBacking(fd, out, first_index * kPageSize, options_.backing_cache, inode.lacks_dontcache);
        },
        [&] {
          counters_.read_bytes += size;
          fuse_reply_buf(req, reinterpret_cast<const char*>(buffer.get() + off % kPageSize), size);
        },
        admit);
    if (rc < 0) fuse_reply_err(req, -rc);
  }
  buffers_.Give(std::move(buffer));
}

void CachedFs::Write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
  Inode& inode = inodes_.Get(ino);
  int fd = static_cast<int>(fi->fh);
  ++counters_.write_requests;
  // A file with no page cached anywhere has nothing to update: the write
  // goes straight to the backing, without taking the validator first.
  bool may_be_cached = inode.pages_may_be_cached;
  struct stat st;
  if (may_be_cached) {
    if (!StatOrReplyError(req, fd, &st)) return;
    Observe(inode, st);
  }
  ssize_t n;
  {
    WithoutFsetid as_caller(RequestKillsSuidSgid());
    n = pwrite(fd, buf, size, off);
  }
  if (n < 0) {
    fuse_reply_err(req, errno);
    return;
  }
  counters_.write_bytes += n;
  // O_APPEND writes land at the end whatever the offset said.
  bool appended = fi->flags & O_APPEND;
  if (may_be_cached) {
    FileValidator before = FileValidator::FromStat(st);
    if (appended) {
      InvalidateRange(inode, before, 0, UINT64_MAX);
    } else if (!IsRacy(before, RealtimeNowNs())) {
      pages_.Update(VersionedKey(inode.identity, before), off,
                    {reinterpret_cast<const uint8_t*>(buf), static_cast<size_t>(n)});
    }
  } else if (inode.pages_may_be_cached) {
    // A read started during the write. If it took the validator before the
    // write, it may cache what it read then under that validator; normally
    // the write moved the validator and those pages are unreachable, but if
    // it did not (same timestamp tick, same size), the validator now is that
    // one: drop the written range under it (this also revokes the read's
    // tickets). A read sets the flag before it takes its validator, so one
    // that took it before the pwrite is always seen here.
    struct stat after;
    if (fstat(fd, &after) != 0) {
      fuse_reply_err(req, errno);
      return;
    }
    InvalidateRange(inode, FileValidator::FromStat(after), appended ? 0 : off,
                    appended ? UINT64_MAX : static_cast<uint64_t>(n));
  }
  fuse_reply_write(req, static_cast<size_t>(n));
}

void CachedFs::Fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length, fuse_file_info* fi) {
  Inode& inode = inodes_.Get(ino);
  int fd = static_cast<int>(fi->fh);
  struct stat st;
  if (!StatOrReplyError(req, fd, &st)) return;
  Observe(inode, st);
  if (fallocate(fd, mode, offset, length) != 0) {
    fuse_reply_err(req, errno);
    return;
  }
  // Punching, zeroing, collapsing or inserting ranges changes data from
  // `offset` on (collapse/insert shift everything after it).
  InvalidateRange(inode, FileValidator::FromStat(st), offset, UINT64_MAX);
  fuse_reply_err(req, 0);
}

void CachedFs::SetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int valid, fuse_file_info* fi) {
  Inode& inode = inodes_.Get(ino);
  int fd = fi != nullptr ? static_cast<int>(fi->fh) : -1;
  std::string path = ProcPath(inode.fd);
  auto fail = [&](int err) { fuse_reply_err(req, err); };
  if (valid & FUSE_SET_ATTR_MODE) {
    int rc = fd >= 0 ? fchmod(fd, attr->st_mode) : chmod(path.c_str(), attr->st_mode);
    if (rc != 0) return fail(errno);
  }
  if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
    uid_t uid = (valid & FUSE_SET_ATTR_UID) ? attr->st_uid : static_cast<uid_t>(-1);
    gid_t gid = (valid & FUSE_SET_ATTR_GID) ? attr->st_gid : static_cast<gid_t>(-1);
    if (fchownat(inode.fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) return fail(errno);
  }
  if (valid & FUSE_SET_ATTR_SIZE) {
    struct stat before;
    if (fstat(inode.fd, &before) != 0) return fail(errno);
    Observe(inode, before);
    int rc;
    {
      WithoutFsetid as_caller(valid & kSetAttrKillSuidSgid);
      rc = fd >= 0 ? ftruncate(fd, attr->st_size) : truncate(path.c_str(), attr->st_size);
    }
    if (rc != 0) return fail(errno);
    // Pages beyond the new size and the partial last page.
    uint64_t keep = static_cast<uint64_t>(attr->st_size) / kPageSize * kPageSize;
    InvalidateRange(inode, FileValidator::FromStat(before), keep, UINT64_MAX);
  }
  if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
    struct timespec times[2];
    times[0].tv_nsec = times[1].tv_nsec = UTIME_OMIT;
    if (valid & FUSE_SET_ATTR_ATIME_NOW)
      times[0].tv_nsec = UTIME_NOW;
    else if (valid & FUSE_SET_ATTR_ATIME)
      times[0] = attr->st_atim;
    if (valid & FUSE_SET_ATTR_MTIME_NOW)
      times[1].tv_nsec = UTIME_NOW;
    else if (valid & FUSE_SET_ATTR_MTIME)
      times[1] = attr->st_mtim;
    int rc;
    if (fd >= 0)
      rc = futimens(fd, times);
    else if (inode.type == S_IFLNK)
      rc = utimensat(inode.fd, "", times, AT_EMPTY_PATH);
    else
      rc = utimensat(AT_FDCWD, path.c_str(), times, 0);
    if (rc != 0) return fail(errno);
  }
  GetAttr(req, ino, fi);
}

// The snapshot `cleancache stats` shows; its schema (names, units, meaning)
// is docs/STATS.md, and kStatsSchemaVersion changes when a field changes
// meaning or goes away (adding one does not).
nlohmann::json CachedFs::StatsJson() const {
  PageCacheStats pc = pages_.Stats();
  PoolCounters pool = cache_.Counters(pool_);
  BackendStats backend = cache_.BackendStatistics();
  auto info = cache_.Info(pool_);
  const uint64_t bytes_from_cleancache = pc.cleancache_hits * kPageSize;
  const uint64_t bytes_from_backing = pc.backing_pages * kPageSize + counters_.bypass_bytes.load();
  const uint64_t gets = pool.succ_gets + pool.failed_gets;
  auto ratio = [](uint64_t part, uint64_t whole) {
    return whole == 0 ? nlohmann::json(nullptr)
                      : nlohmann::json(static_cast<double>(part) / static_cast<double>(whole));
  };
  nlohmann::json j;
  j["schema_version"] = kStatsSchemaVersion;
  j["mount"] = {{"pid", static_cast<int64_t>(getpid())},
                {"mountpoint", options_.mountpoint},
                {"backing", options_.backing},
                {"backend", cache_.BackendName()},
                {"primary", primary_mode() ? "own" : "kernel"},
                {"primary_capacity_bytes", options_.primary_bytes}};
  j["summary"] = {{"hit_ratio", ratio(pool.succ_gets, gets)},
                  {"bytes_saved", bytes_from_cleancache},
                  {"bytes_from_backing", bytes_from_backing},
                  {"memory_used_bytes", backend.real_memory_bytes},
                  {"memory_capacity_bytes", backend.capacity_bytes},
                  {"compression_ratio", ratio(backend.original_bytes, backend.compressed_bytes)},
                  {"evictions", backend.evictions}};
  j["reads"] = {{"requests", counters_.read_requests.load()}, {"bytes", counters_.read_bytes.load()},
                {"pages_from_primary", pc.primary_hits},      {"pages_from_cleancache", pc.cleancache_hits},
                {"pages_from_backing", pc.backing_pages},     {"bytes_from_cleancache", bytes_from_cleancache},
                {"bytes_from_backing", bytes_from_backing},   {"bytes_bypassed_racy", counters_.bypass_bytes.load()}};
  j["writes"] = {{"requests", counters_.write_requests.load()}, {"bytes", counters_.write_bytes.load()}};
  j["cleancache"] = {{"gets", gets},
                     {"hits", pool.succ_gets},
                     {"misses", pool.failed_gets},
                     {"puts", pool.puts},
                     {"invalidations", pool.invalidates},
                     {"pool_id", pool_},
                     {"shared_pool", info.ok() && info->shared},
                     {"keep_on_get", info.ok() && info->keep_on_get},
                     {"pages_stored", backend.pages_stored},
                     {"original_bytes", backend.original_bytes},
                     {"compressed_bytes", backend.compressed_bytes},
                     {"memory_used_bytes", backend.real_memory_bytes},
                     {"capacity_bytes", backend.capacity_bytes},
                     {"evictions", backend.evictions},
                     {"compression_ratio", ratio(backend.original_bytes, backend.compressed_bytes)},
                     {"same_filled_pages", backend.same_filled_pages},
                     {"stored_uncompressed", backend.stored_raw},
                     {"rejected_incompressible", backend.rejected_incompressible},
                     {"dropped_puts", backend.dropped_puts}};
  nlohmann::json details = nlohmann::json::object();
  for (const auto& [name, value] : backend.extra) details[name] = value;
  j["backend_details"] = std::move(details);
  j["primary_cache"] = {{"shared_mappings", !primary_mode() || shared_mmap_.load()},
                        {"resident_bytes", pc.resident_bytes},
                        {"reserved_bytes", pc.reserved_bytes},
                        {"capacity_bytes", pc.capacity_bytes},
                        {"evicted_pages", pc.evicted_pages}};
  j["admission"] = {{"streaming_reads", counters_.streaming_reads.load()},
                    {"pages_not_admitted", pc.not_admitted},
                    {"window_pages", options_.stream_admission ? admission_.window_pages() : 0}};
  j["background_puts"] = {{"pending", pc.queued_puts},
                          {"done", pc.deferred_puts},
                          {"dropped_queue_full", pc.dropped_puts},
                          {"cancelled_by_changes", pc.revoked_puts}};
  j["coherency"] = {{"validator_changes", counters_.validator_changes.load()},
                    {"file_invalidations", counters_.file_invalidations.load()},
                    {"getxattr_requests", counters_.getxattr_requests.load()}};
  {
    std::lock_guard lock(watch_mu_);
    WatcherStats w = watcher_ ? watcher_->Stats() : WatcherStats{};
    j["watch"] = {{"mode", watch_status_},
                  {"events", w.events},
                  {"own_events", w.own_events},
                  {"overflows", w.overflows},
                  {"watched_directories", w.watched_directories},
                  {"unwatched_directories", w.unwatched_directories},
                  {"inode_invalidations", counters_.inode_invalidations.load()},
                  {"entry_invalidations", counters_.entry_invalidations.load()},
                  {"stale_opens", counters_.stale_opens.load()}};
  }
  return j;
}

}  // namespace cleancache::fuse
