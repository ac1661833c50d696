// ObservedBackend: forwards to the backend it wraps, feeds its curve from
// gets and puts, records a trace, and gives Sizing figures that match a
// workload with a known answer; many threads at once (TSan).
#include "cleancache/observed_backend.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <thread>

#include "cleancache/backend_spec.h"
#include "cleancache/page_trace.h"
#include "cleancache/sizing_json.h"
#include "corpus/temp_tree.h"

namespace cleancache {
namespace {

std::unique_ptr<ObservedBackend> Observed(uint64_t capacity, std::unique_ptr<TraceWriter> trace = nullptr) {
  auto spec = ParseBackendSpec("zcache:capacity=" + std::to_string(capacity));
  auto backend = CreateBackend(*spec);
  EXPECT_TRUE(backend.ok());
  ObservedBackendOptions o;
  o.capacity_bytes = capacity;
  o.trace = std::move(trace);
  return std::make_unique<ObservedBackend>(std::move(*backend), std::move(o));
}

// Half random, half zero: LZ4 stores it in a little over half a page.
std::vector<uint8_t> Page(uint64_t i) {
  std::vector<uint8_t> p(4096, 0);
  std::mt19937_64 rng(i + 1);
  for (size_t j = 0; j < 2048; j += 8) {
    const uint64_t v = rng();
    std::memcpy(p.data() + j, &v, 8);
  }
  return p;
}

// Reads pages [0, n) `passes` times; a miss is put. Returns the hits.
uint64_t Loop(Backend& b, BackendPoolId pool, uint64_t file, uint64_t n, int passes) {
  const FileKey key = FileKey::FromInode(1, file);
  std::vector<uint8_t> out(4096);
  uint64_t hits = 0;
  for (int pass = 0; pass < passes; ++pass) {
    for (uint64_t i = 0; i < n; ++i) {
      if (b.GetPage(pool, key, i, out)) {
        ++hits;
      } else {
        b.PutPage(pool, key, i, Page(i));
      }
    }
  }
  return hits;
}

PoolConfig KeepOnGet() {
  PoolConfig c;
  c.keep_on_get = true;
  return c;
}

TEST(ObservedBackend, ForwardsAndSizesALoopThatFits) {
  auto b = Observed(64 << 20);
  auto pool = b->OpenPool(KeepOnGet());
  ASSERT_TRUE(pool.ok());
  // 8,000 pages, 4 passes, in 64 MiB: every reuse hits (3 of 4 reads).
  EXPECT_EQ(Loop(*b, *pool, 1, 8000, 4), 3u * 8000);
  EXPECT_EQ(b->reads(), 4u * 8000);
  EXPECT_EQ(b->Stats().pages_stored, b->inner().Stats().pages_stored);
  const Sizing s = b->SizingNow();
  EXPECT_EQ(s.capacity_bytes, 64u << 20);
  EXPECT_EQ(s.reads, 4u * 8000);
  EXPECT_NEAR(s.best_hit_ratio, 0.75, 0.03);
  EXPECT_NEAR(s.hit_ratio_now, 0.75, 0.03);
  // A loop: nothing hits below its 8,000 pages, so 90% of the best needs
  // about all of them (sampled: within 20%).
  const double loop_bytes = 8000 * s.bytes_per_page + static_cast<double>(s.fixed_bytes);
  ASSERT_TRUE(s.memory_for_90pct_bytes && s.memory_for_99pct_bytes);
  EXPECT_GT(static_cast<double>(*s.memory_for_90pct_bytes), 0.8 * loop_bytes);
  EXPECT_LT(static_cast<double>(*s.memory_for_99pct_bytes), 1.2 * loop_bytes);
  EXPECT_LE(*s.memory_for_90pct_bytes, *s.memory_for_95pct_bytes);
  EXPECT_LE(*s.memory_for_95pct_bytes, *s.memory_for_99pct_bytes);
  // A page's cost: compression counted (these pages compress), plus
  // zcache's metadata; the fixed part is half a segment per shard.
  EXPECT_LT(s.bytes_per_page, 4096);
  EXPECT_GT(s.bytes_per_page, 2048 + 44);
  const BackendStats st = b->Stats();
  EXPECT_EQ(s.fixed_bytes, st.extra.at("shards") * st.extra.at("segment_size") / 2);
  EXPECT_LE(s.curve_memory_bytes, (64u << 20) / 100);
  const nlohmann::json j = SizingJson(s);
  EXPECT_EQ(j["memory_for_90pct_bytes"].get<uint64_t>(), *s.memory_for_90pct_bytes);
  EXPECT_EQ(j["capacity_bytes"].get<uint64_t>(), 64u << 20);
}

TEST(ObservedBackend, ALoopPastTheCapacityHitsNothingNowAndSaysWhatItNeeds) {
  auto b = Observed(8 << 20);
  auto pool = b->OpenPool(KeepOnGet());
  // 16,000 pages of ~2.1 KiB stored: ~33 MiB, four times the capacity.
  const uint64_t hits = Loop(*b, *pool, 1, 16000, 4);
  const Sizing s = b->SizingNow();
  EXPECT_LT(static_cast<double>(hits) / (4 * 16000), 0.1);
  EXPECT_LT(s.hit_ratio_now, 0.1);
  EXPECT_GT(s.best_hit_ratio, 0.6);
  ASSERT_TRUE(s.memory_for_90pct_bytes);
  EXPECT_GT(*s.memory_for_90pct_bytes, s.capacity_bytes);
}

TEST(ObservedBackend, NothingReadNoMemoryFigures) {
  auto b = Observed(16 << 20);
  const Sizing s = b->SizingNow();
  EXPECT_EQ(s.reads, 0u);
  EXPECT_FALSE(s.memory_for_90pct_bytes);
  EXPECT_TRUE(SizingJson(s)["memory_for_90pct_bytes"].is_null());
}

TEST(ObservedBackend, RecordsEveryAccessInTheTrace) {
  testing::TempTree dir;
  const std::string path = dir.root() + "/t.trace";
  auto writer = TraceWriter::Create(path, {});
  ASSERT_TRUE(writer.ok());
  auto b = Observed(16 << 20, std::move(*writer));
  auto pool = b->OpenPool(KeepOnGet());
  const FileKey key = FileKey::FromInode(1, 9);
  std::vector<uint8_t> pages(3 * 4096), hit(3);
  b->GetPages(*pool, key, 10, 3, pages, hit);
  b->PutPages(*pool, key, 10, 3, pages);
  b->InvalidatePage(*pool, key, 11);
  ASSERT_TRUE(b->CloseTrace().ok());
  EXPECT_EQ(b->trace_records(), 7u);
  auto trace = ReadPageTrace(path);
  ASSERT_TRUE(trace.ok()) << trace.status().message();
  ASSERT_EQ(trace->records.size(), 7u);
  EXPECT_FALSE(trace->puts_recorded);  // the writer's option, off by default
  const TraceOp ops[] = {TraceOp::kGet, TraceOp::kGet, TraceOp::kGet,       TraceOp::kPut,
                         TraceOp::kPut, TraceOp::kPut, TraceOp::kInvalidate};
  const uint64_t indexes[] = {10, 11, 12, 10, 11, 12, 11};
  for (size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(trace->records[i].op, ops[i]) << i;
    EXPECT_EQ(trace->records[i].index, indexes[i]) << i;
    EXPECT_EQ(trace->records[i].file_hash, key.hash());
    EXPECT_EQ(trace->records[i].pool, static_cast<uint8_t>(*pool));
  }
  // After CloseTrace nothing more is recorded, and nothing breaks.
  b->GetPage(*pool, key, 10, std::span<uint8_t>(pages).first(4096));
  EXPECT_EQ(b->trace_records(), 7u);
}

TEST(ObservedBackend, ATraceBoundStopsRecordingAndReportsOnce) {
  testing::TempTree dir;
  TraceWriterOptions t;
  t.max_bytes = kTraceHeaderBytes + 5 * kTraceRecordBytes;
  auto writer = TraceWriter::Create(dir.root() + "/t.trace", t);
  ASSERT_TRUE(writer.ok());
  auto spec = ParseBackendSpec("zcache:capacity=16M");
  ObservedBackendOptions o;
  o.trace = std::move(*writer);
  int reports = 0;
  uint64_t at = 0;
  o.on_trace_full = [&](uint64_t records) {
    ++reports;
    at = records;
  };
  ObservedBackend b(std::move(*CreateBackend(*spec)), std::move(o));
  auto pool = b.OpenPool(KeepOnGet());
  Loop(b, *pool, 1, 20, 1);
  EXPECT_EQ(reports, 1);
  EXPECT_EQ(at, 5u);
  EXPECT_EQ(b.trace_records(), 5u);
  EXPECT_GT(b.trace_dropped(), 0u);
}

TEST(ObservedBackend, ManyThreadsAtOnce) {
  auto b = Observed(32 << 20);
  auto pool = b->OpenPool(KeepOnGet());
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop) (void)b->SizingNow();
  });
  std::vector<std::thread> threads;
  for (uint64_t t = 0; t < 4; ++t) threads.emplace_back([&, t] { Loop(*b, *pool, 100 + t, 2000, 3); });
  for (auto& t : threads) t.join();
  stop = true;
  reader.join();
  EXPECT_EQ(b->reads(), 4u * 2000 * 3);
  EXPECT_EQ(b->SizingNow().reads, 4u * 2000 * 3);
}

}  // namespace
}  // namespace cleancache
