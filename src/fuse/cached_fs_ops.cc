// CachedFs: namespace, attribute, directory and xattr operations, and the
// fuse_lowlevel_ops table. These pass straight through to the backing.
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "fuse/cached_fs.h"
#include "fuse/caller_identity.h"
#include "fuse/file_validator.h"

namespace cleancache::fuse {
namespace {

std::string ProcPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

CachedFs& Fs(fuse_req_t req) { return *static_cast<CachedFs*>(fuse_req_userdata(req)); }

struct DirHandle {
  DIR* dp = nullptr;
  off_t offset = 0;
  struct dirent* entry = nullptr;
};

DirHandle* Dir(fuse_file_info* fi) { return reinterpret_cast<DirHandle*>(static_cast<uintptr_t>(fi->fh)); }

bool IsDotOrDotDot(const char* name) {
  return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

}  // namespace

int CachedFs::DoLookup(Inode& parent, const char* name, fuse_entry_param* e, bool created) {
  std::memset(e, 0, sizeof(*e));
  e->attr_timeout = timeout();
  e->entry_timeout = timeout();
  int fd = openat(parent.fd, name, O_PATH | O_NOFOLLOW);
  if (fd < 0) return errno;
  if (fstatat(fd, "", &e->attr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
    int err = errno;
    close(fd);
    return err;
  }
  auto identity = FileKey::ForDescriptor(fd);
  if (!identity.ok()) {
    close(fd);
    return EIO;
  }
  // Another mount sharing the pool may cache pages of any file: only a
  // mount-private pool lets a new file start with nothing to invalidate.
  bool nothing_cached = created && !options_.shared_uuid;
  Inode& inode = inodes_.Acquire(fd, DeviceQualified(*identity, e->attr.st_dev), e->attr, nothing_cached);
  e->ino = inodes_.NodeId(inode);
  // Before the reply: the kernel caches nothing in it that a change could
  // make stale unwatched (backing_watcher.h, directories scope).
  if (watcher_ && watcher_->scope() == BackingWatcher::Scope::kDirectories && S_ISDIR(e->attr.st_mode) &&
      !inode.watched.exchange(true)) {
    watcher_->WatchDirectory(inode.fd);
  }
  Observe(inode, e->attr);
  return 0;
}

void CachedFs::Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  fuse_entry_param e;
  int err = DoLookup(inodes_.Get(parent), name, &e);
  if (err == ENOENT) {
    // A negative entry, cached for the same timeout as positive ones; not at
    // all while the backing is watched: a name created behind the mount's
    // back must be found by the next open (close-to-open), and an open
    // through a cached negative entry would never reach the mount.
    std::memset(&e, 0, sizeof(e));
    e.entry_timeout = watching() ? 0 : timeout();
    fuse_reply_entry(req, &e);
  } else if (err != 0) {
    fuse_reply_err(req, err);
  } else {
    fuse_reply_entry(req, &e);
  }
}

void CachedFs::Forget(fuse_ino_t ino, uint64_t nlookup) { inodes_.Forget(inodes_.Get(ino), nlookup); }

void CachedFs::GetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  Inode& inode = inodes_.Get(ino);
  struct stat st;
  if (fstatat(inode.fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
    fuse_reply_err(req, errno);
    return;
  }
  Observe(inode, st);
  fuse_reply_attr(req, &st, timeout());
}

void CachedFs::ReadLink(fuse_req_t req, fuse_ino_t ino) {
  char buf[PATH_MAX + 1];
  ssize_t n = readlinkat(inodes_.Get(ino).fd, "", buf, sizeof(buf));
  if (n < 0) return (void)fuse_reply_err(req, errno);
  if (n == static_cast<ssize_t>(sizeof(buf))) return (void)fuse_reply_err(req, ENAMETOOLONG);
  buf[n] = '\0';
  fuse_reply_readlink(req, buf);
}

void CachedFs::MakeNode(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev,
                        const char* link) {
  Inode& dir = inodes_.Get(parent);
  int rc;
  {
    AsCaller as_caller(req, link == nullptr);  // symlinks carry no umask
    if (as_caller.error() != 0) return (void)fuse_reply_err(req, as_caller.error());
    if (link != nullptr)
      rc = symlinkat(link, dir.fd, name);
    else if (S_ISDIR(mode))
      rc = mkdirat(dir.fd, name, mode);
    else
      rc = mknodat(dir.fd, name, mode, rdev);
  }
  if (rc != 0) return (void)fuse_reply_err(req, errno);
  fuse_entry_param e;
  if (int err = DoLookup(dir, name, &e); err != 0) return (void)fuse_reply_err(req, err);
  fuse_reply_entry(req, &e);
}

void CachedFs::Link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char* name) {
  Inode& inode = inodes_.Get(ino);
  Inode& dir = inodes_.Get(parent);
  int rc;
  {
    // As the caller: the backing's own checks (protected_hardlinks) apply.
    AsCaller as_caller(req, false);
    if (as_caller.error() != 0) return (void)fuse_reply_err(req, as_caller.error());
    rc = linkat(AT_FDCWD, ProcPath(inode.fd).c_str(), dir.fd, name, AT_SYMLINK_FOLLOW);
  }
  if (rc != 0) return (void)fuse_reply_err(req, errno);
  fuse_entry_param e;
  if (int err = DoLookup(dir, name, &e); err != 0) return (void)fuse_reply_err(req, err);
  fuse_reply_entry(req, &e);
}

// Pages of a file that loses its last link are dead; with the (dev, ino)
// fallback they must go before the inode number is recycled. The victim is
// held open (O_PATH) across the operation; its pages were cached under the
// validator from before it, since unlinking moves the ctime.
int CachedFs::HoldVictim(int dirfd, const char* name, struct stat* before) {
  int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW);
  if (fd < 0) return -1;
  if (fstat(fd, before) != 0 || !S_ISREG(before->st_mode)) {
    close(fd);
    return -1;
  }
  return fd;
}

