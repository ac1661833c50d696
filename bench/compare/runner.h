// The two measurements of `compare`, for one contestant on one corpus.
//
// Throughput: a fresh store with room for everything; every page put once in
// corpus order (timed as one span), then every page got back in order (timed
// in batches of 64; each batch is checked byte for byte against the corpus
// untimed); the store's memory is taken between the two.
//
// Zipf hit ratio: a read-through cache of bounded real memory. For each
// access, get the page; on a miss, put it. The cache is first warmed with
// `warmup` accesses, then `measured` accesses are counted. Every hit is
// checked against the corpus. Equal real memory: the whole run is repeated
// with the capacity scaled by budget / (process memory held at the end of the
// run) until that memory is within `tolerance` of `budget` or
// `calibration_rounds` runs were made; the last run is reported, with the
// memory it held. Only for bounded contestants measured by process memory.
// Thread safety: one measurement at a time (process memory is process-wide).
#pragma once

#include <cstdint>
#include <vector>

#include "compare/stores.h"

namespace cleancache::compare {

struct ThroughputResult {
  double put_seconds = 0;
  double get_seconds = 0;
  uint64_t memory_bytes = 0;  // per the contestant's MemoryBasis, after all puts
  uint64_t misses = 0;
  uint64_t mismatches = 0;  // hits whose bytes differ from the page put
};

// Which clock times the passes: wall time (what a user waits), or this
// thread's CPU time, user + system (zram's compression runs in the calling
// thread's write and read calls, so it is counted too), which time slices
// lost to other processes on a busy machine do not inflate.
enum class Timing { kWall, kThreadCpu };

Result<ThroughputResult> MeasureThroughput(const Contestant& contestant, const PageCorpus& corpus, const PageIds& ids,
                                           Timing timing = Timing::kWall);

struct ZipfResult {
  uint64_t budget_bytes = 0;
  uint64_t capacity_bytes = 0;  // the capacity the calibration settled on
  uint64_t memory_bytes = 0;    // process memory the store held at the end of the run
  uint64_t accesses = 0;
  uint64_t hits = 0;
  uint64_t mismatches = 0;
  int calibration_rounds = 0;
  double hit_ratio() const { return accesses == 0 ? 0 : static_cast<double>(hits) / static_cast<double>(accesses); }
};

struct ZipfRun {
  const std::vector<uint32_t>* warmup = nullptr;
  const std::vector<uint32_t>* measured = nullptr;
  uint64_t budget_bytes = 0;
  int calibration_rounds = 3;
  double tolerance = 0.02;  // stop calibrating within this share of the budget
};

Result<ZipfResult> MeasureZipf(const Contestant& contestant, const PageCorpus& corpus, const PageIds& ids,
                               const ZipfRun& run);

}  // namespace cleancache::compare
