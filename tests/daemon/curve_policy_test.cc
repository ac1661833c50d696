// The governor's curve policy: the planner and the period step on synthetic
// curves (deterministic, no clocks), then the whole governor with two real
// tenants whose curves come from their own accesses.
#include "daemon/curve_policy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "accounted_store.h"
#include "daemon/governor.h"

namespace cleancache::daemon {
namespace {

constexpr uint64_t kMiB = 1 << 20;

// All of the hit ratio arrives once `size` bytes fit (a loop over a working
// set: LRU hits nothing below it).
std::function<double(uint64_t)> Step(uint64_t size, double ratio) {
  return [=](uint64_t bytes) { return bytes >= size ? ratio : 0.0; };
}
// A scan: memory buys almost nothing (a slope of `per_mib` per MiB, to `top`).
std::function<double(uint64_t)> Flat(double per_mib, double top) {
  return [=](uint64_t bytes) { return std::min(top, per_mib * static_cast<double>(bytes) / kMiB); };
}
// Diminishing returns: ratio x (1 - exp(-bytes / scale)).
std::function<double(uint64_t)> Concave(double ratio, uint64_t scale) {
  return
      [=](uint64_t bytes) { return ratio * (1 - std::exp(-static_cast<double>(bytes) / static_cast<double>(scale))); };
}

uint64_t Sum(const std::vector<uint64_t>& v) {
  uint64_t s = 0;
  for (uint64_t x : v) s += x;
  return s;
}

// Runs `periods` periods from the weight split; returns every period's targets.
std::vector<std::vector<uint64_t>> RunPeriods(uint64_t capacity, const std::vector<CurveTenantInput>& tenants,
                                              const CurvePolicyOptions& options, int periods) {
  std::vector<std::vector<uint64_t>> history;
  CurvePolicyState state;
  for (int p = 0; p < periods; ++p) {
    state = NextCurveTargets(capacity, tenants, options, std::move(state));
    history.push_back(state.targets);
  }
  return history;
}

// A tenant's target never moves up after having moved down, or down after up.
void ExpectNoFlips(const std::vector<std::vector<uint64_t>>& history) {
  for (size_t i = 0; i < history.front().size(); ++i) {
    int direction = 0;
    for (size_t p = 1; p < history.size(); ++p) {
      const int d = history[p][i] > history[p - 1][i] ? 1 : history[p][i] < history[p - 1][i] ? -1 : 0;
      if (d == 0) continue;
      EXPECT_TRUE(direction == 0 || direction == d) << "tenant " << i << " turned back at period " << p;
      direction = d;
    }
  }
}

TEST(CurvePolicy, StepAndFlatCurvesGetTheRightSplit) {
  const uint64_t capacity = 100 * kMiB;
  std::vector<CurveTenantInput> tenants(2);
  tenants[0].reads = 1000;
  tenants[0].hit_ratio = Step(60 * kMiB, 0.9);  // needs 60 MiB, the weight split gives 50
  tenants[1].reads = 1000;
  tenants[1].hit_ratio = Flat(0.0005, 0.05);
  CurvePolicyOptions options;
  const auto plan = PlanCurveTargets(capacity, tenants, options);
  EXPECT_GE(plan[0], 60 * kMiB);
  EXPECT_GE(plan[1], 5 * kMiB);  // its minimum: 10% of 50 MiB
  EXPECT_LE(Sum(plan), capacity);
  // The step tenant takes no more than its cliff needs, to within a granule
  // and its half of the last part-granule: the rest goes to the one that
  // still gains from it.
  EXPECT_LE(plan[0], 60 * kMiB + 2 * (capacity / options.granules));

  const auto history = RunPeriods(capacity, tenants, options, 20);
  // First period: one bounded step (capacity / 16) from the weight split.
  EXPECT_GT(history.front()[0], 50 * kMiB);
  EXPECT_LE(history.front()[0], 50 * kMiB + capacity / 16);
  EXPECT_EQ(history.back(), plan);
  ExpectNoFlips(history);
  EXPECT_GT(CurveHits(tenants, history.back()), 1.5 * CurveHits(tenants, {50 * kMiB, 50 * kMiB}));
}

TEST(CurvePolicy, FlatCurvesKeepTheWeightSplit) {
  const uint64_t capacity = 90 * kMiB;
  std::vector<CurveTenantInput> tenants(3);
  for (size_t i = 0; i < 3; ++i) {
    tenants[i].weight = static_cast<uint32_t>(i + 1);
    tenants[i].reads = 500;
    tenants[i].hit_ratio = [](uint64_t) { return 0.3; };
  }
  const auto history = RunPeriods(capacity, tenants, {}, 5);
  for (const auto& targets : history) EXPECT_EQ(targets, (std::vector<uint64_t>{15 * kMiB, 30 * kMiB, 45 * kMiB}));
}

TEST(CurvePolicy, NeverBreaksCapsOrMinimums) {
  std::mt19937_64 rng(17);
  for (int trial = 0; trial < 40; ++trial) {
    const uint64_t capacity = (64 + rng() % 512) * kMiB;
    std::vector<CurveTenantInput> tenants(2 + rng() % 4);
    for (auto& t : tenants) {
      t.weight = 1 + static_cast<uint32_t>(rng() % 4);
      t.cap = rng() % 3 == 0 ? (8 + rng() % 128) * kMiB : 0;
      t.reads = static_cast<double>(rng() % 10000);
      const uint64_t size = (1 + rng() % 600) * kMiB;
      t.hit_ratio =
          rng() % 2 == 0 ? Step(size, 0.5 + 0.5 * static_cast<double>(rng() % 100) / 100) : Concave(0.9, size);
    }
    CurvePolicyOptions options;
    options.min_share = static_cast<double>(rng() % 50) / 100;
    const CurveBounds bounds = CurveTenantBounds(capacity, tenants, options);
    CurvePolicyState state;
    for (int period = 0; period < 30; ++period) {
      // The reads drift, as live tenants' do.
      for (auto& t : tenants) t.reads = std::max(0.0, t.reads + static_cast<double>(rng() % 200) - 100);
      state = NextCurveTargets(capacity, tenants, options, std::move(state));
      ASSERT_LE(Sum(state.targets), capacity) << "trial " << trial << " period " << period;
      for (size_t i = 0; i < tenants.size(); ++i) {
        ASSERT_GE(state.targets[i], bounds.min[i]) << "trial " << trial << " tenant " << i;
        ASSERT_LE(state.targets[i], bounds.max[i]) << "trial " << trial << " tenant " << i;
      }
    }
  }
}

TEST(CurvePolicy, NoisyCurvesSettleWithoutOscillating) {
  const uint64_t capacity = 256 * kMiB;
  std::mt19937_64 rng(5);
  CurvePolicyOptions options;
  CurvePolicyState state;
  std::vector<std::vector<uint64_t>> history;
  for (int period = 0; period < 60; ++period) {
    // Two concave tenants whose curves wobble by up to 3% per period
    // (sampling noise): the optimum moves a little every period.
    std::vector<CurveTenantInput> tenants(2);
    for (size_t i = 0; i < 2; ++i) {
      const double wobble = 1 + 0.03 * (static_cast<double>(rng() % 2001) / 1000 - 1);
      tenants[i].reads = 1000;
      const uint64_t scale = i == 0 ? 200 * kMiB : 30 * kMiB;  // the optimum: about 173 / 83 MiB
      tenants[i].hit_ratio = Concave(0.9, static_cast<uint64_t>(static_cast<double>(scale) * wobble));
    }
    state = NextCurveTargets(capacity, tenants, options, std::move(state));
    history.push_back(state.targets);
  }
  ExpectNoFlips(history);
  // Settled: the last half of the periods moved nothing.
  for (size_t p = history.size() / 2; p < history.size(); ++p) EXPECT_EQ(history[p], history.back()) << p;
  // And it did move memory to the tenant whose curve keeps rising.
  EXPECT_GT(history.back()[0], 160 * kMiB);
  EXPECT_LT(history.back()[0], 185 * kMiB);
}

TEST(CurvePolicy, SmallGainsDoNotMoveMemory) {
  const uint64_t capacity = 100 * kMiB;
  std::vector<CurveTenantInput> tenants(2);
  tenants[0].reads = 1000;
  tenants[0].hit_ratio = Flat(0.00002, 1);  // +0.1% hit ratio over 50 MiB: below the hysteresis
  tenants[1].reads = 1000;
  tenants[1].hit_ratio = Flat(0, 0);
  const auto history = RunPeriods(capacity, tenants, {}, 10);
  for (const auto& targets : history) EXPECT_EQ(targets, (std::vector<uint64_t>{50 * kMiB, 50 * kMiB}));
}

// The governor with two live tenants: one loops over a working set larger
// than its weighted share (it hits nothing there), one scans. Under the curve
// policy the looping tenant's curve wins it the memory it needs; under the
// weight policy it does not.
struct Live {
  std::shared_ptr<Tenant> tenant;
  BackendPoolId pool = 0;
};

Live Open(Governor& g, const std::string& name) {
  auto t = g.Acquire(name, TenantPolicy{1, 0});
  EXPECT_TRUE(t.ok());
  Live l{*t};
  PoolConfig config;
  config.shared = true;  // keeps pages on get
  config.uuid.bytes[0] = static_cast<uint8_t>(name[0]);
  l.pool = *l.tenant->store().OpenPool(config);
  return l;
}

// Reads pages first..first+count (a miss is put), returns the hits.
uint64_t Read(Governor& g, Live& l, uint64_t first, uint64_t count) {
  std::vector<uint8_t> page(4096, 7);
  const FileKey key = FileKey::FromInode(1, 1);
  uint64_t hits = 0;
  for (uint64_t i = first; i < first + count; ++i) {
    if (l.tenant->store().GetPage(l.pool, key, i, page)) {
      ++hits;
    } else {
      l.tenant->store().PutPage(l.pool, key, i, page);
      g.AfterPut(*l.tenant, 1);
    }
  }
  return hits;
}

double LoopHitRatio(GovernorPolicy policy, uint64_t* scan_memory, uint64_t* scan_min) {
  constexpr uint64_t kPages = 16384;  // 64 MiB
  Governor g(
      kPages * 4096,
      [](uint64_t c) -> Result<std::unique_ptr<Backend>> {
        return std::unique_ptr<Backend>(std::make_unique<testing::AccountedStore>(c));
      },
      16, policy);
  Live loop = Open(g, "loop");
  Live scan = Open(g, "scan");
  uint64_t next_scan = 0, hits = 0;
  for (int period = 0; period < 12; ++period) {
    hits = Read(g, loop, 0, 12000);  // 47 MiB, the weight split gives 32
    Read(g, scan, next_scan, 24000);
    next_scan += 24000;
    g.Rebalance();
  }
  *scan_memory = scan.tenant->store().Stats().real_memory_bytes;
  *scan_min = kPages * 4096 / 2 / 10;  // 10% of its weighted share
  return static_cast<double>(hits) / 12000;
}

TEST(CurvePolicy, GovernorGivesTheLoopingTenantItsWorkingSet) {
  uint64_t scan_memory = 0, scan_min = 0;
  const double weight = LoopHitRatio(GovernorPolicy::kWeight, &scan_memory, &scan_min);
  const double curve = LoopHitRatio(GovernorPolicy::kCurve, &scan_memory, &scan_min);
  EXPECT_LT(weight, 0.05);
  EXPECT_GT(curve, 0.9);
  EXPECT_GE(scan_memory, scan_min);
}

}  // namespace
}  // namespace cleancache::daemon
