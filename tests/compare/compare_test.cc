// Tests of the `compare` tool's parts: the Zipf sequence, every store's round
// trip, the Zipf run, the memory meter, and the report (targets, CSV).
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "compare/process_memory.h"
#include "compare/report.h"
#include "compare/runner.h"
#include "compare/stores.h"
#include "compare/zipf.h"

namespace cleancache::compare {
namespace {

PageCorpus SmallCorpus(uint64_t pages = 256) {
  SyntheticCorpusOptions options;
  options.pages = pages;
  options.compressibility = 0.6;
  options.same_filled_share = 0.1;
  options.pages_per_file = 32;
  Result<PageCorpus> corpus = BuildSyntheticCorpus(options);
  EXPECT_TRUE(corpus.ok()) << corpus.status().ToString();
  return std::move(corpus).value();
}

TEST(ZipfTest, SameSeedSameSequenceAndPagesInRange) {
  const ZipfOptions options{1000, 0.99, 5000, 7};
  const std::vector<uint32_t> a = ZipfAccesses(options), b = ZipfAccesses(options);
  EXPECT_EQ(a, b);
  ASSERT_EQ(a.size(), 5000u);
  for (uint32_t page : a) EXPECT_LT(page, 1000u);
  ZipfOptions other = options;
  other.seed = 8;
  EXPECT_NE(ZipfAccesses(other), a);
}

TEST(ZipfTest, IsSkewedLikeZipf) {
  // s = 1, n = 100: the top item has probability 1 / H(100) ~ 0.193, the
  // tenth 0.0193; draws of 200000 put both well within 10%.
  const std::vector<uint32_t> seq = ZipfAccesses({100, 1.0, 200000, 3});
  std::map<uint32_t, uint64_t> counts;
  for (uint32_t page : seq) ++counts[page];
  std::vector<uint64_t> sorted;
  for (const auto& [page, count] : counts) sorted.push_back(count);
  std::sort(sorted.rbegin(), sorted.rend());
  const double top = static_cast<double>(sorted[0]) / seq.size();
  const double tenth = static_cast<double>(sorted[9]) / seq.size();
  EXPECT_NEAR(top, 0.193, 0.02);
  EXPECT_NEAR(tenth, 0.0193, 0.003);
}

TEST(ZipfTest, NoItemsNoAccesses) { EXPECT_TRUE(ZipfAccesses({0, 0.99, 10, 1}).empty()); }

class StoreRoundTrip : public ::testing::TestWithParam<int> {};

Contestant ContestantNumber(int n) {
  switch (n) {
    case 0: return ZCacheContestant("zcache-lz4", "zcache:codec=lz4");
    case 1: return ZCacheContestant("zcache-zstd", "zcache:codec=zstd");
    case 2: return RocksDbContestant();
    case 3: return RawLz4Contestant();
    case 4: return RawZstdContestant(3);
    case 5: return MemcpyContestant();
    default: return ZCacheContestant("zcache-lz4-excl", "zcache:codec=lz4", ZCachePool::kPrivate);
  }
}

TEST_P(StoreRoundTrip, EveryPageComesBackIntact) {
  const PageCorpus corpus = SmallCorpus();
  const PageIds ids(corpus);
  const Contestant contestant = ContestantNumber(GetParam());
  Result<ThroughputResult> result = MeasureThroughput(contestant, corpus, ids);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->misses, 0u) << contestant.name;
  EXPECT_EQ(result->mismatches, 0u) << contestant.name;
  EXPECT_GT(result->memory_bytes, 0u) << contestant.name;
  EXPECT_GT(result->put_seconds, 0);
  EXPECT_GT(result->get_seconds, 0);
}

INSTANTIATE_TEST_SUITE_P(AllInProcessStores, StoreRoundTrip, ::testing::Range(0, 7));

TEST(StoreTest, SharedZCacheKeepsThePageAndPrivateGivesItAway) {
  const PageCorpus corpus = SmallCorpus(8);
  const PageIds ids(corpus);
  std::vector<uint8_t> out(corpus.page_size());
  for (ZCachePool pool : {ZCachePool::kShared, ZCachePool::kPrivate}) {
    Result<std::unique_ptr<PageStore>> store =
        ZCacheContestant("z", "zcache:codec=lz4", pool).create(StoreSetup{&corpus, &ids, 0});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store.value()->Put(5, corpus.page(5));
    EXPECT_TRUE(store.value()->Get(5, out));
    EXPECT_EQ(store.value()->Get(5, out), pool == ZCachePool::kShared);
  }
}

TEST(StoreTest, GetOfAPageNeverPutMisses) {
  const PageCorpus corpus = SmallCorpus(64);
  const PageIds ids(corpus);
  for (int n = 0; n < 7; ++n) {
    const Contestant contestant = ContestantNumber(n);
    Result<std::unique_ptr<PageStore>> store = contestant.create(StoreSetup{&corpus, &ids, 0});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    std::vector<uint8_t> out(corpus.page_size());
    store.value()->PrepareForPut(1, corpus.page(1));
    store.value()->Put(1, corpus.page(1));
    EXPECT_FALSE(store.value()->Get(2, out)) << contestant.name;
    EXPECT_TRUE(store.value()->Get(1, out)) << contestant.name;
    EXPECT_EQ(std::memcmp(out.data(), corpus.page(1).data(), out.size()), 0) << contestant.name;
  }
}

TEST(StoreTest, RocksDbAdmitsOnSecondTouch) {
  const PageCorpus corpus = SmallCorpus(8);
  const PageIds ids(corpus);
  Result<std::unique_ptr<PageStore>> store = RocksDbContestant().create(StoreSetup{&corpus, &ids, 0});
  ASSERT_TRUE(store.ok());
  std::vector<uint8_t> out(corpus.page_size());
  store.value()->Put(3, corpus.page(3));
  EXPECT_FALSE(store.value()->Get(3, out));  // first touch: a placeholder only
  store.value()->Put(3, corpus.page(3));
  EXPECT_TRUE(store.value()->Get(3, out));
}

TEST(StoreTest, FullArenaDropsThePutAndTheOldCopy) {
  const PageCorpus corpus = SmallCorpus(4);
  const PageIds ids(corpus);
  Result<std::unique_ptr<PageStore>> store = MemcpyContestant().create(StoreSetup{&corpus, &ids, 0});
  ASSERT_TRUE(store.ok());
  std::vector<uint8_t> out(corpus.page_size());
  for (int i = 0; i < 4; ++i) store.value()->Put(0, corpus.page(i));  // the arena holds 4 pages
  ASSERT_TRUE(store.value()->Get(0, out));
  EXPECT_EQ(std::memcmp(out.data(), corpus.page(3).data(), out.size()), 0);
  store.value()->Put(0, corpus.page(1));  // no room: dropped, and the old copy with it
  EXPECT_FALSE(store.value()->Get(0, out));
  EXPECT_EQ(store.value()->Memory().value_or(1), 0u);
}

TEST(StoreTest, MissingZramDeviceIsSkippedWithAReason) {
  const PageCorpus corpus = SmallCorpus(8);
  const PageIds ids(corpus);
  Result<std::unique_ptr<PageStore>> store = ZramContestant("zram-no-such-device").create(StoreSetup{&corpus, &ids, 0});
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("not present"), std::string::npos) << store.status().ToString();
}

