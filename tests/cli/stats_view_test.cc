// The stats views as pure functions of hand-made snapshots (docs/STATS.md).
#include "cli/stats_view.h"

#include <gtest/gtest.h>

namespace {

nlohmann::json Snapshot() {
  return {{"schema_version", 1},
          {"mount",
           {{"pid", 42},
            {"mountpoint", "/mnt/c"},
            {"backing", "/data"},
            {"backend", "zcache(zstd, 1 GiB)"},
            {"primary", "kernel"}}},
          {"summary",
           {{"hit_ratio", 0.75},
            {"bytes_saved", 3ull << 30},
            {"bytes_from_backing", 1ull << 30},
            {"memory_used_bytes", 256ull << 20},
            {"memory_capacity_bytes", 1ull << 30},
            {"compression_ratio", 2.5},
            {"evictions", 1234567}}},
          {"reads", {{"requests", 10}, {"bytes", 4ull << 30}, {"bytes_from_cleancache", 3ull << 30}}},
          {"cleancache",
           {{"hits", 300},
            {"misses", 100},
            {"pages_stored", 1000},
            {"memory_used_bytes", 256ull << 20},
            {"a_field_added_later", 5}}}};
}

TEST(StatsView, HeadlineFirstThenDetailsWithReadableNames) {
  const std::string view = RenderMountStats(Snapshot());
  const auto hit = view.find("hit ratio"), saved = view.find("saved"), memory = view.find("memory "),
             compression = view.find("compression"), evictions = view.find("evictions"), reads = view.find("Reads");
  ASSERT_NE(hit, std::string::npos) << view;
  EXPECT_LT(hit, saved);
  EXPECT_LT(saved, memory);
  EXPECT_LT(memory, compression);
  EXPECT_LT(compression, evictions);
  EXPECT_LT(evictions, reads) << view;
  EXPECT_NE(view.find("75.0 %"), std::string::npos) << view;
  EXPECT_NE(view.find("3 GiB"), std::string::npos) << view;
  EXPECT_NE(view.find("256 MiB"), std::string::npos) << view;
  EXPECT_NE(view.find("of 1 GiB (25 %)"), std::string::npos) << view;
  EXPECT_NE(view.find("2.50x"), std::string::npos) << view;
  EXPECT_NE(view.find("1,234,567"), std::string::npos) << view;
  EXPECT_NE(view.find("from cleancache"), std::string::npos) << view;
  EXPECT_NE(view.find("a field added later"), std::string::npos) << "unknown fields are shown, not dropped";
  EXPECT_EQ(view.find("bytes_from_cleancache"), std::string::npos) << "internal names stay out of the view";
  EXPECT_EQ(view.find("Sizing"), std::string::npos) << "no sizing section without sizing figures";
}

TEST(StatsView, SizingSectionWhenTheSnapshotHasOne) {
  auto snapshot = Snapshot();
  snapshot["sizing"] = {{"memory_for_90pct_bytes", 64ull << 20},
                        {"memory_for_95pct_bytes", 96ull << 20},
                        {"memory_for_99pct_bytes", 200ull << 20},
                        {"best_hit_ratio", 0.8},
                        {"hit_ratio_now", 0.5},
                        {"capacity_bytes", 1ull << 30}};
  const std::string view = RenderMountStats(snapshot);
  const auto at = view.find("Sizing");
  ASSERT_NE(at, std::string::npos) << view;
  const std::string sizing = view.substr(at);
  EXPECT_NE(sizing.find("memory for 90% of the best hit ratio"), std::string::npos) << sizing;
  EXPECT_NE(sizing.find("64 MiB"), std::string::npos) << sizing;
  EXPECT_NE(sizing.find("80.0 %"), std::string::npos) << sizing;
  EXPECT_NE(sizing.find("50.0 %"), std::string::npos) << sizing;
}

TEST(StatsView, UnknownFiguresShowAsDashesNotZeros) {
  auto snapshot = Snapshot();
  snapshot["summary"]["hit_ratio"] = nullptr;
  snapshot["summary"]["compression_ratio"] = nullptr;
  snapshot["summary"]["memory_capacity_bytes"] = 0;
  const std::string view = RenderMountStats(snapshot);
  EXPECT_NE(view.find("hit ratio      -"), std::string::npos) << view;
  EXPECT_NE(view.find("compression    -"), std::string::npos) << view;
  EXPECT_NE(view.find("capacity not known"), std::string::npos) << view;
}

TEST(StatsView, WatchLineIsPerSecondRates) {
  auto before = Snapshot(), after = Snapshot();
  after["cleancache"]["hits"] = 300 + 200;  // +200 in 2 s
  after["cleancache"]["misses"] = 100 + 50;
  after["reads"]["bytes_from_cleancache"] = (3ull << 30) + 20'000'000;  // 10 MB/s
  const std::string header = WatchHeader(before), line = WatchLine(before, after, 2.0);
  EXPECT_NE(header.find("hits/s"), std::string::npos) << header;
  EXPECT_NE(header.find("cc MB/s"), std::string::npos) << header;
  EXPECT_NE(line.find(" 100 "), std::string::npos) << line;   // hits/s
  EXPECT_NE(line.find(" 25 "), std::string::npos) << line;    // misses/s
  EXPECT_NE(line.find(" 80.0 "), std::string::npos) << line;  // hit % in the interval
  EXPECT_NE(line.find(" 10.0 "), std::string::npos) << line;  // MB/s from cleancache
  // A counter that went backwards (a restarted daemon) is no negative rate.
  const std::string back = WatchLine(after, before, 1.0);
  EXPECT_EQ(back.find('-', 9), back.find(" - ") + 1) << back;  // only the hit% dash
}

TEST(StatsView, WatchOfADaemonSnapshot) {
  nlohmann::json a = {{"daemon", {{"hits", 10}, {"misses", 10}, {"puts", 0}, {"real_memory_bytes", 4096}}}};
  nlohmann::json b = {{"daemon", {{"hits", 40}, {"misses", 10}, {"puts", 30}, {"real_memory_bytes", 8192}}}};
  EXPECT_NE(WatchHeader(a).find("puts/s"), std::string::npos);
  const std::string line = WatchLine(a, b, 1.0);
  EXPECT_NE(line.find(" 30 "), std::string::npos) << line;
  EXPECT_NE(line.find("100.0"), std::string::npos) << line;
  EXPECT_NE(line.find("8 KiB"), std::string::npos) << line;
}

}  // namespace
