// Shim behaviour beyond the backend contract: late registration, refusal of a
// second backend, counters, id allocation, and concurrency of control calls.
#include "cleancache/cleancache.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <climits>
#include <set>
#include <thread>

#include "support/map_backend.h"
#include "support/page_pattern.h"

namespace cleancache::testing {
namespace {

const FileKey kFile = FileKey::FromInode(7, 42);

std::vector<uint8_t> Page(uint64_t version, uint32_t size = 4096) {
  std::vector<uint8_t> page(size);
  FillPage(page, PageTag{1, 0, version});
  return page;
}

Uuid UuidOf(uint8_t b) {
  Uuid uuid;
  uuid.bytes.fill(b);
  return uuid;
}

bool Get(Cleancache& cache, PoolId pool, uint64_t index, std::vector<uint8_t>* out, uint32_t size = 4096) {
  out->assign(size, 0);
  return cache.GetPage(pool, kFile, index, *out);
}

TEST(Shim, PoolsBeforeRegistrationArePlaceholdersThenBound) {
  Cleancache cache;
  EXPECT_FALSE(cache.has_backend());
  const PoolId pool = cache.InitFs();
  ASSERT_GE(pool, 0);
  EXPECT_FALSE(cache.Info(pool)->bound);
  std::vector<uint8_t> got;
  cache.PutPage(pool, kFile, 0, Page(1));  // dropped: no backend yet
  EXPECT_FALSE(Get(cache, pool, 0, &got));
  EXPECT_EQ(cache.Counters(pool).failed_gets, 1u);
  EXPECT_EQ(cache.Counters(pool).puts, 0u);  // only puts handed to a backend count

  ASSERT_TRUE(cache.RegisterBackend(std::make_unique<MapBackend>()).ok());
  EXPECT_TRUE(cache.has_backend());
  EXPECT_TRUE(cache.Info(pool)->bound);
  EXPECT_FALSE(Get(cache, pool, 0, &got));  // the early put was dropped, not queued
  cache.PutPage(pool, kFile, 0, Page(2));
  ASSERT_TRUE(Get(cache, pool, 0, &got));
  EXPECT_EQ(got, Page(2));
}

TEST(Shim, SharedPlaceholdersRejoinTheirPoolByUuid) {
  Cleancache cache;
  const PoolId a = cache.InitSharedFs(UuidOf(1));
  const PoolId b = cache.InitSharedFs(UuidOf(1));
  const PoolId c = cache.InitSharedFs(UuidOf(2));
  const PoolId private_pool = cache.InitFs(8192);
  auto backend = std::make_unique<MapBackend>();
  MapBackend* map = backend.get();
  ASSERT_TRUE(cache.RegisterBackend(std::move(backend)).ok());
  EXPECT_EQ(map->open_handles(), 4u);
  for (PoolId id : {a, b, c, private_pool}) EXPECT_TRUE(cache.Info(id)->bound) << id;
  EXPECT_TRUE(cache.Info(a)->shared);
  EXPECT_EQ(cache.Info(a)->uuid, UuidOf(1));
  EXPECT_EQ(cache.Info(private_pool)->page_size, 8192u);

  cache.PutPage(a, kFile, 3, Page(5));
  std::vector<uint8_t> got;
  ASSERT_TRUE(Get(cache, b, 3, &got));
  EXPECT_EQ(got, Page(5));
  EXPECT_FALSE(Get(cache, c, 3, &got));
  // Joining after registration lands in the same pool too.
  const PoolId late = cache.InitSharedFs(UuidOf(1));
  EXPECT_TRUE(Get(cache, late, 3, &got));
}

TEST(Shim, SecondRegistrationIsRefusedWithBusy) {
  Cleancache cache;
  ASSERT_TRUE(cache.RegisterBackend(std::make_unique<MapBackend>()).ok());
  const PoolId pool = cache.InitFs();
  cache.PutPage(pool, kFile, 0, Page(1));
  Status second = cache.RegisterBackend(std::make_unique<MapBackend>());
  EXPECT_EQ(second.code(), Status::Code::kBusy);
  EXPECT_NE(second.message().find("already registered"), std::string::npos) << second.message();
  EXPECT_NE(second.message().find("map-test-double"), std::string::npos) << second.message();
  std::vector<uint8_t> got;
  EXPECT_TRUE(Get(cache, pool, 0, &got));  // the first backend keeps serving
  EXPECT_EQ(cache.BackendName(), "map-test-double");
}

TEST(Shim, NullBackendIsRefused) {
  Cleancache cache;
  EXPECT_EQ(cache.RegisterBackend(nullptr).code(), Status::Code::kInvalidArgument);
  EXPECT_FALSE(cache.has_backend());
  EXPECT_TRUE(cache.RegisterBackend(std::make_unique<MapBackend>()).ok());
}

TEST(Shim, NoBackendMeansEmptyNameAndZeroStats) {
  Cleancache cache;
  EXPECT_EQ(cache.BackendName(), "");
  EXPECT_EQ(cache.BackendStatistics().pages_stored, 0u);
  ASSERT_TRUE(cache.RegisterBackend(std::make_unique<MapBackend>()).ok());
  const PoolId pool = cache.InitFs();
  cache.PutPage(pool, kFile, 0, Page(1));
  EXPECT_EQ(cache.BackendStatistics().pages_stored, 1u);
}

TEST(Shim, PoolTheBackendRefusesStaysUnboundAndHarmless) {
  Cleancache cache;
  const PoolId early = cache.InitFs();
  auto backend = std::make_unique<MapBackend>();
  MapBackend* map = backend.get();
  map->set_refuse_pools(true);
  ASSERT_TRUE(cache.RegisterBackend(std::move(backend)).ok());
  EXPECT_FALSE(cache.Info(early)->bound);
  cache.PutPage(early, kFile, 0, Page(1));
  std::vector<uint8_t> got;
  EXPECT_FALSE(Get(cache, early, 0, &got));
  // Refusal after registration: no id, and the backend's reason is passed on.
  EXPECT_EQ(cache.InitFs(), kNoPool);
  auto refused = cache.OpenPool(PoolConfig{});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kPermissionDenied);
  map->set_refuse_pools(false);
  const PoolId later = cache.InitFs();
  EXPECT_GT(later, early);
  EXPECT_TRUE(cache.Info(later)->bound);
}

TEST(Shim, CountersPerPoolAndInTotalIncludingEndedPools) {
  Cleancache cache;
  ASSERT_TRUE(cache.RegisterBackend(std::make_unique<MapBackend>()).ok());
  const PoolId a = cache.InitFs();
  const PoolId b = cache.InitFs();
  std::vector<uint8_t> got;
  cache.PutPage(a, kFile, 0, Page(1));
  cache.PutPage(a, kFile, 1, Page(1));
  EXPECT_TRUE(Get(cache, a, 0, &got));
  EXPECT_FALSE(Get(cache, a, 0, &got));
  EXPECT_FALSE(Get(cache, a, 0, &got, 1024));  // wrong size: a failed get
  cache.PutPage(a, kFile, 5, Page(1, 1024));   // wrong size: dropped, not counted
  cache.InvalidatePage(a, kFile, 1);
  cache.InvalidateInode(a, kFile);
  cache.PutPage(b, kFile, 0, Page(1));
  EXPECT_FALSE(Get(cache, b, 9, &got));

  const PoolCounters ca = cache.Counters(a);
  EXPECT_EQ(ca.succ_gets, 1u);
  EXPECT_EQ(ca.failed_gets, 2u);
  EXPECT_EQ(ca.puts, 2u);
  EXPECT_EQ(ca.invalidates, 2u);
  const PoolCounters cb = cache.Counters(b);
  EXPECT_EQ(cb.succ_gets, 0u);
  EXPECT_EQ(cb.failed_gets, 1u);
  EXPECT_EQ(cb.puts, 1u);
  EXPECT_EQ(cb.invalidates, 0u);

  cache.InvalidateFs(a);
  // Calls on the ended pool are not counted; its counts stay in the total.
  EXPECT_FALSE(Get(cache, a, 0, &got));
  cache.PutPage(a, kFile, 0, Page(1));
  const PoolCounters total = cache.TotalCounters();
  EXPECT_EQ(total.succ_gets, 1u);
  EXPECT_EQ(total.failed_gets, 3u);
  EXPECT_EQ(total.puts, 3u);
  EXPECT_EQ(total.invalidates, 2u);
  EXPECT_EQ(cache.Counters(a).failed_gets, 2u);  // final figures of the ended pool
  EXPECT_EQ(cache.Counters(12345).puts, 0u);
  EXPECT_EQ(cache.Counters(-1).puts, 0u);
}

TEST(Shim, BatchedCallsCountPerPage) {
  Cleancache cache;
  const PoolId placeholder = cache.InitFs();
  std::vector<uint8_t> pages(4 * 4096), hit(4, 7);
  EXPECT_EQ(cache.GetPages(placeholder, kFile, 0, 4, pages, hit), 0u);
  EXPECT_EQ(hit, std::vector<uint8_t>(4, 0));
  EXPECT_EQ(cache.Counters(placeholder).failed_gets, 4u);
  ASSERT_TRUE(cache.RegisterBackend(std::make_unique<MapBackend>()).ok());
  cache.PutPages(placeholder, kFile, 0, 4, pages);
  cache.InvalidatePage(placeholder, kFile, 2);
  EXPECT_EQ(cache.GetPages(placeholder, kFile, 0, 4, pages, hit), 3u);
  const PoolCounters c = cache.Counters(placeholder);
  EXPECT_EQ(c.puts, 4u);
  EXPECT_EQ(c.succ_gets, 3u);
  EXPECT_EQ(c.failed_gets, 5u);
  // A range that would wrap past index 2^64-1 is refused.
  cache.PutPages(placeholder, kFile, ~uint64_t{0} - 1, 4, pages);
  EXPECT_EQ(cache.Counters(placeholder).puts, 4u);
}

TEST(Shim, IdsIncreaseAndAreNeverReusedAcrossManyPools) {
  Cleancache cache;
  ASSERT_TRUE(cache.RegisterBackend(std::make_unique<MapBackend>()).ok());
  PoolId previous = kNoPool;
  std::vector<PoolId> live;
  for (int i = 0; i < 300; ++i) {  // crosses several table chunks (64, 128, ...)
    const PoolId id = cache.InitFs(512u << (i % 8));
    ASSERT_GT(id, previous);
    previous = id;
    if (i % 3 == 0) {
      cache.InvalidateFs(id);
    } else {
      live.push_back(id);
    }
  }
  for (PoolId id : live) {
    auto info = cache.Info(id);
    ASSERT_TRUE(info.ok()) << id;
    EXPECT_EQ(info->page_size, 512u << (id % 8));
    std::vector<uint8_t> page(info->page_size);
    FillPage(page, PageTag{1, 0, static_cast<uint64_t>(id)});
    cache.PutPage(id, kFile, 0, page);
    std::vector<uint8_t> got(info->page_size);
    ASSERT_TRUE(cache.GetPage(id, kFile, 0, got));
    EXPECT_EQ(got, page);
  }
  EXPECT_FALSE(cache.Info(0).ok());  // ended
  EXPECT_NE(cache.Info(0).status().message().find("ended"), std::string::npos);
  EXPECT_FALSE(cache.Info(300).ok());
  EXPECT_GT(cache.InitFs(), previous);
}

TEST(Shim, UnknownIdsAreHarmlessAndUncounted) {
  Cleancache cache;
  ASSERT_TRUE(cache.RegisterBackend(std::make_unique<MapBackend>()).ok());
  std::vector<uint8_t> page(4096), hit(1);
  for (PoolId id : {-1, -100, 0, 1, 63, 64, 12345, INT_MAX, INT_MIN}) {
    EXPECT_FALSE(cache.GetPage(id, kFile, 0, page));
    cache.PutPage(id, kFile, 0, page);
    cache.InvalidatePage(id, kFile, 0);
    cache.InvalidateInode(id, kFile);
    EXPECT_EQ(cache.GetPages(id, kFile, 0, 1, page, hit), 0u);
    cache.PutPages(id, kFile, 0, 1, page);
    cache.InvalidateFs(id);
    EXPECT_FALSE(cache.Info(id).ok());
  }
  const PoolCounters total = cache.TotalCounters();
  EXPECT_EQ(total.succ_gets + total.failed_gets + total.puts + total.invalidates, 0u);
}

// Counts ClosePool calls into a counter that outlives the backend.
class ClosePoolProbe : public MapBackend {
 public:
  explicit ClosePoolProbe(int* closed) : closed_(closed) {}
  void ClosePool(BackendPoolId pool) override {
    ++*closed_;
    MapBackend::ClosePool(pool);
  }

