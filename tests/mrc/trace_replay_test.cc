// Replays through a real zcache: the curve's prediction beside the measured
// hit ratio, a trace with puts and invalidations, the generator, and specs
// that cannot take a capacity.
#include "mrc/trace_replay.h"

#include <gtest/gtest.h>

#include <set>

#include "mrc/trace_generator.h"

namespace cleancache::mrc {
namespace {

PageTrace Generated(Workload workload, uint64_t pages, uint64_t accesses) {
  GeneratorOptions g;
  g.workload = workload;
  g.pages = pages;
  g.accesses = accesses;
  return GenerateTrace(g);
}

TEST(TraceReplayTest, PredictionFollowsTheMeasuredHitRatio) {
  // 16,384 pages of ~2 KiB compressed: 8-40 MiB caches see 25-100% of them.
  const PageTrace trace = Generated(Workload::kZipf, 16384, 200000);
  ReplayOptions options;
  options.backend = "zcache:segment=256K";
  options.capacities = {8 << 20, 16 << 20, 40 << 20};
  auto report = ReplayTrace(trace, options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->points.size(), 3u);
  EXPECT_EQ(report->reads, 200000u);
  for (const ReplayPoint& p : report->points) {
    EXPECT_EQ(p.reads, 200000u);
    EXPECT_GT(p.measured, 0.1);
    // Small caches and a short trace: a looser bound than docs/MRC.md's runs.
    EXPECT_NEAR(p.predicted, p.measured, 0.05) << p.capacity_bytes;
  }
  EXPECT_LT(report->points[0].measured, report->points[2].measured);
  EXPECT_LE(report->curve_memory_bytes, (40u << 20) / 100);
}

TEST(TraceReplayTest, PutsAndInvalidationsAreReplayed) {
  PageTrace trace;
  auto add = [&trace](TraceOp op, uint64_t index) {
    TraceRecord r;
    r.file_hash = 42;
    r.index = index;
    r.op = op;
    trace.records.push_back(r);
  };
  // 1,000 pages, each:
  for (uint64_t page = 0; page < 1000; ++page) {
    add(TraceOp::kPut, page);         // put without a read
    add(TraceOp::kGet, page);         // hit
    add(TraceOp::kInvalidate, page);  // gone
    add(TraceOp::kGet, page);         // miss, put
    add(TraceOp::kGet, page);         // hit
  }
  ReplayOptions options;
  options.capacities = {64 << 20};   // the curve may track 4,922 pages
  options.curve_initial_rate = 1.0;  // so all 1,000 are: an exact curve
  auto report = ReplayTrace(trace, options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->points[0].reads, 3000u);
  EXPECT_EQ(report->points[0].hits, 2000u);
  EXPECT_GT(report->curve.sampled_accesses(), 0u);
  EXPECT_NEAR(report->points[0].predicted, 2.0 / 3, 1e-9);
}

TEST(TraceReplayTest, SpecsWithoutACapacityAreBadInput) {
  ReplayOptions options;
  options.capacities = {1 << 20};
  options.backend = "memcached://127.0.0.1:1";
  EXPECT_EQ(CheckReplayOptions(options).code(), Status::Code::kInvalidArgument);
  options.backend = "zcache:codec=nope";
  EXPECT_EQ(CheckReplayOptions(options).code(), Status::Code::kInvalidArgument);
  options.backend = "zcache:capacity=1G,codec=zstd";  // the given capacity is replaced
  EXPECT_TRUE(CheckReplayOptions(options).ok());
  auto spec = SpecWithCapacity(options.backend, 1 << 20);
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(*spec->Find("capacity"), "1048576");
  options.capacities.clear();
  EXPECT_EQ(CheckReplayOptions(options).code(), Status::Code::kInvalidArgument);
}

TEST(TraceGeneratorTest, WorkloadsHaveTheirShapes) {
  EXPECT_EQ(Generated(Workload::kZipf, 1000, 5000).records, Generated(Workload::kZipf, 1000, 5000).records);
  // shift: the two halves touch disjoint pages.
  const PageTrace shift = Generated(Workload::kShift, 1000, 4000);
  std::set<std::pair<uint64_t, uint64_t>> first, second;
  for (size_t i = 0; i < shift.records.size(); ++i)
    (i < 2000 ? first : second).insert({shift.records[i].file_hash, shift.records[i].index});
  for (const auto& page : second) EXPECT_EQ(first.count(page), 0u);
  // scan-hot: the scan's reads come in page order.
  const PageTrace scan = Generated(Workload::kScanHot, 1024, 4000);
  std::set<std::pair<uint64_t, uint64_t>> distinct;
  for (const TraceRecord& r : scan.records) distinct.insert({r.file_hash, r.index});
  EXPECT_GT(distinct.size(), 900u);
  EXPECT_FALSE(ParseWorkload("zipfian").ok());
  GeneratorOptions bad;
  bad.zipf_exponent = 1.0;
  EXPECT_FALSE(CheckGeneratorOptions(bad).ok());
}

}  // namespace
}  // namespace cleancache::mrc