void CachedFs::ReleaseVictim(int fd, const struct stat& before, bool done) {
  if (fd < 0) return;
  struct stat after;
  if (done && fstat(fd, &after) == 0 && after.st_nlink == 0) {
    if (auto identity = FileKey::ForDescriptor(fd); identity.ok()) {
      FileKey file = DeviceQualified(*identity, before.st_dev);
      ++counters_.file_invalidations;
      pages_.InvalidateFile(VersionedKey(file, FileValidator::FromStat(before)));
      inodes_.Visit(file, [](Inode& inode) { inode.unlinked_through_mount = true; });
    }
  }
  close(fd);
}

void CachedFs::Unlink(fuse_req_t req, fuse_ino_t parent, const char* name, bool directory) {
  Inode& dir = inodes_.Get(parent);
  struct stat before;
  int victim = directory ? -1 : HoldVictim(dir.fd, name, &before);
  bool done = unlinkat(dir.fd, name, directory ? AT_REMOVEDIR : 0) == 0;
  int err = done ? 0 : errno;
  ReleaseVictim(victim, before, done);
  fuse_reply_err(req, err);
}

void CachedFs::Rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent, const char* newname,
                      unsigned int flags) {
  Inode& from = inodes_.Get(parent);
  Inode& to = inodes_.Get(newparent);
  struct stat before;
  int victim = (flags & RENAME_EXCHANGE) ? -1 : HoldVictim(to.fd, newname, &before);
  bool done = renameat2(from.fd, name, to.fd, newname, flags) == 0;
  int err = done ? 0 : errno;
  ReleaseVictim(victim, before, done);
  fuse_reply_err(req, err);
}

void CachedFs::OpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  int fd = openat(inodes_.Get(ino).fd, ".", O_RDONLY | O_DIRECTORY);
  if (fd < 0) return (void)fuse_reply_err(req, errno);
  auto* handle = new DirHandle;
  handle->dp = fdopendir(fd);
  if (handle->dp == nullptr) {
    int err = errno;
    close(fd);
    delete handle;
    return (void)fuse_reply_err(req, err);
  }
  fi->fh = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(handle));
  if (fuse_reply_open(req, fi) != 0) ReleaseDir(fi);
}

