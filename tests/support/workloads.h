// Randomized multi-threaded workloads that check a Cleancache pool against
// the contract. Both are bounded in operations and in time.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "cleancache/cleancache.hpp"

namespace cleancache::testing {

struct WorkloadOptions {
  int threads = 4;
  int max_ops_per_thread = 20000;
  std::chrono::milliseconds time_limit{400};
  uint64_t seed = 1;
};

struct WorkloadReport {
  uint64_t ops = 0;
  uint64_t hits = 0;
  uint64_t misses = 0;
  std::vector<std::string> violations;  // empty when the pool kept the contract
};

// Each thread owns disjoint keys and checks every get against its own exact
// model of what the pool may hold: a hit must return the last version put
// (and, on private pools, consumes it); after a miss or an invalidation the
// key must miss until the next put. With `misses_allowed` false, a miss of a
// page the model holds is also a violation (for backends that never drop
// pages under light load).
WorkloadReport RunOwnedKeysWorkload(Cleancache& cache, PoolId pool, uint32_t page_size, bool exclusive_gets,
                                    bool misses_allowed, const WorkloadOptions& options);

// All threads put distinct versions to the same few keys, get and invalidate
// them; the recorded history is judged by CheckHistory (history_checker.h).
WorkloadReport RunSharedKeysRace(Cleancache& cache, PoolId pool, uint32_t page_size, bool exclusive_gets,
                                 const WorkloadOptions& options);

}  // namespace cleancache::testing
