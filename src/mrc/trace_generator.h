// Synthetic page-access traces with known shapes, for checking miss-ratio
// curves against real replays (`cleancache replay --generate`, docs/MRC.md).
//
// Workloads over `pages` distinct pages (grouped into files of
// `pages_per_file`), `accesses` reads in all:
//   zipf      rank k drawn with probability ~ 1/k^zipf_exponent (Gray et
//             al.'s O(1) inversion, as YCSB), ranks scattered over the pages
//   uniform   every page equally likely
//   scan-hot  `hot_share` of the pages form a hot set read uniformly by
//             `hot_ratio` of the accesses; the others read the remaining
//             pages in one sequential scan that wraps around
//   shift     zipf over pages [0, pages) for the first half of the accesses,
//             over a disjoint set [pages, 2 x pages) for the second half
// Deterministic: std::mt19937_64's raw output only (fixed by the standard).
// Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cleancache/page_trace.h"
#include "cleancache/status.h"

namespace cleancache::mrc {

enum class Workload { kZipf, kUniform, kScanHot, kShift };

Result<Workload> ParseWorkload(std::string_view name);  // "zipf", "uniform", "scan-hot", "shift"
const char* WorkloadName(Workload workload);

struct GeneratorOptions {
  Workload workload = Workload::kZipf;
  uint64_t pages = 131072;  // 512 MiB of 4 KiB pages
  uint64_t accesses = 1 << 20;
  double zipf_exponent = 0.8;  // in (0, 1)
  double hot_share = 0.125;    // scan-hot: hot set = 1/8 of the pages
  double hot_ratio = 0.5;      // scan-hot: share of reads that go to the hot set
  uint64_t pages_per_file = 256;
  uint32_t page_size = 4096;
  uint64_t seed = 1;
};

// InvalidArgument naming a bad option.
Status CheckGeneratorOptions(const GeneratorOptions& options);
PageTrace GenerateTrace(const GeneratorOptions& options);

}  // namespace cleancache::mrc
