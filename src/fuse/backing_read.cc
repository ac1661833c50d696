#include "fuse/backing_read.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

// linux/fs.h of Linux 6.14; Debian's headers predate it.
#ifndef RWF_DONTCACHE
#define RWF_DONTCACHE 0x00000080
#endif

namespace cleancache::fuse {

long ReadBacking(int fd, std::span<uint8_t> out, uint64_t offset, BackingCache mode,
                 std::atomic<bool>& lacks_dontcache) {
  bool dontcache = mode == BackingCache::kDrop && !lacks_dontcache.load(std::memory_order_relaxed);
  size_t done = 0;
  while (done < out.size()) {
    iovec io{out.data() + done, out.size() - done};
    ssize_t n = preadv2(fd, &io, 1, static_cast<off_t>(offset + done), dontcache ? RWF_DONTCACHE : 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (dontcache && (errno == EOPNOTSUPP || errno == EINVAL)) {
        lacks_dontcache.store(true, std::memory_order_relaxed);
        dontcache = false;
        continue;
      }
      return -errno;
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  if (mode == BackingCache::kDrop && !dontcache && done > 0) {
    (void)posix_fadvise(fd, static_cast<off_t>(offset), static_cast<off_t>(done), POSIX_FADV_DONTNEED);
  }
  return static_cast<long>(done);
}

}  // namespace cleancache::fuse
