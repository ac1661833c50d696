// The checkers must catch broken backends and must not flag correct ones.
#include "support/history_checker.h"

#include <gtest/gtest.h>

#include "cleancache/cleancache.hpp"
#include "support/map_backend.h"
#include "support/workloads.h"

namespace cleancache::testing {
namespace {

using Kind = HistoryEvent::Kind;

HistoryEvent Put(uint64_t start, uint64_t end, uint64_t version) {
  return HistoryEvent{.kind = Kind::kPut, .slot = 0, .start = start, .end = end, .version = version};
}
HistoryEvent Hit(uint64_t start, uint64_t end, uint64_t version) {
  return HistoryEvent{.kind = Kind::kGet, .slot = 0, .start = start, .end = end, .hit = true, .version = version};
}
HistoryEvent Miss(uint64_t start, uint64_t end) {
  return HistoryEvent{.kind = Kind::kGet, .slot = 0, .start = start, .end = end};
}
HistoryEvent Invalidate(uint64_t start, uint64_t end) {
  return HistoryEvent{.kind = Kind::kInvalidate, .slot = 0, .start = start, .end = end};
}

TEST(HistoryChecker, AcceptsAReadOfTheLatestPut) {
  EXPECT_TRUE(CheckHistory({Put(1, 2, 7), Hit(3, 4, 7)}, true).empty());
}

TEST(HistoryChecker, AcceptsAReadOverlappingItsPut) {
  EXPECT_TRUE(CheckHistory({Put(1, 5, 7), Hit(2, 6, 7)}, true).empty());
}

TEST(HistoryChecker, FlagsAReadAfterACompletedInvalidation) {
  auto v = CheckHistory({Put(1, 2, 7), Invalidate(3, 4), Hit(5, 6, 7)}, false);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_NE(v[0].find("stale read"), std::string::npos) << v[0];
  EXPECT_NE(v[0].find("invalidate"), std::string::npos) << v[0];
}

TEST(HistoryChecker, AcceptsAReadOverlappingTheInvalidation) {
  EXPECT_TRUE(CheckHistory({Put(1, 2, 7), Invalidate(3, 6), Hit(5, 8, 7)}, false).empty());
  EXPECT_TRUE(CheckHistory({Put(1, 4, 7), Invalidate(3, 5), Hit(6, 8, 7)}, false).empty());  // put overlapped it
}

TEST(HistoryChecker, FlagsTheOldCopyAfterALaterPut) {
  auto v = CheckHistory({Put(1, 2, 7), Put(3, 4, 8), Hit(5, 6, 7)}, false);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_NE(v[0].find("put [3,4]"), std::string::npos) << v[0];
  EXPECT_TRUE(CheckHistory({Put(1, 2, 7), Put(3, 4, 8), Hit(5, 6, 8)}, false).empty());
}

TEST(HistoryChecker, FlagsAHitAfterAMiss) {
  auto v = CheckHistory({Put(1, 2, 7), Miss(3, 4), Hit(5, 6, 7)}, false);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_NE(v[0].find("missed get"), std::string::npos) << v[0];
}

TEST(HistoryChecker, SharedHitsDoNotConsumeButPrivateOnesDo) {
  const std::vector<HistoryEvent> twice = {Put(1, 2, 7), Hit(3, 4, 7), Hit(5, 6, 7)};
  EXPECT_TRUE(CheckHistory(twice, /*exclusive_gets=*/false).empty());
  EXPECT_FALSE(CheckHistory(twice, /*exclusive_gets=*/true).empty());
  // Overlapping double read of one version is still two exclusive gets.
  auto v = CheckHistory({Put(1, 2, 7), Hit(3, 6, 7), Hit(4, 5, 7)}, true);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_NE(v[0].find("two gets"), std::string::npos) << v[0];
}

TEST(HistoryChecker, FlagsCorruptUnknownAndTooEarlyVersions) {
  HistoryEvent corrupt = Hit(3, 4, 7);
  corrupt.corrupt = true;
  EXPECT_EQ(CheckHistory({Put(1, 2, 7), corrupt}, false).size(), 1u);
  EXPECT_EQ(CheckHistory({Put(1, 2, 7), Hit(3, 4, 9)}, false).size(), 1u);
  EXPECT_EQ(CheckHistory({Hit(1, 2, 7), Put(3, 4, 7)}, false).size(), 1u);
}

TEST(HistoryChecker, SlotsAreIndependent) {
  HistoryEvent other_slot_invalidate = Invalidate(3, 4);
  other_slot_invalidate.slot = 1;
  EXPECT_TRUE(CheckHistory({Put(1, 2, 7), other_slot_invalidate, Hit(5, 6, 7)}, false).empty());
}

// A broken backend must be caught by both workloads; a correct one must not.
struct FlawCase {
  Flaw flaw;
  bool shared;
};

std::string FlawCaseName(const ::testing::TestParamInfo<FlawCase>& info) {
  const char* names[] = {"None", "IgnoresInvalidation", "KeepsFirstPut", "NonExclusiveGets"};
  return std::string(names[static_cast<int>(info.param.flaw)]) + (info.param.shared ? "_SharedPool" : "_PrivatePool");
}

class FlawedBackendTest : public ::testing::TestWithParam<FlawCase> {};

TEST_P(FlawedBackendTest, WorkloadsCatchIt) {
  const FlawCase c = GetParam();
  const WorkloadOptions options{.threads = 2, .max_ops_per_thread = 4000, .time_limit = std::chrono::milliseconds(500)};
  {
    Cleancache cache;
    ASSERT_TRUE(cache.RegisterBackend(std::make_unique<MapBackend>(c.flaw)).ok());
    const PoolId pool = c.shared ? cache.InitSharedFs(Uuid{}) : cache.InitFs();
    auto report = RunOwnedKeysWorkload(cache, pool, 4096, !c.shared, /*misses_allowed=*/true, options);
    EXPECT_EQ(report.violations.empty(), c.flaw == Flaw::kNone) << report.violations.size() << " violations";
  }
  {
    Cleancache cache;
    ASSERT_TRUE(cache.RegisterBackend(std::make_unique<MapBackend>(c.flaw)).ok());
    const PoolId pool = c.shared ? cache.InitSharedFs(Uuid{}) : cache.InitFs();
    auto report = RunSharedKeysRace(cache, pool, 4096, !c.shared, options);
    EXPECT_EQ(report.violations.empty(), c.flaw == Flaw::kNone)
        << report.violations.size() << " violations"
        << (report.violations.empty() ? "" : ", first: " + report.violations[0]);
  }
}

INSTANTIATE_TEST_SUITE_P(Flaws, FlawedBackendTest,
                         ::testing::Values(FlawCase{Flaw::kNone, false}, FlawCase{Flaw::kNone, true},
                                           FlawCase{Flaw::kIgnoresInvalidation, false},
                                           FlawCase{Flaw::kIgnoresInvalidation, true},
                                           FlawCase{Flaw::kKeepsFirstPut, false}, FlawCase{Flaw::kKeepsFirstPut, true},
                                           FlawCase{Flaw::kNonExclusiveGets, false}),
                         FlawCaseName);

}  // namespace
}  // namespace cleancache::testing
