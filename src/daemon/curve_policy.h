// The governor's curve policy (config `policy = curve`): each tenant gets a
// target share of the capacity chosen from the tenants' miss-ratio curves so
// that the hits of all of them together are the most the curves promise
// (Memshare's and Cliffhanger's idea: memory goes where the marginal hits
// per byte are largest), within each tenant's cap and above a guaranteed
// minimum (`min_share` x its weighted share).
//
// Planning (PlanCurveTargets): the capacity is cut into `granules` equal
// parts; every tenant starts at its minimum; then, repeatedly, the tenant
// and extension (1..all remaining granules) with the most hits per byte
// added, reads x (hit ratio after - hit ratio before) / bytes, gets that
// extension. Looking beyond the next granule is what lets a tenant climb a
// cliff (a working set that only pays once it fits whole), where a
// one-granule greedy would see no gain and stop. Granules nobody gains from
// are given out by weight, so the plan is work conserving. O(granules^2 x
// tenants) on tables of each curve at every granule (granules + 1 curve
// reads per tenant per plan).
//
// Stability (NextCurveTargets), so memory does not oscillate on noisy curves:
//  - hysteresis: a fresh plan replaces the one being followed only when its
//    hits beat that plan's by more than `hysteresis` x all reads (0.5% of
//    the hit ratio by default); the first plan replaces the weight split
//    under the same rule;
//  - bounded steps: targets move toward the plan by at most `max_step` x
//    capacity per period, all tenants' moves scaled by one factor, so the
//    targets always sum to at most the capacity.
// Pure functions of their inputs; no locks, no clocks (tests drive them with
// synthetic curves).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace cleancache::daemon {

struct CurvePolicyOptions {
  double min_share = 0.10;     // of a tenant's weighted share, always kept
  uint32_t granules = 64;      // planning resolution: capacity / granules
  double max_step = 1.0 / 16;  // of the capacity, per period, largest target move
  double hysteresis = 0.005;   // of all reads: the gain a new plan must bring
};

struct CurveTenantInput {
  uint32_t weight = 1;
  uint64_t cap = 0;  // 0 = none
  double reads = 0;  // reads per period (the weight of its hit ratio)
  // Hit ratio the tenant would have with this much real memory (monotone).
  std::function<double(uint64_t bytes)> hit_ratio;
};

// Weighted share, minimum and maximum of every tenant.
struct CurveBounds {
  std::vector<uint64_t> share, min, max;
};
CurveBounds CurveTenantBounds(uint64_t capacity, const std::vector<CurveTenantInput>& tenants,
                              const CurvePolicyOptions& options);

// The allocation the curves favour (sums to the capacity, or less when caps
// leave memory nobody may hold).
std::vector<uint64_t> PlanCurveTargets(uint64_t capacity, const std::vector<CurveTenantInput>& tenants,
                                       const CurvePolicyOptions& options);

// Hits per period an allocation gives, per the curves.
double CurveHits(const std::vector<CurveTenantInput>& tenants, const std::vector<uint64_t>& allocation);

// State carried from one period to the next.
struct CurvePolicyState {
  std::vector<uint64_t> targets;  // enforced now; empty = the weight split
  std::vector<uint64_t> plan;     // being followed; empty = none
};
// One period: maybe adopt a fresh plan (hysteresis), then step the targets
// toward the plan. The tenant list must be the same (same order) as in the
// state's previous period; a different size resets the state.
CurvePolicyState NextCurveTargets(uint64_t capacity, const std::vector<CurveTenantInput>& tenants,
                                  const CurvePolicyOptions& options, CurvePolicyState state);

}  // namespace cleancache::daemon
