// The Backend contract for tier:zcache+memcached through the shim, with a
// local tier small enough that demotions and promotions race the workload.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "cleancache/backend_spec.h"
#include "cleancache/cleancache.hpp"
#include "memcached/memcached_server.h"
#include "support/workloads.h"

namespace cleancache {
namespace {

class TierContractTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    server_ = testing::MemcachedServer::Start();
    ASSERT_TRUE(server_) << "cannot start /usr/bin/memcached";
    auto backend = CreateBackend("tier:zcache:capacity=512K,segment=64K,shards=1+" +
                                 testing::MemcachedSpec({server_.get()}, "timeout=1000"));
    ASSERT_TRUE(backend.ok()) << backend.status().ToString();
    ASSERT_TRUE(cache_.RegisterBackend(std::move(backend.value())).ok());
    shared_ = GetParam();
    pool_ = shared_ ? cache_.InitSharedFs(Uuid::Parse("00112233445566778899aabbccddeeff").value()) : cache_.InitFs();
    ASSERT_GE(pool_, 0);
  }

  // Puts incompressible pages of other files while the workload runs, so the
  // local tier keeps evicting (and demoting) the workload's pages.
  void StartFlood() {
    flooder_ = std::thread([this] {
      std::mt19937_64 random(7);
      std::vector<uint8_t> page(4096);
      for (uint64_t n = 0; n < 200000 && !stop_flood_; ++n) {
        for (auto& byte : page) byte = static_cast<uint8_t>(random());
        cache_.PutPage(pool_, FileKey::FromInode(0xF100D, n % 4096), n, page);
      }
    });
  }
  void StopFlood() {
    stop_flood_ = true;
    if (flooder_.joinable()) flooder_.join();
  }
  void TearDown() override { StopFlood(); }

  std::unique_ptr<testing::MemcachedServer> server_;
  Cleancache cache_;
  std::thread flooder_;
  std::atomic<bool> stop_flood_{false};
  bool shared_ = false;
  PoolId pool_ = kNoPool;
};

testing::WorkloadOptions Bounded(int max_ops_per_thread) {
  testing::WorkloadOptions options;
  options.threads = 4;
  options.max_ops_per_thread = max_ops_per_thread;
  options.time_limit = std::chrono::milliseconds(1500);
  return options;
}

TEST_P(TierContractTest, OwnedKeysWorkloadNeverSeesStaleData) {
  StartFlood();
  auto report = testing::RunOwnedKeysWorkload(cache_, pool_, 4096, !shared_, /*misses_allowed=*/true, Bounded(3000));
  StopFlood();
  for (const auto& violation : report.violations) ADD_FAILURE() << violation;
  EXPECT_GT(report.hits, 0u);
  auto stats = cache_.BackendStatistics();
  EXPECT_GT(stats.extra["demotions"], 0u) << "the workload never crossed tiers";
  EXPECT_GT(stats.extra["remote_hits"], 0u) << "the workload never crossed tiers";
}

TEST_P(TierContractTest, SharedKeysRaceIsLinearizable) {
  StartFlood();
  auto report = testing::RunSharedKeysRace(cache_, pool_, 4096, !shared_, Bounded(2000));
  StopFlood();
  for (const auto& violation : report.violations) ADD_FAILURE() << violation;
  EXPECT_GT(report.ops, 0u);
}

INSTANTIATE_TEST_SUITE_P(Pools, TierContractTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Shared" : "Private"; });

}  // namespace
}  // namespace cleancache
