#include "memcached/generation_table.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace cleancache::memcached {
namespace {

TEST(GenerationTable, BumpGivesAFreshGenerationOnlyToThatFile) {
  std::atomic<uint64_t> clock{0};
  GenerationTable table(1024, clock);
  uint64_t a = table.Get(1ull << 40), b = table.Get(2ull << 40);
  table.Bump(1ull << 40);
  EXPECT_NE(table.Get(1ull << 40), a);
  EXPECT_EQ(table.Get(2ull << 40), b);
  EXPECT_EQ(table.tracked_files(), 1u);
}

// The table must forget files to stay bounded, but a file must never get
// back a generation it had before a bump (that would revive stale pages).
TEST(GenerationTable, ForgettingNeverRevivesAnOldGeneration) {
  std::atomic<uint64_t> clock{0};
  GenerationTable table(32, clock);                // two entries per shard
  std::map<uint64_t, std::set<uint64_t>> retired;  // generations a file left behind
  for (uint64_t round = 0; round < 2000; ++round) {
    uint64_t file = (round * 0x9E3779B97F4A7C15ull) % 97 * 0x100000001ull;
    uint64_t before = table.Get(file);
    table.Bump(file);
    retired[file].insert(before);
    for (auto& [f, gens] : retired) ASSERT_FALSE(gens.contains(table.Get(f))) << "round " << round;
  }
  EXPECT_LE(table.tracked_files(), 32u);
}

}  // namespace
}  // namespace cleancache::memcached
