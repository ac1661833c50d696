// RunPageBench against test doubles: every page is put and got exactly once
// under its own key, and a backend returning wrong bytes is caught.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>

#include "cleancache/corpus.h"
#include "cli/page_bench.h"
#include "support/map_backend.h"

namespace cleancache {
namespace {

using testing::MapBackend;

// TEST DOUBLE: forwards to a MapBackend, records every key put, and can
// corrupt the pages it returns or drop some puts.
class RecordingBackend : public MapBackend {
 public:
  struct Shared {
    std::mutex mutex;
    std::multiset<std::pair<std::string, uint64_t>> puts;
    std::atomic<uint64_t> gets{0};
  };
  RecordingBackend(Shared& shared, bool corrupt_index_3, bool drop_odd)
      : shared_(shared), corrupt_(corrupt_index_3), drop_odd_(drop_odd) {}

  bool GetPage(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<uint8_t> page) override {
    shared_.gets.fetch_add(1);
    const bool hit = MapBackend::GetPage(pool, key, index, page);
    if (hit && corrupt_ && index == 3) page[100] ^= 0x40;
    return hit;
  }
  void PutPage(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<const uint8_t> page) override {
    {
      std::lock_guard lock(shared_.mutex);
      shared_.puts.insert({key.ToString(), index});
    }
    if (drop_odd_ && index % 2 == 1) return;
    MapBackend::PutPage(pool, key, index, page);
  }

 private:
  Shared& shared_;
  const bool corrupt_;
  const bool drop_odd_;
};

PageCorpus SmallCorpus(uint64_t pages) {
  SyntheticCorpusOptions options;
  options.pages = pages;
  options.pages_per_file = 10;
  options.same_filled_share = 0.1;
  Result<PageCorpus> corpus = BuildSyntheticCorpus(options);
  EXPECT_TRUE(corpus.ok());
  return std::move(corpus).value();
}

Result<PageBenchReport> RunBench(RecordingBackend::Shared& shared, const PageCorpus& corpus, unsigned threads,
                                 bool corrupt = false, bool drop_odd = false) {
  Cleancache cache;
  EXPECT_TRUE(cache.RegisterBackend(std::make_unique<RecordingBackend>(shared, corrupt, drop_odd)).ok());
  PageBenchOptions options;
  options.threads = threads;
  return RunPageBench(cache, corpus, options);
}

TEST(PageBench, EveryPageIsPutOnceUnderItsOwnKeyAndVerified) {
  const PageCorpus corpus = SmallCorpus(237);
  for (unsigned threads : {1u, 2u, 3u}) {
    RecordingBackend::Shared shared;
    Result<PageBenchReport> report = RunBench(shared, corpus, threads);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_EQ(report->pages, 237u);
    EXPECT_EQ(report->threads, threads);
    EXPECT_EQ(report->hits, 237u);
    EXPECT_EQ(report->misses, 0u);
    EXPECT_EQ(report->mismatches, 0u);
    EXPECT_EQ(shared.puts.size(), 237u);
    EXPECT_EQ(std::set(shared.puts.begin(), shared.puts.end()).size(), 237u) << "a key was put twice";
    EXPECT_EQ(shared.gets.load(), 237u);
    EXPECT_EQ(report->after_put.pages_stored, 237u);
    EXPECT_EQ(report->counters.succ_gets, 237u);
    EXPECT_EQ(report->counters.puts, 237u);
  }
}

TEST(PageBench, KeysAreFileAndIndexInFile) {
  const PageCorpus corpus = SmallCorpus(25);
  RecordingBackend::Shared shared;
  ASSERT_TRUE(RunBench(shared, corpus, 1).ok());
  const std::string third_file = FileKey::FromInode(0, 3).ToString();
  EXPECT_EQ(shared.puts.count({third_file, 4}), 1u);  // corpus page 24
  EXPECT_EQ(shared.puts.count({third_file, 5}), 0u);
}

TEST(PageBench, WrongBytesAreCountedAsMismatches) {
  const PageCorpus corpus = SmallCorpus(100);  // ten files: each has an index 3
  RecordingBackend::Shared shared;
  Result<PageBenchReport> report = RunBench(shared, corpus, 2, /*corrupt=*/true);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->mismatches, 10u);
  EXPECT_EQ(report->first_mismatch, 3u);
}

TEST(PageBench, DroppedPutsAreMissesNotMismatches) {
  const PageCorpus corpus = SmallCorpus(100);
  RecordingBackend::Shared shared;
  Result<PageBenchReport> report = RunBench(shared, corpus, 2, false, /*drop_odd=*/true);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->hits, 50u);
  EXPECT_EQ(report->misses, 50u);
  EXPECT_EQ(report->mismatches, 0u);
}

TEST(PageBench, ProgressReachesTheTotal) {
  const PageCorpus corpus = SmallCorpus(50);
  Cleancache cache;
  ASSERT_TRUE(cache.RegisterBackend(std::make_unique<MapBackend>()).ok());
  PageBenchOptions options;
  std::vector<std::pair<std::string, uint64_t>> calls;
  options.progress = [&](const char* phase, uint64_t done, uint64_t total) {
    EXPECT_EQ(total, 50u);
    EXPECT_LE(done, total);
    calls.emplace_back(phase, done);
  };
  ASSERT_TRUE(RunPageBench(cache, corpus, options).ok());
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back(), std::make_pair(std::string("get"), uint64_t{50}));
}

TEST(PageBench, RefusedPoolIsAnError) {
  const PageCorpus corpus = SmallCorpus(10);
  Cleancache cache;
  auto backend = std::make_unique<MapBackend>();
  backend->set_refuse_pools(true);
  ASSERT_TRUE(cache.RegisterBackend(std::move(backend)).ok());
  EXPECT_FALSE(RunPageBench(cache, corpus, PageBenchOptions{}).ok());
  PageBenchOptions no_threads;
  no_threads.threads = 0;
  EXPECT_FALSE(RunPageBench(cache, corpus, no_threads).ok());
}

}  // namespace
}  // namespace cleancache
