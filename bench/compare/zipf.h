// Zipf-distributed page accesses for the hit-ratio run: item of rank k (1..n)
// is drawn with probability proportional to 1 / k^exponent, and ranks are
// mapped to pages by a seeded shuffle, so popularity does not follow corpus
// order. Deterministic: std::mt19937_64's raw output is fixed by the C++
// standard, and no std:: distribution is used.
// Pure function; safe from any thread.
#pragma once

#include <cstdint>
#include <vector>

namespace cleancache::compare {

struct ZipfOptions {
  uint64_t items = 0;  // pages 0 .. items-1
  double exponent = 0.99;
  uint64_t accesses = 0;
  uint64_t seed = 1;
};

std::vector<uint32_t> ZipfAccesses(const ZipfOptions& options);

}  // namespace cleancache::compare
