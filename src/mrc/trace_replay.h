// TraceReplay: the measurement behind `cleancache replay`. Replays a page
// trace through a real backend at several capacities and, in the first pass,
// feeds a MissRatioCurve, so each capacity's measured hit ratio stands next to
// the curve's prediction.
//
// Model: a second-chance cache fed by reads. Each capacity gets a fresh
// backend from the one spec parser with `capacity=` set, behind a Cleancache
// shim, in one shared pool (the mount's kernel-primary model: a get leaves the
// page in place). A get record is a read: GetPage, and PutPage on a miss
// (unless the trace says its puts are recorded: a mount's trace, where the
// put after a miss is a record of its own); a put record is a PutPage; an
// invalidate record an InvalidatePage. Records
// of different pool ordinals use different file keys in that one pool.
// Page data: a synthetic corpus (`distinct_contents` pages of the given
// compressibility, corpus.h); a page's content is picked by its hash, so it is
// the same on every access and capacity, and the codec's work is real.
// Sizes for the curve: the record's compressed size when the trace has it,
// else the size the backend's own codec gives the page's content (measured
// once per content page by putting it into a scratch backend of the same
// spec), plus the backend's per-page metadata (kZcachePageOverhead).
// The curve's memory budget is 1% of the largest capacity
// (MissRatioCurveOptions::ForCapacity).
// Prediction: the curve at UsableBytes(capacity): a backend that evicts a
// segment at a time per shard (zcache: Stats().extra "shards" and
// "segment_size") holds on average half a segment per shard empty, so pages
// get capacity - shards x segment / 2 (8 x 0.5 MiB = 4 MiB of a 32 MiB
// default zcache; docs/MRC.md measures the difference).
// Not thread-safe: one replay per object; the progress callback runs on the
// calling thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cleancache/backend.h"
#include "cleancache/backend_spec.h"
#include "cleancache/miss_ratio_curve.h"
#include "cleancache/page_trace.h"
#include "cleancache/status.h"

namespace cleancache::mrc {

// zcache's metadata per stored page: a 32-byte entry (slot_table.h), a
// 6-byte object header in the segment (ARCHITECTURE.md, "A page on put") and
// its 4-byte hash bucket (1 to 2 per entry: the table doubles), ~6 B.
inline constexpr uint32_t kZcachePageOverhead = 44;

struct ReplayOptions {
  std::string backend{kDefaultBackendSpec};
  std::vector<uint64_t> capacities;  // bytes, each > 0
  double compressibility = 0.5;      // of the synthetic page contents (0..1)
  uint64_t distinct_contents = 4096;
  uint64_t seed = 1;
  double curve_memory_share = 0.01;
  // 0: twice ForCapacity's (0.08 at 1%): a replay runs offline, so it spends
  // its memory bound (the same) on accuracy, not on per-access cost.
  // 1: exact while the footprint fits.
  double curve_initial_rate = 0;
  // (capacity index, records done, records in all), about 10 times a second.
  std::function<void(size_t, uint64_t, uint64_t)> progress;
};

struct ReplayPoint {
  uint64_t capacity_bytes = 0;
  uint64_t reads = 0;
  uint64_t hits = 0;
  double measured = 0;        // hits / reads
  uint64_t usable_bytes = 0;  // UsableBytes(capacity_bytes, stats)
  double predicted = 0;       // the curve at usable_bytes
  BackendStats stats;         // at the end of the run
};

struct ReplayReport {
  std::string backend_name;  // of the first capacity's backend
  uint64_t records = 0;
  uint64_t reads = 0;
  double mean_page_bytes = 0;  // sizes fed to the curve, metadata included
  std::vector<ReplayPoint> points;
  MissRatioCurve::Snapshot curve;
  uint64_t curve_max_samples = 0;
  uint64_t curve_memory_bytes = 0;
};

// The spec `text` with its capacity set to `capacity` (replacing any given),
// checked in full (CheckBackendSpec): InvalidArgument for a bad spec or one
// whose backend takes no capacity.
Result<BackendSpec> SpecWithCapacity(std::string_view text, uint64_t capacity);

// The bytes of `capacity` pages can use: capacity - shards x segment / 2 when
// the backend reports both (zcache), else all of it.
uint64_t UsableBytes(uint64_t capacity, const BackendStats& stats);

// Checks every input first (options, every capacity's spec): InvalidArgument.
Status CheckReplayOptions(const ReplayOptions& options);

// InvalidArgument for bad options; other errors when a backend cannot be
// created or a pool opened (a runtime failure).
Result<ReplayReport> ReplayTrace(const PageTrace& trace, const ReplayOptions& options);

}  // namespace cleancache::mrc
