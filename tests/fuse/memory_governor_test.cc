// The mount's memory split (src/fuse/memory_governor.h): the rule, its
// adaptation to a neighbour's memory through a fake pressure source, and the
// cgroup reader on a real memory cgroup (v1 or v2; skipped without root).
#include "fuse/memory_governor.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "fuse/test_cgroup.h"

namespace cleancache::fuse {
namespace {

constexpr uint64_t MiB = 1ull << 20;

TEST(PlanCapacity, LeavesTheReserveAndWhatOthersHoldAndCountsCleancacheAsItsOwn) {
  // 512 MiB limit: reserve 64 MiB. 300 MiB unreclaimable of which 200 MiB is
  // cleancache: others hold 100 MiB, so cleancache may have 512-100-64.
  MemoryPlan plan = PlanCapacity({512 * MiB, 300 * MiB}, 200 * MiB, UINT64_MAX);
  EXPECT_EQ(plan.reserve_bytes, 64 * MiB);
  EXPECT_EQ(plan.others_bytes, 100 * MiB);
  EXPECT_EQ(plan.capacity_bytes, 348 * MiB);
}

TEST(PlanCapacity, ClampsToTheCeilingTheFloorAndTheReserveBounds) {
  EXPECT_EQ(PlanCapacity({512 * MiB, 0}, 0, 100 * MiB).capacity_bytes, 100 * MiB);
  // Others hold more than the limit: the floor, never an underflow.
  EXPECT_EQ(PlanCapacity({512 * MiB, 600 * MiB}, 0, UINT64_MAX).capacity_bytes, MemoryGovernor::kFloorBytes);
  EXPECT_EQ(PlanCapacity({64 * MiB, 0}, 0, UINT64_MAX).reserve_bytes, 16 * MiB);
  EXPECT_EQ(PlanCapacity({64ull << 30, 0}, 0, UINT64_MAX).reserve_bytes, 512 * MiB);
  // cleancache's figure above the group's (accounting skew): others = 0.
  EXPECT_EQ(PlanCapacity({512 * MiB, 10 * MiB}, 20 * MiB, UINT64_MAX).others_bytes, 0u);
}

// A pressure source the test steers.
class FakeSource : public MemorySource {
 public:
  explicit FakeSource(std::atomic<uint64_t>* others, std::atomic<bool>* fail) : others_(others), fail_(fail) {}
  Result<MemorySample> Sample() override {
    if (fail_->load()) return Status::IOError("fake: unreadable");
    return MemorySample{512 * MiB, others_->load() + cleancache_real.load()};
  }
  std::string Describe() const override { return "fake"; }
  bool machine_wide() const override { return false; }
  static inline std::atomic<uint64_t> cleancache_real{0};