void CachedFs::ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info* fi, bool plus) {
  DirHandle* d = Dir(fi);
  Inode& dir = inodes_.Get(ino);
  std::vector<char> buf(size);
  size_t used = 0;
  int err = 0;
  if (offset != d->offset) {
    seekdir(d->dp, offset);
    d->entry = nullptr;
    d->offset = offset;
  }
  while (true) {
    if (d->entry == nullptr) {
      errno = 0;
      d->entry = readdir(d->dp);
      if (d->entry == nullptr) {
        err = errno;  // 0 at the end of the directory
        break;
      }
    }
    off_t next = d->entry->d_off;
    const char* name = d->entry->d_name;
    size_t entsize;
    fuse_entry_param e;
    if (plus) {
      if (IsDotOrDotDot(name)) {
        std::memset(&e, 0, sizeof(e));
        e.attr.st_ino = d->entry->d_ino;
        e.attr.st_mode = d->entry->d_type << 12;
      } else if (int lookup_err = DoLookup(dir, name, &e); lookup_err != 0) {
        err = lookup_err;
        break;
      }
      entsize = fuse_add_direntry_plus(req, buf.data() + used, size - used, name, &e, next);
      if (entsize > size - used) {
        if (!IsDotOrDotDot(name)) Forget(e.ino, 1);  // not sent: undo the lookup
        break;
      }
    } else {
      struct stat st {};
      st.st_ino = d->entry->d_ino;
      st.st_mode = d->entry->d_type << 12;
      entsize = fuse_add_direntry(req, buf.data() + used, size - used, name, &st, next);
      if (entsize > size - used) break;
    }
    used += entsize;
    d->entry = nullptr;
    d->offset = next;
  }
  // An error after some entries is reported by the next call.
  if (err != 0 && used == 0) return (void)fuse_reply_err(req, err);
  fuse_reply_buf(req, buf.data(), used);
}

void CachedFs::ReleaseDir(fuse_file_info* fi) {
  DirHandle* d = Dir(fi);
  closedir(d->dp);
  delete d;
}

void CachedFs::StatFs(fuse_req_t req, fuse_ino_t ino) {
  struct statvfs st;
  if (fstatvfs(inodes_.Get(ino).fd, &st) != 0) return (void)fuse_reply_err(req, errno);
  fuse_reply_statfs(req, &st);
}

// xattrs go through /proc/self/fd (O_PATH descriptors have no f*xattr).
// A symlink's own xattrs cannot be reached that way without following it.
void CachedFs::GetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  ++counters_.getxattr_requests;
  Inode& inode = inodes_.Get(ino);
  if (inode.type == S_IFLNK) return (void)fuse_reply_err(req, EPERM);
  std::string path = ProcPath(inode.fd);
  if (size == 0) {
    ssize_t n = getxattr(path.c_str(), name, nullptr, 0);
    return n < 0 ? (void)fuse_reply_err(req, errno) : (void)fuse_reply_xattr(req, static_cast<size_t>(n));
  }
  std::vector<char> value(size);
  ssize_t n = getxattr(path.c_str(), name, value.data(), size);
  if (n < 0) return (void)fuse_reply_err(req, errno);
  fuse_reply_buf(req, value.data(), static_cast<size_t>(n));
}

void CachedFs::ListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Inode& inode = inodes_.Get(ino);
  if (inode.type == S_IFLNK) return (void)fuse_reply_err(req, EPERM);
  std::string path = ProcPath(inode.fd);
  if (size == 0) {
    ssize_t n = listxattr(path.c_str(), nullptr, 0);
    return n < 0 ? (void)fuse_reply_err(req, errno) : (void)fuse_reply_xattr(req, static_cast<size_t>(n));
  }
  std::vector<char> value(size);
  ssize_t n = listxattr(path.c_str(), value.data(), size);
  if (n < 0) return (void)fuse_reply_err(req, errno);
  fuse_reply_buf(req, value.data(), static_cast<size_t>(n));
}

