// Reads of backing files that leave no copy in the backing's page cache.
//
// Why: the mount keeps the pages it reads in its own caches (the kernel's
// page cache of the FUSE file, cleancache); a buffered read of the backing
// file would keep a third copy, charged to the same memory budget (measured
// with bench/value in a 512 MiB cgroup: 18-82 MiB of backing page cache
// beside 251 MiB of cleancache). The backing's cache is worth nothing to the
// mount: every later read of the page is served from the mount's caches.
//
// How: preadv2(RWF_DONTCACHE) (Linux 6.14+, on filesystems that opt in:
// ext4, xfs, btrfs...) reads through the page cache and drops the pages it
// brought in once copied, leaving pages that were cached before alone (a
// writer's dirty pages, another reader's). Where the filesystem refuses it
// (EOPNOTSUPP: older kernels, tmpfs, NFS...), a plain pread is followed by
// POSIX_FADV_DONTNEED of the range read, which drops the clean pages of that
// range whoever cached them. BackingCache::kKeep reads plainly.
// Thread safety: stateless but for the caller's `lacks_dontcache` flag.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>

namespace cleancache::fuse {

enum class BackingCache { kDrop, kKeep };

// Reads out.size() bytes at `offset` of `fd` (short only at end of file).
// Returns the bytes read or -errno. `lacks_dontcache` remembers, per file,
// that its filesystem refused RWF_DONTCACHE (set on the first refusal).
long ReadBacking(int fd, std::span<uint8_t> out, uint64_t offset, BackingCache mode,
                 std::atomic<bool>& lacks_dontcache);

}  // namespace cleancache::fuse