 private:
  std::atomic<uint64_t>* others_;
  std::atomic<bool>* fail_;
};

struct Harness {
  std::atomic<uint64_t> others{50 * MiB};
  std::atomic<bool> fail{false};
  std::atomic<uint64_t> evictions{0};
  std::vector<uint64_t> sets;
  std::mutex mu;
  std::unique_ptr<MemoryGovernor> governor;
  explicit Harness(uint64_t ceiling = UINT64_MAX) {
    FakeSource::cleancache_real = 0;
    governor = std::make_unique<MemoryGovernor>(
        std::make_unique<FakeSource>(&others, &fail), ceiling,
        [this] {
          return CleancacheUse{FakeSource::cleancache_real.load(), evictions.load()};
        },
        [this](uint64_t bytes) {
          std::lock_guard lock(mu);
          sets.push_back(bytes);
          FakeSource::cleancache_real = std::min<uint64_t>(FakeSource::cleancache_real, bytes);  // evicts down
        });
  }
  size_t set_count() {
    std::lock_guard lock(mu);
    return sets.size();
  }
};

TEST(MemoryGovernor, ShrinksAtOnceWhenANeighbourGrowsAndGrowsBackWhenItShrinks) {
  Harness h;
  EXPECT_EQ(h.governor->Tick(), (512 - 50 - 64) * MiB);  // first tick always sets
  ASSERT_EQ(h.set_count(), 1u);
  FakeSource::cleancache_real = (512 - 50 - 64) * MiB;  // cleancache filled up
  EXPECT_EQ(h.governor->Tick(), (512 - 50 - 64) * MiB);
  EXPECT_EQ(h.set_count(), 1u);  // nothing moved: no resize

  h.others = 250 * MiB;  // a neighbour allocates 200 MiB
  EXPECT_EQ(h.governor->Tick(), (512 - 250 - 64) * MiB);
  EXPECT_EQ(h.governor->Stats().shrinks, 1u);
  EXPECT_EQ(FakeSource::cleancache_real.load(), (512 - 250 - 64) * MiB);

  h.others = 50 * MiB;  // and frees it
  EXPECT_EQ(h.governor->Tick(), (512 - 50 - 64) * MiB);
  EXPECT_EQ(h.governor->Stats().grows, 1u);
  MemoryGovernorStats s = h.governor->Stats();
  EXPECT_EQ(s.source, "fake");
  EXPECT_EQ(s.limit_bytes, 512 * MiB);
  EXPECT_EQ(s.others_bytes, 50 * MiB);
}

TEST(MemoryGovernor, IgnoresNoiseBelowTheHysteresis) {
  Harness h;
  uint64_t first = h.governor->Tick();
  h.others = 50 * MiB + 512 * 1024;  // half a MiB more: no shrink
  EXPECT_EQ(h.governor->Tick(), first);
  h.others = 50 * MiB - 3 * MiB;  // 3 MiB less: below the 4 MiB growth step
  EXPECT_EQ(h.governor->Tick(), first);
  EXPECT_EQ(h.set_count(), 1u);
  h.others = 50 * MiB + 2 * MiB;  // 2 MiB more: shrink
  EXPECT_EQ(h.governor->Tick(), first - 2 * MiB);
  EXPECT_EQ(h.set_count(), 2u);
}

TEST(MemoryGovernor, NeverPassesItsCeilingAndKeepsTheCapacityWhenTheSourceFails) {
  Harness h(100 * MiB);
  EXPECT_EQ(h.governor->Tick(), 100 * MiB);
  h.fail = true;
  h.others = 400 * MiB;
  EXPECT_EQ(h.governor->Tick(), 100 * MiB);
  EXPECT_EQ(h.governor->Stats().sample_errors, 1u);
  h.fail = false;
  EXPECT_EQ(h.governor->Tick(), (512 - 400 - 64) * MiB);
  h.others = 480 * MiB;
  EXPECT_EQ(h.governor->Tick(), MemoryGovernor::kFloorBytes);  // 512 - 480 - 64 < 0
}

TEST(MemoryGovernor, ItsThreadFollowsThePressure) {
  Harness h;
  h.governor->Tick();
  h.governor->Start(5);
  h.others = 300 * MiB;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (h.governor->Stats().capacity_bytes != (512 - 300 - 64) * MiB && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(h.governor->Stats().capacity_bytes, (512 - 300 - 64) * MiB);
}

TEST(MemoryGovernor, HasRoomBelowSevenEighthsAndWithoutEvictions) {
  Harness h;
  const uint64_t capacity = h.governor->Tick();  // 398 MiB
  auto look = [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // past the 1 ms refresh
    return h.governor->HasRoom();
  };
  EXPECT_TRUE(look());
  FakeSource::cleancache_real = capacity - capacity / 8 + MiB;  // within 1/8 of full
  EXPECT_FALSE(look());
  FakeSource::cleancache_real = capacity / 2;
  EXPECT_TRUE(look());
  h.evictions = 5;  // a shard evicted although the total is far from full
  EXPECT_FALSE(look());
  EXPECT_TRUE(look());  // no eviction since
}

// --- the real cgroup reader -------------------------------------------------

TEST(CgroupMemorySource, ReadsTheLimitAndTheAnonymousMemoryOfARealGroup) {
  testing::TestCgroup group(256 * MiB);
  if (!group.ok()) GTEST_SKIP() << "cannot create a memory cgroup here (needs root and a memory controller)";
  auto source = OpenCgroupMemorySource(group.dir());
  ASSERT_TRUE(source.ok()) << source.status().message();
  auto before = (*source)->Sample();
  ASSERT_TRUE(before.ok()) << before.status().message();
  EXPECT_EQ(before->limit_bytes, 256 * MiB);
  EXPECT_LT(before->unreclaimable_bytes, 8 * MiB);

  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  pid_t hog = testing::StartMemoryHog(group, 64 * MiB, 64 * MiB, 0, pipefd[1]);
  close(pipefd[1]);  // a hog that dies ends the read below
  char c;
  ASSERT_EQ(read(pipefd[0], &c, 1), 1);
  auto during = (*source)->Sample();
  ASSERT_TRUE(during.ok());
  EXPECT_GE(during->unreclaimable_bytes, 64 * MiB);
  kill(hog, SIGKILL);
  waitpid(hog, nullptr, 0);
  close(pipefd[0]);
}

TEST(CgroupMemorySource, AProcessFindsItsOwnGroupAndItsLimit) {
  testing::TestCgroup group(192 * MiB);
  if (!group.ok()) GTEST_SKIP() << "cannot create a memory cgroup here (needs root and a memory controller)";
  pid_t child = fork();
  if (child == 0) {
    if (!group.Join()) _exit(2);
    auto source = OpenProcessMemorySource();
    if (!source.ok() || (*source)->machine_wide()) _exit(3);
    auto sample = (*source)->Sample();
    _exit(sample.ok() && sample->limit_bytes == 192 * MiB ? 0 : 4);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "2: join failed, 3: no cgroup source, 4: wrong limit";
}

TEST(CgroupMemorySource, RefusesADirectoryThatIsNoMemoryCgroup) {
  auto source = OpenCgroupMemorySource("/tmp");
  ASSERT_FALSE(source.ok());
  EXPECT_NE(source.status().message().find("not a memory cgroup"), std::string::npos);
}

}  // namespace
}  // namespace cleancache::fuse
