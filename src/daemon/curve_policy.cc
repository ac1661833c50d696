#include "daemon/curve_policy.h"

#include <algorithm>
#include <cmath>

namespace cleancache::daemon {
namespace {

// Gives `amount` to tenants below their max, by weight, a few rounds (a
// tenant hitting its max hands the rest of its part to the others).
void SpreadByWeight(uint64_t amount, const std::vector<CurveTenantInput>& tenants, const std::vector<uint64_t>& max,
                    std::vector<uint64_t>* alloc) {
  for (int round = 0; round < 8 && amount > 0; ++round) {
    uint64_t weights = 0;
    for (size_t i = 0; i < tenants.size(); ++i) {
      if ((*alloc)[i] < max[i]) weights += tenants[i].weight;
    }
    if (weights == 0) return;
    uint64_t given = 0;
    for (size_t i = 0; i < tenants.size(); ++i) {
      if ((*alloc)[i] >= max[i]) continue;
      const uint64_t part = static_cast<uint64_t>(static_cast<unsigned __int128>(amount) * tenants[i].weight / weights);
      const uint64_t take = std::min(part, max[i] - (*alloc)[i]);
      (*alloc)[i] += take;
      given += take;
    }
    if (given == 0) {  // rounding left less than one byte per weight: first with room takes it
      for (size_t i = 0; i < tenants.size(); ++i) {
        if ((*alloc)[i] < max[i]) {
          const uint64_t take = std::min(amount, max[i] - (*alloc)[i]);
          (*alloc)[i] += take;
          given += take;
          break;
        }
      }
    }
    amount -= given;
  }
}

}  // namespace

CurveBounds CurveTenantBounds(uint64_t capacity, const std::vector<CurveTenantInput>& tenants,
                              const CurvePolicyOptions& options) {
  CurveBounds b;
  uint64_t weights = 0;
  for (const auto& t : tenants) weights += t.weight;
  for (const auto& t : tenants) {
    const uint64_t share =
        weights == 0 ? 0 : static_cast<uint64_t>(static_cast<unsigned __int128>(capacity) * t.weight / weights);
    const uint64_t max = t.cap != 0 ? std::min(t.cap, capacity) : capacity;
    b.share.push_back(std::min(share, max));
    b.max.push_back(max);
    b.min.push_back(
        std::min(max, static_cast<uint64_t>(std::clamp(options.min_share, 0.0, 1.0) * static_cast<double>(share))));
  }
  return b;
}

double CurveHits(const std::vector<CurveTenantInput>& tenants, const std::vector<uint64_t>& allocation) {
  double hits = 0;
  for (size_t i = 0; i < tenants.size() && i < allocation.size(); ++i) {
    if (tenants[i].hit_ratio && tenants[i].reads > 0) hits += tenants[i].reads * tenants[i].hit_ratio(allocation[i]);
  }
  return hits;
}

std::vector<uint64_t> PlanCurveTargets(uint64_t capacity, const std::vector<CurveTenantInput>& tenants,
                                       const CurvePolicyOptions& options) {
  const CurveBounds b = CurveTenantBounds(capacity, tenants, options);
  std::vector<uint64_t> alloc = b.min;
  uint64_t used = 0;
  for (uint64_t m : alloc) used += m;
  uint64_t left = capacity > used ? capacity - used : 0;
  const uint32_t granules = std::max<uint32_t>(1, options.granules);
  const uint64_t g = std::max<uint64_t>(1, capacity / granules);
  // Each tenant's hits at its minimum + j granules, j = 0..granules.
  std::vector<std::vector<double>> table(tenants.size());
  for (size_t i = 0; i < tenants.size(); ++i) {
    table[i].resize(granules + 1, 0.0);
    if (!tenants[i].hit_ratio || tenants[i].reads <= 0) continue;
    for (uint32_t j = 0; j <= granules; ++j) {
      table[i][j] = tenants[i].reads * tenants[i].hit_ratio(std::min(b.max[i], b.min[i] + j * g));
    }
  }
  std::vector<uint32_t> taken(tenants.size(), 0);  // granules given to each
  while (left >= g) {
    double best_rate = 0;
    size_t best_i = 0;
    uint32_t best_k = 0;
    for (size_t i = 0; i < tenants.size(); ++i) {
      const uint64_t room = b.max[i] > alloc[i] ? b.max[i] - alloc[i] : 0;
      const uint64_t most = std::min<uint64_t>({left / g, room / g, granules - taken[i]});
      for (uint32_t k = 1; k <= most; ++k) {
        const double rate = (table[i][taken[i] + k] - table[i][taken[i]]) / k;
        // Strictly better only: ties go to the lower index, the smaller k.
        if (rate > best_rate * (1 + 1e-12) + 1e-15) {
          best_rate = rate;
          best_i = i;
          best_k = k;
        }
      }
    }
    if (best_k == 0) break;  // nobody gains from more memory
    alloc[best_i] += best_k * g;
    taken[best_i] += best_k;
    left -= best_k * g;
  }
  SpreadByWeight(left, tenants, b.max, &alloc);
  return alloc;
}

CurvePolicyState NextCurveTargets(uint64_t capacity, const std::vector<CurveTenantInput>& tenants,
                                  const CurvePolicyOptions& options, CurvePolicyState state) {
  const CurveBounds b = CurveTenantBounds(capacity, tenants, options);
  if (state.targets.size() != tenants.size()) {
    state.targets = b.share;
    state.plan.clear();
  }
  if (state.plan.size() != tenants.size()) state.plan = state.targets;
  // Bounds may have moved (a reload changed a weight or cap): keep within.
  auto clamp = [&b](std::vector<uint64_t>& v) {
    for (size_t i = 0; i < v.size(); ++i) v[i] = std::clamp(v[i], b.min[i], std::max(b.min[i], b.max[i]));
  };
  clamp(state.targets);
  clamp(state.plan);
  double reads = 0;
  for (const auto& t : tenants) reads += std::max(0.0, t.reads);
  const std::vector<uint64_t> fresh = PlanCurveTargets(capacity, tenants, options);
  if (CurveHits(tenants, fresh) > CurveHits(tenants, state.plan) + options.hysteresis * reads) state.plan = fresh;
  // Step toward the plan: one factor for every tenant keeps the sum within
  // the capacity (a convex combination of two allocations that are).
  uint64_t largest = 0;
  for (size_t i = 0; i < tenants.size(); ++i) {
    const uint64_t d =
        state.plan[i] > state.targets[i] ? state.plan[i] - state.targets[i] : state.targets[i] - state.plan[i];
    largest = std::max(largest, d);
  }
  const uint64_t step = std::max<uint64_t>(1, static_cast<uint64_t>(options.max_step * static_cast<double>(capacity)));
  if (largest <= step) {
    state.targets = state.plan;
    return state;
  }
  const double f = static_cast<double>(step) / static_cast<double>(largest);
  for (size_t i = 0; i < tenants.size(); ++i) {
    const double t = static_cast<double>(state.targets[i]);
    const double p = static_cast<double>(state.plan[i]);
    // Rounded down: the sum never passes the capacity, and a target stays
    // between its old value and the plan's (both integers).
    state.targets[i] = static_cast<uint64_t>(std::floor(t + f * (p - t)));
  }
  return state;
}

}  // namespace cleancache::daemon
