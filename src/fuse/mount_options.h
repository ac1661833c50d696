// Options of one `cleancache mount`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cleancache/backend.h"
#include "fuse/backing_read.h"
#include "fuse/stats_socket.h"

namespace cleancache::fuse {

enum class WatchScope { kAuto, kFilesystem, kDirectories, kOff };

struct MountOptions {
  std::string backing;     // directory whose pages are cached
  std::string mountpoint;  // where the cached view appears
  std::string backend_spec = "zcache";
  // The most memory the mount's cleancache may hold (zcache backends; see
  // memory_governor.h, which keeps it below what the cgroup can spare):
  // memory_bytes if set, else memory_percent of the limit (the memory
  // cgroup's, or the machine's), else all of a cgroup's limit or a quarter
  // of the machine's memory. A `capacity=` in the spec caps it too.
  uint64_t memory_bytes = 0;
  unsigned memory_percent = 0;
  // 0: the kernel page cache is the primary (keep_cache); otherwise the
  // mount's own PageCache of this many bytes is (the kernel is told direct_io).
  uint64_t primary_bytes = 0;
  // Kernel mode: pages read wait in a queue of this many bytes to be put by a
  // background thread in idle CPU time (0: put on the FUSE worker thread).
  uint64_t put_queue_bytes = 16ull << 20;
  // Scan resistance (stream_admission.h): pages of long sequential reads
  // are cached only while cleancache has room or on their second touch.
  bool stream_admission = true;
  uint64_t stream_window_pages = 1u << 18;  // doorkeeper keys (RunMount sizes it from the memory)
  // kDrop: reads of the backing leave no copy in its page cache.
  BackingCache backing_cache = BackingCache::kDrop;
  std::optional<Uuid> shared_uuid;  // join this shared pool instead of a private one
  // Watching the backing for changes behind the mount's back
  // (backing_watcher.h): kAuto takes the whole filesystem where it may (root),
  // else each directory looked up.
  WatchScope watch_scope = WatchScope::kAuto;
  double timeout_seconds = 1.0;  // kernel attribute / entry cache timeout
  unsigned max_threads = 0;      // 0 = libfuse default
  bool debug = false;            // libfuse request log on stderr
  bool allow_nonempty = false;   // mount over a directory that has entries (hiding them)
  // Read-only: the kernel mount is `ro` and every operation that would change
  // the backing is refused with EROFS by the mount itself too.
  bool read_only = false;
  // Options for the kernel mount and libfuse (`-o`: allow_other, nosuid,
  // noexec...), checked by the caller against what libfuse accepts.
  std::vector<std::string> kernel_options;
  // Who may read `cleancache stats` of this mount (stats_socket.h).
  StatsAccess stats_access;
  // "127.x.y.z:PORT": Prometheus text at http://ADDRESS/metrics; "" = off.
  std::string metrics_address;
  // Record the pool's page accesses (gets, puts, invalidations as the
  // backend sees them) to this file in page_trace.h's format, up to
  // trace_max_bytes (then recording stops, with a log line); "" = off.
  std::string trace_path;
  uint64_t trace_max_bytes = 64ull << 20;
};

}  // namespace cleancache::fuse
