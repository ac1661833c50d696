#include "compare/zipf.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace cleancache::compare {

std::vector<uint32_t> ZipfAccesses(const ZipfOptions& options) {
  std::vector<uint32_t> out;
  if (options.items == 0) return out;
  std::mt19937_64 rng(options.seed);
  // Rank -> page: Fisher-Yates with the generator's raw output.
  std::vector<uint32_t> page_of_rank(options.items);
  std::iota(page_of_rank.begin(), page_of_rank.end(), 0u);
  for (uint64_t i = options.items - 1; i > 0; --i) std::swap(page_of_rank[i], page_of_rank[rng() % (i + 1)]);
  // Cumulative weights; a draw is a binary search for a uniform point.
  std::vector<double> cumulative(options.items);
  double total = 0;
  for (uint64_t k = 0; k < options.items; ++k) {
    total += 1.0 / std::pow(static_cast<double>(k + 1), options.exponent);
    cumulative[k] = total;
  }
  out.reserve(options.accesses);
  for (uint64_t i = 0; i < options.accesses; ++i) {
    const double point = static_cast<double>(rng() >> 11) * 0x1p-53 * total;
    const auto rank =
        static_cast<uint64_t>(std::upper_bound(cumulative.begin(), cumulative.end(), point) - cumulative.begin());
    out.push_back(page_of_rank[std::min(rank, options.items - 1)]);
  }
  return out;
}

}  // namespace cleancache::compare