TEST(StoreTest, BadSpecIsAnError) {
  const PageCorpus corpus = SmallCorpus(8);
  const PageIds ids(corpus);
  Result<std::unique_ptr<PageStore>> store =
      ZCacheContestant("bad", "zcache:codec=nonsense").create(StoreSetup{&corpus, &ids, 0});
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("nonsense"), std::string::npos) << store.status().ToString();
}

TEST(ZipfRunTest, BoundedCacheHitsSomeAndNeverReturnsWrongBytes) {
  const PageCorpus corpus = SmallCorpus(2048);
  const PageIds ids(corpus);
  const std::vector<uint32_t> warmup = ZipfAccesses({2048, 0.99, 4096, 1});
  const std::vector<uint32_t> measured = ZipfAccesses({2048, 0.99, 8192, 2});
  for (int n = 0; n < 3; ++n) {
    const Contestant contestant = ContestantNumber(n);
    Result<ZipfResult> result = MeasureZipf(contestant, corpus, ids, ZipfRun{&warmup, &measured, 2u << 20, 2, 0.05});
    ASSERT_TRUE(result.ok()) << contestant.name << ": " << result.status().ToString();
    EXPECT_EQ(result->accesses, measured.size());
    EXPECT_GT(result->hits, 0u) << contestant.name;
    EXPECT_LT(result->hits, result->accesses) << contestant.name;
    EXPECT_EQ(result->mismatches, 0u) << contestant.name;
    EXPECT_GT(result->capacity_bytes, 0u);
    EXPECT_GE(result->calibration_rounds, 1);
  }
}

TEST(ZipfRunTest, UnboundedStoresAreRefused) {
  const PageCorpus corpus = SmallCorpus(8);
  const PageIds ids(corpus);
  const std::vector<uint32_t> seq = {1, 2};
  EXPECT_FALSE(MeasureZipf(RawLz4Contestant(), corpus, ids, ZipfRun{&seq, &seq, 1 << 20}).ok());
  EXPECT_FALSE(MeasureZipf(ContestantNumber(6), corpus, ids, ZipfRun{&seq, &seq, 1 << 20}).ok());
}

