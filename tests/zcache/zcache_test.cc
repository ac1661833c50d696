// zcache-specific guarantees (the generic contract is in the contract suite):
// codecs, same-filled pages, the incompressible policy, the hard capacity,
// invalidation cost, compaction, second chance, memory control, the listener.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "cleancache/backend_spec.h"
#include "cleancache/zcache.h"

namespace cleancache {
namespace {

std::vector<uint8_t> TextPage(uint32_t size, uint64_t seed) {
  std::vector<uint8_t> page(size);
  std::mt19937_64 rng(seed);
  static const char* kWords[] = {"page ", "cache ", "clean ", "kernel ", "zcache ", "memory ", "\n", "tmem "};
  size_t off = 0;
  while (off < size) {
    const char* w = kWords[rng() % 8];
    for (size_t i = 0; w[i] != 0 && off < size; ++i) page[off++] = static_cast<uint8_t>(w[i]);
    if (off < size && rng() % 4 == 0) page[off++] = static_cast<uint8_t>('0' + rng() % 10);
  }
  return page;
}

std::vector<uint8_t> RandomPage(uint32_t size, uint64_t seed) {
  std::vector<uint8_t> page(size);
  std::mt19937_64 rng(seed);
  for (auto& b : page) b = static_cast<uint8_t>(rng());
  return page;
}

std::vector<uint8_t> FilledPage(uint32_t size, uint64_t word) {
  std::vector<uint8_t> page(size);
  for (size_t off = 0; off < size; off += 8) std::memcpy(&page[off], &word, 8);
  return page;
}

std::unique_ptr<Backend> Make(const std::string& spec) {
  auto b = CreateBackend(spec);
  EXPECT_TRUE(b.ok()) << b.status().ToString();
  return b.ok() ? std::move(b).value() : nullptr;
}

BackendPoolId Pool(Backend& b, uint32_t page_size = 4096, bool shared = false) {
  PoolConfig c;
  c.page_size = page_size;
  c.shared = shared;
  if (shared) c.uuid.bytes[0] = 7;
  auto id = b.OpenPool(c);
  EXPECT_TRUE(id.ok());
  return *id;
}

class CodecTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CodecTest, RoundTripsEveryKindOfPageAtEveryPageSize) {
  for (uint32_t size = 512; size <= 65536; size *= 2) {
    auto b = Make("zcache:capacity=64M,codec=" + GetParam());
    auto pool = Pool(*b, size);
    auto key = FileKey::FromInode(1, 2);
    std::vector<std::vector<uint8_t>> pages = {TextPage(size, 1), RandomPage(size, 2), FilledPage(size, 0),
                                               FilledPage(size, 0x0102030405060708ull)};
    for (size_t i = 0; i < pages.size(); ++i) b->PutPage(pool, key, i, pages[i]);
    for (size_t i = 0; i < pages.size(); ++i) {
      std::vector<uint8_t> out(size, 0xEE);
      ASSERT_TRUE(b->GetPage(pool, key, i, out)) << "size " << size << " page " << i;
      EXPECT_EQ(out, pages[i]) << "size " << size << " page " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Codecs, CodecTest, ::testing::Values("lz4", "zstd", "zstd,level=9", "none"));

TEST(ZCache, SameFilledPagesUseNoData) {
  auto b = Make("zcache:capacity=16M");
  auto pool = Pool(*b);
  auto key = FileKey::FromInode(1, 1);
  for (uint64_t i = 0; i < 1000; ++i) b->PutPage(pool, key, i, FilledPage(4096, i % 3 == 0 ? 0 : i));
  auto st = b->Stats();
  EXPECT_EQ(st.same_filled_pages, 1000u);
  EXPECT_EQ(st.compressed_bytes, 0u);
  EXPECT_EQ(st.extra["segment_bytes_used"], 0u);
  // Far less than a page each: an entry and its share of the index.
  EXPECT_LT(st.real_memory_bytes, 1000u * 200);
}

TEST(ZCache, IncompressiblePagesAreStoredRawByDefault) {
  auto b = Make("zcache:capacity=16M");
  auto pool = Pool(*b);
  auto key = FileKey::FromInode(1, 1);
  auto page = RandomPage(4096, 9);
  b->PutPage(pool, key, 0, page);
  auto st = b->Stats();
  EXPECT_EQ(st.stored_raw, 1u);
  EXPECT_EQ(st.rejected_incompressible, 0u);
  EXPECT_EQ(st.compressed_bytes, 4096u);  // never more than the page itself
  std::vector<uint8_t> out(4096);
  ASSERT_TRUE(b->GetPage(pool, key, 0, out));
  EXPECT_EQ(out, page);
}

TEST(ZCache, RejectPolicyRefusesPoorPagesAndDropsTheOldCopy) {
  auto b = Make("zcache:capacity=16M,incompressible=reject,threshold=50%");
  auto pool = Pool(*b);
  auto key = FileKey::FromInode(1, 1);
  b->PutPage(pool, key, 0, TextPage(4096, 1));
  b->PutPage(pool, key, 0, RandomPage(4096, 2));  // refused: the text copy must go too
  auto st = b->Stats();
  EXPECT_EQ(st.rejected_incompressible, 1u);
  EXPECT_EQ(st.pages_stored, 0u);
  std::vector<uint8_t> out(4096);
  EXPECT_FALSE(b->GetPage(pool, key, 0, out));
}

// Fills 10x past the capacity with each kind of page; real memory must never
// pass the capacity, and what is still there must be right.
TEST(ZCache, CapacityIsNeverExceeded) {
  struct Case {
    std::string spec;
    uint32_t page_size;
    int kind;  // 0 text, 1 random, 2 same-filled, 3 mix
  };
  for (const auto& c : std::vector<Case>{{"zcache:capacity=1M", 4096, 0},
                                         {"zcache:capacity=1M", 4096, 1},
                                         {"zcache:capacity=1M", 4096, 2},
                                         {"zcache:capacity=4M", 4096, 3},
                                         {"zcache:capacity=4M,codec=zstd", 65536, 3},
                                         {"zcache:capacity=2M", 512, 3}}) {
    SCOPED_TRACE(c.spec + " page " + std::to_string(c.page_size) + " kind " + std::to_string(c.kind));
    auto b = Make(c.spec);
    const uint64_t capacity = b->Stats().capacity_bytes;
    auto pool = Pool(*b, c.page_size);
    std::map<std::pair<uint64_t, uint64_t>, uint64_t> seed_of;
    uint64_t put_bytes = 0;
    for (uint64_t i = 0; (put_bytes < 10 * capacity || b->Stats().evictions == 0) && i < 2'000'000; ++i) {
      int kind = c.kind == 3 ? static_cast<int>(i % 3) : c.kind;
      auto page = kind == 0   ? TextPage(c.page_size, i)
                  : kind == 1 ? RandomPage(c.page_size, i)
                              : FilledPage(c.page_size, i);
      uint64_t file = i % 37;
      b->PutPage(pool, FileKey::FromInode(1, file), i, page);
      seed_of[{file, i}] = i;
      put_bytes += c.page_size;
      ASSERT_LE(b->Stats().real_memory_bytes, capacity) << "after put " << i;
    }
    auto st = b->Stats();
    EXPECT_GT(st.evictions, 0u);
    EXPECT_GT(st.pages_stored, 0u);
    uint64_t hits = 0;
    for (auto& [k, seed] : seed_of) {
      std::vector<uint8_t> out(c.page_size);
      if (!b->GetPage(pool, FileKey::FromInode(1, k.first), k.second, out)) continue;
      ++hits;
      int kind = c.kind == 3 ? static_cast<int>(seed % 3) : c.kind;
      auto want = kind == 0   ? TextPage(c.page_size, seed)
                  : kind == 1 ? RandomPage(c.page_size, seed)
                              : FilledPage(c.page_size, seed);
      ASSERT_EQ(out, want);
    }
    EXPECT_EQ(hits, st.pages_stored);
  }
}

// invalidate_inode / invalidate_fs must not scan the cache: the records they
// visit depend only on the pages they drop (and the shard count).
TEST(ZCache, InvalidationCostDoesNotGrowWithOtherFiles) {
  auto steps_to_invalidate = [](int other_files) {
    auto b = Make("zcache:capacity=256M,shards=8");
    auto pool = Pool(*b);
    auto other_pool = Pool(*b);
    for (int f = 0; f < other_files; ++f)
      for (int i = 0; i < 4; ++i) {
        b->PutPage(pool, FileKey::FromInode(2, f), i, TextPage(4096, f * 4 + i));
        b->PutPage(other_pool, FileKey::FromInode(2, f), i, TextPage(4096, f * 4 + i));
      }
    auto victim = FileKey::FromInode(9, 9);
    for (int i = 0; i < 100; ++i) b->PutPage(pool, victim, i, TextPage(4096, 1000 + i));
    uint64_t before = b->Stats().extra["invalidate_steps"];
    b->InvalidateInode(pool, victim);
    uint64_t inode_steps = b->Stats().extra["invalidate_steps"] - before;
    std::vector<uint8_t> out(4096);
    for (int i = 0; i < 100; ++i) EXPECT_FALSE(b->GetPage(pool, victim, i, out));
    // A pool holding only the victim's pages, among all the others.
    auto small_pool = Pool(*b);
    for (int i = 0; i < 100; ++i) b->PutPage(small_pool, victim, i, TextPage(4096, 1000 + i));
    before = b->Stats().extra["invalidate_steps"];
    b->ClosePool(small_pool);
    uint64_t fs_steps = b->Stats().extra["invalidate_steps"] - before;
    return std::make_pair(inode_steps, fs_steps);
  };
  auto few = steps_to_invalidate(10);
  auto many = steps_to_invalidate(5000);
  EXPECT_EQ(few.first, many.first);
  EXPECT_EQ(few.second, many.second);
  EXPECT_LE(few.first, 100u + 8u + 8u);
}

// Exclusive gets punch holes; when room is needed, the emptiest segments are
// compacted instead of evicting live pages, and no page is damaged.
TEST(ZCache, CompactionReclaimsHolesWithoutLosingPages) {
  auto b = Make("zcache:capacity=8M,shards=1,segment=256K,max_fragmentation=20");
  const uint64_t capacity = b->Stats().capacity_bytes;
  auto pool = Pool(*b);
  auto key = FileKey::FromInode(1, 1);
  uint64_t n = 0;
  while (b->Stats().evictions == 0) b->PutPage(pool, key, n, TextPage(4096, n)), ++n;
  // Take every other page (exclusive gets): 50% holes everywhere.
  std::vector<uint8_t> out(4096);
  for (uint64_t i = 0; i < n; i += 2) b->GetPage(pool, key, i, out);
  auto frag_before = b->Stats().extra["fragmentation_permille"];
  EXPECT_GT(frag_before, 300u);
  // New pages: room comes from compaction, not from dropping the odd pages.
  for (uint64_t i = 0; i < n / 4; ++i) {
    b->PutPage(pool, FileKey::FromInode(1, 2), i, TextPage(4096, 777 + i));
    ASSERT_LE(b->Stats().real_memory_bytes, capacity);
  }
  auto st = b->Stats();
  EXPECT_GT(st.extra["compactions"], 0u);
  EXPECT_LT(st.extra["fragmentation_permille"], frag_before);
  uint64_t odd_kept = 0;
  for (uint64_t i = 1; i < n; i += 2) {
    if (!b->GetPage(pool, key, i, out)) continue;
    ++odd_kept;
    ASSERT_EQ(out, TextPage(4096, i));
  }
  // Every odd page is still here and intact, or was counted as evicted.
  EXPECT_GE(odd_kept + st.evictions, n / 2);
  EXPECT_GT(odd_kept, n / 4) << "compaction should have kept most of the surviving pages";
}

TEST(ZCache, SharedPoolPagesHitSinceStoredGetASecondChance) {
  auto b = Make("zcache:capacity=4M,shards=1,segment=64K");
  auto pool = Pool(*b, 4096, /*shared=*/true);
  std::vector<uint8_t> out(4096);
  auto hot = FileKey::FromInode(1, 1);
  for (int i = 0; i < 32; ++i) b->PutPage(pool, hot, i, TextPage(4096, i));
  auto cold = FileKey::FromInode(1, 2);
  for (int round = 0; round < 40; ++round) {
    for (int i = 0; i < 32; ++i) b->GetPage(pool, hot, i, out);  // keep them referenced
    for (int i = 0; i < 64; ++i) b->PutPage(pool, cold, round * 64 + i, RandomPage(4096, round * 64 + i));
  }
  ASSERT_GT(b->Stats().evictions, 0u);
  int hot_hits = 0;
  for (int i = 0; i < 32; ++i) {
    if (b->GetPage(pool, hot, i, out)) {
      ++hot_hits;
      ASSERT_EQ(out, TextPage(4096, i));
    }
  }
  EXPECT_GE(hot_hits, 28);
}

TEST(ZCache, ShrinkAndSetCapacityReleaseMemory) {
  auto b = Make("zcache:capacity=32M");
  auto pool = Pool(*b);
  for (int i = 0; i < 4000; ++i) b->PutPage(pool, FileKey::FromInode(1, i % 10), i, TextPage(4096, i));
  uint64_t full = b->Stats().real_memory_bytes;
  uint64_t after = b->Shrink(full / 2);
  EXPECT_LE(after, full / 2);
  EXPECT_EQ(after, b->Stats().real_memory_bytes);
  b->SetCapacity(4u << 20);
  EXPECT_LE(b->Stats().real_memory_bytes, 4u << 20);
  EXPECT_EQ(b->Stats().capacity_bytes, 4u << 20);
}

// A drain by exclusive gets keeps emptied segments (at most a quarter of the
// capacity) for reuse; Shrink gives them back first; reuse serves new puts.
TEST(ZCache, DrainedSegmentsAreKeptForReuseWithinAQuarterOfCapacity) {
  auto b = Make("zcache:capacity=16M,shards=1,segment=256K");
  const uint64_t capacity = b->Stats().capacity_bytes;
  auto pool = Pool(*b);
  auto key = FileKey::FromInode(1, 1);
  for (uint64_t i = 0; i < 2500; ++i) b->PutPage(pool, key, i, RandomPage(4096, i));
  const uint64_t full = b->Stats().real_memory_bytes;
  ASSERT_GT(full, capacity / 2);
  std::vector<uint8_t> out(4096);
  for (uint64_t i = 0; i < 2500; ++i) ASSERT_TRUE(b->GetPage(pool, key, i, out));
  auto drained = b->Stats();
  EXPECT_EQ(drained.pages_stored, 0u);
  EXPECT_LT(drained.real_memory_bytes, full / 2);
  EXPECT_GT(drained.real_memory_bytes, capacity / 8);  // the idle pool is there...
  const uint64_t metadata = b->Shrink(0);              // ...and is the first to go
  EXPECT_LT(metadata, capacity / 16);
  for (uint64_t i = 0; i < 100; ++i) b->PutPage(pool, key, i, RandomPage(4096, 7 + i));
  for (uint64_t i = 0; i < 100; ++i) {
    ASSERT_TRUE(b->GetPage(pool, key, i, out));
    ASSERT_EQ(out, RandomPage(4096, 7 + i));
  }
}

// A cache at capacity makes room for a new head by evicting its oldest
// segment and reusing that memory, already faulted in: it does not unmap it
// and map (and fault in, and zero) a fresh one per segment of puts.
TEST(ZCache, ACacheAtCapacityRecyclesItsSegments) {
  auto b = Make("zcache:capacity=64M,shards=8,segment=1M");
  const uint64_t capacity = b->Stats().capacity_bytes;
  auto pool = Pool(*b);
  uint64_t i = 0;
  for (; b->Stats().evictions == 0; ++i) b->PutPage(pool, FileKey::FromInode(1, i % 7), i, TextPage(4096, i));
  const uint64_t mapped = b->Stats().extra.at("segments_mapped");
  const uint64_t first = i;
  for (; i < first + 40'000; ++i) {  // ~10x the capacity in compressed text
    b->PutPage(pool, FileKey::FromInode(1, i % 7), i, TextPage(4096, i));
    ASSERT_LE(b->Stats().real_memory_bytes, capacity);
  }
  const BackendStats after = b->Stats();
  EXPECT_GT(after.evictions, 20'000u);
  EXPECT_LE(after.extra.at("segments_mapped") - mapped, 2u) << "one per shard at most, while the shard settles";
  std::vector<uint8_t> out(4096);
  ASSERT_TRUE(b->GetPage(pool, FileKey::FromInode(1, (i - 1) % 7), i - 1, out));
  EXPECT_EQ(out, TextPage(4096, i - 1));
}

class RecordingListener : public EvictionListener {
 public:
  void OnEvict(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<const uint8_t> page) override {
    evicted[index] = std::vector<uint8_t>(page.begin(), page.end());
    keys.push_back(key);
  }
  std::map<uint64_t, std::vector<uint8_t>> evicted;
  std::vector<FileKey> keys;
};

TEST(ZCache, EvictionListenerSeesEvictedPagesOnly) {
  auto b = Make("zcache:capacity=1M");
  RecordingListener listener;
  b->SetEvictionListener(&listener);
  auto pool = Pool(*b);
  auto key = FileKey::FromInode(3, 4);
  std::vector<uint8_t> out(4096);
  b->PutPage(pool, key, 999999, TextPage(4096, 5));
  ASSERT_TRUE(b->GetPage(pool, key, 999999, out));  // a get is not an eviction
  b->PutPage(pool, key, 999998, TextPage(4096, 6));
  b->InvalidatePage(pool, key, 999998);  // nor is an invalidation
  for (uint64_t i = 0; i < 2000; ++i) b->PutPage(pool, key, i, i % 5 == 0 ? FilledPage(4096, i) : TextPage(4096, i));
  b->SetEvictionListener(nullptr);
  EXPECT_EQ(listener.evicted.size(), b->Stats().evictions);
  EXPECT_EQ(listener.evicted.count(999999), 0u);
  EXPECT_EQ(listener.evicted.count(999998), 0u);
  ASSERT_FALSE(listener.evicted.empty());
  for (auto& [index, page] : listener.evicted)
    ASSERT_EQ(page, index % 5 == 0 ? FilledPage(4096, index) : TextPage(4096, index));
  for (auto& k : listener.keys) EXPECT_EQ(k, key);
}

TEST(ZCache, SpecErrorsAreClear) {
  struct Bad {
    std::string spec, needle;
  };
  for (const auto& bad : std::vector<Bad>{{"zcache:capacity=lots", "capacity"},
                                          {"zcache:capacity=1K", "minimum"},
                                          {"zcache:codec=lzo", "unknown codec 'lzo'"},
                                          {"zcache:level=99", "level=99"},
                                          {"zcache:threshold=5%", "threshold"},
                                          {"zcache:incompressible=maybe", "raw or reject"},
                                          {"zcache:same_filled=perhaps", "on or off"},
                                          {"zcache:shards=3", "power of two"},
                                          {"zcache:segment=1K", "segment"},
                                          {"zcache:colour=blue", "colour"}}) {
    auto b = CreateBackend(bad.spec);
    ASSERT_FALSE(b.ok()) << bad.spec;
    EXPECT_NE(b.status().message().find(bad.needle), std::string::npos) << bad.spec << ": " << b.status().message();
  }
  auto ok =
      ZCacheOptions::FromSpec(*ParseBackendSpec("zcache:capacity=1G,codec=zstd,level=3,threshold=80%,incompressible="
                                                "reject,same_filled=off,shards=4,segment=256K,max_fragmentation=30"));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->capacity, 1ull << 30);
  EXPECT_EQ(ok->codec, Codec::kZstd);
  EXPECT_EQ(ok->level, 3);
  EXPECT_EQ(ok->threshold_percent, 80u);
  EXPECT_FALSE(ok->store_incompressible);
  EXPECT_FALSE(ok->same_filled);
  EXPECT_EQ(ok->shards, 4u);
  EXPECT_EQ(ok->segment_bytes, 256u << 10);
  EXPECT_EQ(ok->max_fragmentation_percent, 30u);
}

TEST(ZCache, WrongSizedBuffersAreRefused) {
  auto b = Make("zcache:capacity=4M");
  auto pool = Pool(*b, 4096);
  auto key = FileKey::FromInode(1, 1);
  auto small = TextPage(2048, 1);
  b->PutPage(pool, key, 0, small);
  EXPECT_EQ(b->Stats().pages_stored, 0u);
  b->PutPage(pool, key, 0, TextPage(4096, 1));
  std::vector<uint8_t> out(8192);
  EXPECT_FALSE(b->GetPage(pool, key, 0, out));
}

}  // namespace
}  // namespace cleancache
