// What tells the mount that a backing file changed behind its back, and the
// cache key that follows from it.
//
// A file's pages are cached under a *versioned* key: the file's identity
// (export handle with generation, or the (dev, ino) fallback) followed by its
// validator (size, mtime ns, ctime ns). Any change to the file moves its
// ctime, so its old pages become unreachable even if nobody invalidated them
// -- this is what makes pages safe to keep across forget/lookup, across
// mounts sharing a pool, and across changes made directly in the backing.
// A validator taken within kRacyWindow of the file's ctime is *racy*: a later
// change in the same timestamp tick would leave it unchanged, so racy files
// are read straight from the backing and never cached until they settle
// (git's "racily clean" rule).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <ctime>

#include "cleancache/file_key.h"

namespace cleancache::fuse {

struct FileValidator {
  int64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;

  static FileValidator FromStat(const struct stat& st);
  friend bool operator==(const FileValidator&, const FileValidator&) = default;
};

// Timestamps are taken from a coarse clock (one tick is 1-10 ms); a margin of
// several ticks covers clock granularity on local filesystems.
inline constexpr int64_t kRacyWindowNs = 30'000'000;

bool IsRacy(const FileValidator& validator, int64_t now_ns);
int64_t RealtimeNowNs();

// An export handle is unique only within its filesystem: a backing tree that
// spans several filesystems (submounts) needs the device too. Fallback
// (dev, ino) keys already carry it and are returned as they are.
FileKey DeviceQualified(const FileKey& identity, dev_t device);

// identity + validator, hashed down when the identity is too long to append.
FileKey VersionedKey(const FileKey& identity, const FileValidator& validator);

}  // namespace cleancache::fuse
