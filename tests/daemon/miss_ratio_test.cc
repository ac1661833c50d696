#include "daemon/miss_ratio_estimator.h"

#include <gtest/gtest.h>

namespace cleancache::daemon {
namespace {

const FileKey kKey = FileKey::FromInode(1, 1);

TEST(MissRatioEstimator, NoAccessesNoEstimate) {
  MissRatioEstimator e(100);
  const auto est = e.EstimateFor(0.9);
  EXPECT_EQ(est.accesses, 0u);
  EXPECT_FALSE(est.extra_pages.has_value());
}

TEST(MissRatioEstimator, EnoughHitsNeedNothingMore) {
  MissRatioEstimator e(100);
  e.RecordHits(95);
  for (uint64_t i = 0; i < 5; ++i) e.RecordMiss(1, kKey, i);
  EXPECT_EQ(e.EstimateFor(0.9).extra_pages, std::optional<uint64_t>(0));
}

TEST(MissRatioEstimator, GhostHitsTellHowMuchMoreMemoryWouldHelp) {
  MissRatioEstimator e(1000);
  for (uint64_t i = 0; i < 100; ++i) e.OnEvict(1, kKey, i, {});
  // The 10 most recently evicted pages are asked for again: distances 1..10.
  for (uint64_t i = 90; i < 100; ++i) e.RecordMiss(1, kKey, i);
  const auto est = e.EstimateFor(0.9);
  EXPECT_EQ(est.accesses, 10u);
  EXPECT_EQ(est.ghost_hits, 10u);
  ASSERT_TRUE(est.extra_pages.has_value());
  EXPECT_GE(*est.extra_pages, 9u);   // at least distance 9 is needed for 9 of 10
  EXPECT_LE(*est.extra_pages, 15u);  // rounded up to the power-of-two bucket
  // A page never evicted (or asked for twice) is no ghost hit.
  e.RecordMiss(1, kKey, 95);
  e.RecordMiss(2, kKey, 50);
  EXPECT_EQ(e.EstimateFor(0.9).ghost_hits, 10u);
}

TEST(MissRatioEstimator, ForgetsBeyondItsGhostCapacity) {
  MissRatioEstimator e(16);
  for (uint64_t i = 0; i < 100; ++i) e.OnEvict(1, kKey, i, {});
  for (uint64_t i = 0; i < 50; ++i) e.RecordMiss(1, kKey, i);  // all forgotten
  const auto est = e.EstimateFor(0.9);
  EXPECT_EQ(est.ghost_hits, 0u);
  EXPECT_FALSE(est.extra_pages.has_value());  // beyond what is tracked
  e.RecordMiss(1, kKey, 99);
  EXPECT_EQ(e.EstimateFor(0.9).ghost_hits, 1u);
}

}  // namespace
}  // namespace cleancache::daemon
