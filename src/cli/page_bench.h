// PageBench: the measurement behind `cleancache bench`. Puts every page of a
// corpus through a Cleancache instance, then gets every page back and checks
// each hit byte for byte against the original.
//
// Pages are keyed by their source file (FileKey::FromInode(device, inode) of
// the corpus file) and their index inside that file. With T threads the pages
// are cut into T contiguous ranges, one per thread. Put and get rates are the
// bytes of all pages divided by the busiest thread's time in put or get calls
// (verification is done between timed batches and not counted).
// Thread safety: each call opens its own pool, so calls may run concurrently
// on one Cleancache; the progress callback runs on the calling thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "cleancache/cleancache.hpp"
#include "cleancache/corpus.h"

namespace cleancache {

struct PageBenchOptions {
  unsigned threads = 1;
  // Called about ten times a second while a phase runs: ("put" | "get", pages done, pages in all).
  std::function<void(const char* phase, uint64_t done, uint64_t total)> progress;
};

struct PageBenchReport {
  uint64_t pages = 0;
  uint32_t page_size = 0;
  unsigned threads = 0;
  double put_seconds = 0;  // busiest thread
  double get_seconds = 0;  // busiest thread
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t mismatches = 0;      // hits whose bytes differ from what was put
  uint64_t first_mismatch = 0;  // corpus page index of the first one (if any)
  BackendStats after_put;       // backend figures once every page was put
  PoolCounters counters;        // the pool's shim counters at the end

  uint64_t bytes() const { return pages * page_size; }
  double PutMegabytesPerSecond() const { return put_seconds > 0 ? bytes() / put_seconds / 1e6 : 0; }
  double GetMegabytesPerSecond() const { return get_seconds > 0 ? bytes() / get_seconds / 1e6 : 0; }
};

// Opens a private pool of the corpus' page size on `cache` (which must have a
// backend), runs the bench and ends the pool. An error only if the pool is
// refused; a mismatch is reported in the result, not as an error.
Result<PageBenchReport> RunPageBench(Cleancache& cache, const PageCorpus& corpus, const PageBenchOptions& options);

}  // namespace cleancache
