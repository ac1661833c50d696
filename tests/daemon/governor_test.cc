#include "daemon/governor.h"

#include <gtest/gtest.h>

#include <thread>

#include "accounted_store.h"

namespace cleancache::daemon {
namespace {

constexpr uint64_t kPage = 4096;

StoreFactory TestStores() {
  return [](uint64_t capacity) -> Result<std::unique_ptr<Backend>> {
    return std::unique_ptr<Backend>(std::make_unique<testing::AccountedStore>(capacity));
  };
}

struct Filler {
  std::shared_ptr<Tenant> tenant;
  BackendPoolId pool = 0;
  uint64_t next = 0;
  void Put(Governor& g, uint64_t pages) {
    std::vector<uint8_t> page(kPage, 1);
    const FileKey key = FileKey::FromInode(1, 1);
    for (uint64_t i = 0; i < pages; ++i) {
      tenant->store().PutPage(pool, key, next++, page);
      g.AfterPut(*tenant, 1);
    }
  }
};

Filler Make(Governor& g, const std::string& name, uint32_t weight, uint64_t cap = 0) {
  auto t = g.Acquire(name, TenantPolicy{weight, cap});
  EXPECT_TRUE(t.ok());
  Filler f{*t};
  f.pool = *f.tenant->store().OpenPool(PoolConfig{});
  return f;
}

uint64_t Pages(const std::shared_ptr<Tenant>& t) { return t->store().Stats().real_memory_bytes / kPage; }

TEST(DaemonGovernor, OneTenantMayUseTheWholeCapacity) {
  Governor g(400 * kPage, TestStores(), 1);
  Filler a = Make(g, "a", 1);
  a.Put(g, 1000);
  g.Rebalance();
  EXPECT_EQ(Pages(a.tenant), 400u);
}

TEST(DaemonGovernor, SettlesAtWeightedSharesWhenBothFill) {
  Governor g(400 * kPage, TestStores(), 1);
  Filler a = Make(g, "a", 1);
  Filler b = Make(g, "b", 3);
  a.Put(g, 400);
  EXPECT_EQ(Pages(a.tenant), 400u);
  b.Put(g, 1000);
  a.Put(g, 1000);
  b.Put(g, 50);
  g.Rebalance();
  EXPECT_EQ(Pages(a.tenant) + Pages(b.tenant), 400u);
  EXPECT_NEAR(static_cast<double>(Pages(a.tenant)), 100.0, 2.0);
  EXPECT_NEAR(static_cast<double>(Pages(b.tenant)), 300.0, 2.0);
  EXPECT_GT(a.tenant->counters.governor_evicted_bytes.load(), 0u);
}

TEST(DaemonGovernor, AFloodCannotPushOthersBelowTheirShare) {
  Governor g(400 * kPage, TestStores(), 1);
  Filler quiet = Make(g, "quiet", 1);
  Filler flood = Make(g, "flood", 1);
  quiet.Put(g, 150);
  flood.Put(g, 20000);
  EXPECT_GE(Pages(quiet.tenant), 150u);  // below its share of 200: untouched
  EXPECT_LE(Pages(quiet.tenant) + Pages(flood.tenant), 400u);
}

TEST(DaemonGovernor, CapLimitsATenantEvenWithRoomLeft) {
  Governor g(400 * kPage, TestStores(), 1);
  Filler capped = Make(g, "capped", 1, 50 * kPage);
  capped.Put(g, 300);
  EXPECT_EQ(Pages(capped.tenant), 50u);
}

TEST(DaemonGovernor, TenantsLiveWhileHeldAndSnapshotShowsShares) {
  Governor g(400 * kPage, TestStores(), 1);
  Filler a = Make(g, "a", 1);
  {
    Filler b = Make(g, "b", 3);
    a.Put(g, 10);
    b.Put(g, 10);
    auto again = g.Acquire("b", TenantPolicy{});
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->get(), b.tenant.get());
    auto views = g.Snapshot();
    ASSERT_EQ(views.size(), 2u);
    for (const auto& v : views) {
      EXPECT_EQ(v.share_bytes, v.name == "a" ? 100 * kPage : 300 * kPage) << v.name;
      EXPECT_EQ(v.puts, 10u);
    }
  }
  auto views = g.Snapshot();
  ASSERT_EQ(views.size(), 1u);
  EXPECT_EQ(views[0].name, "a");
  EXPECT_EQ(views[0].share_bytes, 400 * kPage);
}

TEST(DaemonGovernor, PoliciesChangeOnLiveTenantsAndTheShareShownHonoursTheCap) {
  Governor g(400 * kPage, TestStores(), 1);
  Filler a = Make(g, "a", 1);
  Filler b = Make(g, "b", 1);
  a.Put(g, 150);
  b.Put(g, 150);
  for (const auto& v : g.Snapshot()) EXPECT_EQ(v.share_bytes, 200 * kPage) << v.name;
  // A lowered cap is enforced at once, and the share shown is the one
  // enforced; a raised cap grows the store (made for the old cap).
  const auto changes = g.SetPolicies([](const Tenant& t) {
    return t.name() == "a" ? TenantPolicy{1, 50 * kPage} : TenantPolicy{1, 0};
  });
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0], "a: weight 1 -> 1, cap none -> 200 KiB");
  EXPECT_LE(Pages(a.tenant), 50u);
  a.Put(g, 100);
  EXPECT_LE(Pages(a.tenant), 50u);  // sampled every page here
  for (const auto& v : g.Snapshot()) EXPECT_EQ(v.share_bytes, v.name == "a" ? 50 * kPage : 200 * kPage) << v.name;
  EXPECT_TRUE(g.SetPolicies([](const Tenant&) { return TenantPolicy{2, 0}; }).size() == 2u);
  a.Put(g, 300);
  EXPECT_GT(Pages(a.tenant), 50u);
}

TEST(DaemonGovernor, ConcurrentTenantsStayWithinCapacity) {
  Governor g(256 * kPage, TestStores(), 8);
  std::vector<Filler> fillers;
  for (int i = 0; i < 4; ++i)
    fillers.push_back(Make(g, std::string("t").append(std::to_string(i)), static_cast<uint32_t>(i + 1)));
  std::vector<std::thread> threads;
  for (auto& f : fillers) threads.emplace_back([&g, &f] { f.Put(g, 2000); });
  for (auto& t : threads) t.join();
  g.Rebalance();
  uint64_t total = 0;
  for (auto& f : fillers) total += Pages(f.tenant);
  EXPECT_LE(total, 256u);
  EXPECT_GE(total, 200u);
}

}  // namespace
}  // namespace cleancache::daemon
