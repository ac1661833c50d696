// The results of one `compare` run: a table on the terminal, a CSV file for
// the chart, and the targets as ratios of figures from this run.
// Pure formatting; no shared state.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "compare/runner.h"

namespace cleancache::compare {

struct Row {
  std::string corpus;  // "machine", "synthetic"
  std::string contestant;
  MemoryBasis basis = MemoryBasis::kProcessMemory;
  uint64_t pages = 0;
  uint64_t original_bytes = 0;
  double put_mb_per_s = 0;  // best of the timed rounds
  double get_mb_per_s = 0;
  uint64_t memory_bytes = 0;
  uint64_t misses = 0;             // throughput get pass, all rounds
  uint64_t mismatches = 0;         // all passes, Zipf included
  std::optional<ZipfResult> zipf;  // bounded contestants only

  double density() const {
    return memory_bytes == 0 ? 0 : static_cast<double>(original_bytes) / static_cast<double>(memory_bytes);
  }
};

void PrintTable(std::FILE* out, const std::vector<Row>& rows);
Status WriteCsv(const std::string& path, const std::vector<Row>& rows);

struct TargetCheck {
  std::string corpus;
  std::string what;   // "put / zram-lz4"
  double ratio = 0;   // ours / peer
  double target = 0;  // ratio must be >= this
  bool met = false;
  std::string skipped;  // non-empty: why there is no figure
};

// Ratios of `ours` against zram-lz4 and rocksdb-lz4, per corpus.
std::vector<TargetCheck> CheckTargets(const std::vector<Row>& rows, const std::string& ours);
void PrintTargets(std::FILE* out, const std::vector<TargetCheck>& checks);

}  // namespace cleancache::compare