TEST(ProcessMemoryTest, CountsHeapAndMappedMemory) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "the sanitizer's allocator does not fill mallinfo2, which the meter reads";
#endif
  constexpr size_t kBytes = 16u << 20;
  const MemorySample before = SampleMemory();
  std::vector<std::unique_ptr<uint8_t[]>> blocks;
  for (size_t i = 0; i < kBytes / 4096; ++i) {
    blocks.emplace_back(new uint8_t[4096]);
    std::memset(blocks.back().get(), 1, 4096);
  }
  void* mapped = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mapped, MAP_FAILED);
  std::memset(mapped, 1, kBytes);
  const uint64_t growth = MemoryGrowth(before, SampleMemory());
  EXPECT_GE(growth, 2 * kBytes - (1u << 20));
  EXPECT_LE(growth, 2 * kBytes + (4u << 20));
  munmap(mapped, kBytes);
  blocks.clear();
  EXPECT_LT(MemoryGrowth(before, SampleMemory()), 4u << 20);
}

Row MakeRow(std::string corpus, std::string contestant, double put, double get, uint64_t memory) {
  Row row;
  row.corpus = std::move(corpus);
  row.contestant = std::move(contestant);
  row.put_mb_per_s = put;
  row.get_mb_per_s = get;
  row.original_bytes = 1000;
  row.memory_bytes = memory;
  return row;
}

TEST(ReportTest, TargetsAreRatiosAgainstEachPeer) {
  std::vector<Row> rows = {MakeRow("m", "zcache-lz4", 300, 1000, 500), MakeRow("m", "zram-lz4", 100, 600, 500),
                           MakeRow("m", "rocksdb-lz4", 280, 900, 520)};
  rows[0].zipf = ZipfResult{.accesses = 100, .hits = 80};
  rows[2].zipf = ZipfResult{.accesses = 100, .hits = 90};
  std::map<std::string, TargetCheck> by_what;
  for (const TargetCheck& c : CheckTargets(rows, "zcache-lz4")) by_what[c.what] = c;
  ASSERT_EQ(by_what.size(), 7u);
  EXPECT_DOUBLE_EQ(by_what["put / zram-lz4"].ratio, 3.0);
  EXPECT_TRUE(by_what["put / zram-lz4"].met);
  EXPECT_FALSE(by_what["put / rocksdb-lz4"].met);  // 1.07 < 1.2
  EXPECT_FALSE(by_what["get / zram-lz4"].met);     // 1.67 < 2
  EXPECT_TRUE(by_what["get / rocksdb-lz4"].met);
  EXPECT_TRUE(by_what["density / zram-lz4"].met);  // equal counts
  EXPECT_TRUE(by_what["density / rocksdb-lz4"].met);
  EXPECT_NEAR(by_what["Zipf hit ratio / rocksdb-lz4"].ratio, 0.8 / 0.9, 1e-9);
  EXPECT_FALSE(by_what["Zipf hit ratio / rocksdb-lz4"].met);
}

TEST(ReportTest, MissingPeerIsSkippedNotFailed) {
  const std::vector<TargetCheck> checks = CheckTargets({MakeRow("m", "zcache-lz4", 1, 1, 1)}, "zcache-lz4");
  ASSERT_FALSE(checks.empty());
  for (const TargetCheck& c : checks) EXPECT_FALSE(c.skipped.empty()) << c.what;
}

TEST(ReportTest, CsvHasHeaderAndNaForMissingFigures) {
  const std::string path = ::testing::TempDir() + "/compare_test.csv";
  ASSERT_TRUE(WriteCsv(path, {MakeRow("m", "raw-lz4", 2, 3, 400)}).ok());
  std::ifstream in(path);
  std::string header, line;
  std::getline(in, header);
  std::getline(in, line);
  EXPECT_TRUE(header.starts_with("corpus,contestant,"));
  EXPECT_EQ(std::count(header.begin(), header.end(), ','), std::count(line.begin(), line.end(), ','));
  EXPECT_NE(line.find("m,raw-lz4,"), std::string::npos);
  EXPECT_NE(line.find("2.5000"), std::string::npos);  // density 1000 / 400
  EXPECT_NE(line.find("n/a"), std::string::npos);
  std::remove(path.c_str());
}

TEST(ReportTest, UnwritableCsvIsAnError) {
  const Status s = WriteCsv("/nonexistent-dir/x.csv", {});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent-dir/x.csv"), std::string::npos);
}

}  // namespace
}  // namespace cleancache::compare