void CachedFs::SetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size, int flags) {
  Inode& inode = inodes_.Get(ino);
  if (inode.type == S_IFLNK) return (void)fuse_reply_err(req, EPERM);
  int rc = setxattr(ProcPath(inode.fd).c_str(), name, value, size, flags);
  fuse_reply_err(req, rc == 0 ? 0 : errno);
}

void CachedFs::RemoveXattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  Inode& inode = inodes_.Get(ino);
  if (inode.type == S_IFLNK) return (void)fuse_reply_err(req, EPERM);
  int rc = removexattr(ProcPath(inode.fd).c_str(), name);
  fuse_reply_err(req, rc == 0 ? 0 : errno);
}

const fuse_lowlevel_ops& CachedFs::Ops() {
  static const fuse_lowlevel_ops ops = [] {
    fuse_lowlevel_ops o{};
    o.init = [](void* userdata, fuse_conn_info* conn) { static_cast<CachedFs*>(userdata)->Init(conn); };
    o.lookup = [](fuse_req_t req, fuse_ino_t parent, const char* name) { Fs(req).Lookup(req, parent, name); };
    o.forget = [](fuse_req_t req, fuse_ino_t ino, uint64_t n) {
      Fs(req).Forget(ino, n);
      fuse_reply_none(req);
    };
    o.forget_multi = [](fuse_req_t req, size_t count, fuse_forget_data* forgets) {
      for (size_t i = 0; i < count; ++i) Fs(req).Forget(forgets[i].ino, forgets[i].nlookup);
      fuse_reply_none(req);
    };
    o.getattr = [](fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) { Fs(req).GetAttr(req, ino, fi); };
    o.setattr = [](fuse_req_t req, fuse_ino_t ino, struct stat* attr, int valid, fuse_file_info* fi) {
      Fs(req).SetAttr(req, ino, attr, valid, fi);
    };
    o.readlink = [](fuse_req_t req, fuse_ino_t ino) { Fs(req).ReadLink(req, ino); };
    o.mknod = [](fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
      Fs(req).MakeNode(req, parent, name, mode, rdev, nullptr);
    };
    o.mkdir = [](fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
      Fs(req).MakeNode(req, parent, name, S_IFDIR | mode, 0, nullptr);
    };
    o.symlink = [](fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
      Fs(req).MakeNode(req, parent, name, S_IFLNK, 0, link);
    };
    o.link = [](fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char* name) {
      Fs(req).Link(req, ino, parent, name);
    };
    o.unlink = [](fuse_req_t req, fuse_ino_t parent, const char* name) { Fs(req).Unlink(req, parent, name, false); };
    o.rmdir = [](fuse_req_t req, fuse_ino_t parent, const char* name) { Fs(req).Unlink(req, parent, name, true); };
    o.rename = [](fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent, const char* newname,
                  unsigned int flags) { Fs(req).Rename(req, parent, name, newparent, newname, flags); };
    o.open = [](fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) { Fs(req).Open(req, ino, fi); };
    o.create = [](fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
      Fs(req).Create(req, parent, name, mode, fi);
    };
    o.read = [](fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
      Fs(req).Read(req, ino, size, off, fi);
    };
    o.write = [](fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
      Fs(req).Write(req, ino, buf, size, off, fi);
    };
    o.flush = [](fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
      // close() of a duplicate reports deferred write errors (NFS) like close would.
      int rc = close(dup(static_cast<int>(fi->fh)));
      fuse_reply_err(req, rc == 0 ? 0 : errno);
    };
    o.release = [](fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
      close(static_cast<int>(fi->fh));
      fuse_reply_err(req, 0);
    };
    o.fsync = [](fuse_req_t req, fuse_ino_t, int datasync, fuse_file_info* fi) {
      int fd = static_cast<int>(fi->fh);
      int rc = datasync ? fdatasync(fd) : fsync(fd);
      fuse_reply_err(req, rc == 0 ? 0 : errno);
    };
    o.fallocate = [](fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length, fuse_file_info* fi) {
      Fs(req).Fallocate(req, ino, mode, offset, length, fi);
    };
    o.opendir = [](fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) { Fs(req).OpenDir(req, ino, fi); };
    o.readdir = [](fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
      Fs(req).ReadDir(req, ino, size, off, fi, false);
    };
    o.readdirplus = [](fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
      Fs(req).ReadDir(req, ino, size, off, fi, true);
    };
    o.releasedir = [](fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
      Fs(req).ReleaseDir(fi);
      fuse_reply_err(req, 0);
    };
    o.fsyncdir = [](fuse_req_t req, fuse_ino_t, int datasync, fuse_file_info* fi) {
      int fd = dirfd(Dir(fi)->dp);
      int rc = datasync ? fdatasync(fd) : fsync(fd);
      fuse_reply_err(req, rc == 0 ? 0 : errno);
    };
    o.statfs = [](fuse_req_t req, fuse_ino_t ino) { Fs(req).StatFs(req, ino); };
    o.setxattr = [](fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size, int flags) {
      Fs(req).SetXattr(req, ino, name, value, size, flags);
    };
    o.getxattr = [](fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
      Fs(req).GetXattr(req, ino, name, size);
    };
    o.listxattr = [](fuse_req_t req, fuse_ino_t ino, size_t size) { Fs(req).ListXattr(req, ino, size); };
    o.removexattr = [](fuse_req_t req, fuse_ino_t ino, const char* name) { Fs(req).RemoveXattr(req, ino, name); };
    return o;
  }();
  return ops;
}