 private:
  int* closed_;
};

TEST(Shim, InvalidateFsAndDestructionCloseEachBackendPoolOnce) {
  int closed = 0;
  {
    Cleancache cache;
    const PoolId placeholder = cache.InitFs();
    ASSERT_TRUE(cache.RegisterBackend(std::make_unique<ClosePoolProbe>(&closed)).ok());
    const PoolId a = cache.InitFs(), b = cache.InitSharedFs(UuidOf(1));
    cache.InitFs();
    cache.InvalidateFs(a);
    cache.InvalidateFs(a);  // already ended: no second close
    EXPECT_EQ(closed, 1);
    (void)placeholder;
    (void)b;
  }
  EXPECT_EQ(closed, 4);  // a, then placeholder, b and the last pool at destruction
}

TEST(Shim, InstancesAreIndependent) {
  Cleancache one, two;
  ASSERT_TRUE(one.RegisterBackend(std::make_unique<MapBackend>()).ok());
  ASSERT_TRUE(two.RegisterBackend(std::make_unique<MapBackend>()).ok());  // no global "registered" flag
  const PoolId p1 = one.InitFs(), p2 = two.InitFs();
  EXPECT_EQ(p1, p2);  // each instance numbers its own pools
  one.PutPage(p1, kFile, 0, Page(1));
  std::vector<uint8_t> got;
  EXPECT_FALSE(Get(two, p2, 0, &got));
  EXPECT_TRUE(Get(one, p1, 0, &got));
}

TEST(Shim, ConcurrentCountersAreExact) {
  Cleancache cache;
  ASSERT_TRUE(cache.RegisterBackend(std::make_unique<MapBackend>()).ok());
  const PoolId pool = cache.InitSharedFs(UuidOf(3));
  constexpr int kThreads = 4, kOps = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const FileKey key = FileKey::FromInode(1, t);
      std::vector<uint8_t> page(4096, static_cast<uint8_t>(t));
      for (int i = 0; i < kOps; ++i) {
        cache.PutPage(pool, key, i % 16, page);
        cache.GetPage(pool, key, i % 32, page);
        cache.InvalidatePage(pool, key, 100);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const PoolCounters c = cache.Counters(pool);
  EXPECT_EQ(c.puts, uint64_t{kThreads} * kOps);
  EXPECT_EQ(c.succ_gets + c.failed_gets, uint64_t{kThreads} * kOps);
  EXPECT_GT(c.succ_gets, 0u);
  EXPECT_GT(c.failed_gets, 0u);
  EXPECT_EQ(c.invalidates, uint64_t{kThreads} * kOps);
}

TEST(Shim, PoolsCreatedWhileABackendRegistersAllEndUpBound) {
  Cleancache cache;
  constexpr int kThreads = 3, kPools = 100;
  std::vector<std::vector<PoolId>> ids(kThreads);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      std::vector<uint8_t> page(4096);
      for (int i = 0; i < kPools; ++i) {
        const PoolId id = i % 2 ? cache.InitFs() : cache.InitSharedFs(UuidOf(static_cast<uint8_t>(i % 5)));
        ids[t].push_back(id);
        cache.PutPage(id, kFile, 0, page);  // races with binding: dropped or stored, never a crash
        cache.GetPage(id, kFile, 0, page);
      }
    });
  }
  go = true;
  ASSERT_TRUE(cache.RegisterBackend(std::make_unique<MapBackend>()).ok());
  for (auto& thread : threads) thread.join();
  std::set<PoolId> unique;
  for (const auto& list : ids) {
    for (PoolId id : list) {
      ASSERT_GE(id, 0);
      EXPECT_TRUE(unique.insert(id).second) << "id " << id << " handed out twice";
      EXPECT_TRUE(cache.Info(id)->bound) << id;
    }
  }
  EXPECT_EQ(unique.size(), size_t{kThreads} * kPools);
}

}  // namespace
}  // namespace cleancache::testing