const fuse_lowlevel_ops& CachedFs::ReadOnlyOps() {
  // The kernel refuses writes to an `ro` mount before they reach us; this
  // makes the mount refuse them itself too, so nothing it is sent (a request
  // of a remount, a kernel that passes one on) changes the backing.
  static const fuse_lowlevel_ops ops = [] {
    fuse_lowlevel_ops o = Ops();
    o.setattr = [](fuse_req_t req, fuse_ino_t, struct stat*, int, fuse_file_info*) { fuse_reply_err(req, EROFS); };
    o.mknod = [](fuse_req_t req, fuse_ino_t, const char*, mode_t, dev_t) { fuse_reply_err(req, EROFS); };
    o.mkdir = [](fuse_req_t req, fuse_ino_t, const char*, mode_t) { fuse_reply_err(req, EROFS); };
    o.symlink = [](fuse_req_t req, const char*, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); };
    o.link = [](fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); };
    o.unlink = [](fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); };
    o.rmdir = [](fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); };
    o.rename = [](fuse_req_t req, fuse_ino_t, const char*, fuse_ino_t, const char*, unsigned int) {
      fuse_reply_err(req, EROFS);
    };
    o.open = [](fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
      if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC) != 0) return (void)fuse_reply_err(req, EROFS);
      Fs(req).Open(req, ino, fi);
    };
    o.create = [](fuse_req_t req, fuse_ino_t, const char*, mode_t, fuse_file_info*) { fuse_reply_err(req, EROFS); };
    o.write = [](fuse_req_t req, fuse_ino_t, const char*, size_t, off_t, fuse_file_info*) {
      fuse_reply_err(req, EROFS);
    };
    o.fallocate = [](fuse_req_t req, fuse_ino_t, int, off_t, off_t, fuse_file_info*) { fuse_reply_err(req, EROFS); };
    o.setxattr = [](fuse_req_t req, fuse_ino_t, const char*, const char*, size_t, int) { fuse_reply_err(req, EROFS); };
    o.removexattr = [](fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); };
    return o;
  }();
  return ops;
}

}  // namespace cleancache::fuse
