// Many threads on one zcache under eviction pressure: every hit must return
// exactly the last page put for that key (each thread owns its keys), and the
// capacity holds. Runs under TSan in CI.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "cleancache/backend_spec.h"

namespace cleancache {
namespace {

std::vector<uint8_t> PageFor(uint64_t key, uint64_t version) {
  std::vector<uint8_t> page(4096);
  uint64_t words[2] = {key, version};
  for (size_t off = 0; off < page.size(); off += 16) std::memcpy(&page[off], words, 16);
  page[(version * 7) % 4096] ^= 0x5A;  // not same-filled; compresses well
  return page;
}

TEST(ZCacheConcurrency, ThreadsKeepTheirOwnLastWritesUnderEviction) {
  auto made = CreateBackend("zcache:capacity=2M,shards=4,segment=64K");
  ASSERT_TRUE(made.ok());
  auto backend = std::move(made).value();
  PoolConfig private_pool;
  PoolConfig shared_pool;
  shared_pool.shared = true;
  const BackendPoolId pools[2] = {*backend->OpenPool(private_pool), *backend->OpenPool(shared_pool)};
  const uint64_t capacity = backend->Stats().capacity_bytes;
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(t);
      const uint64_t kKeys = 256;
      std::vector<uint64_t> version(kKeys * 2, 0);  // 0 = nothing stored
      std::vector<uint8_t> out(4096);
      for (int op = 0; op < 20000 && !failed; ++op) {
        uint64_t k = rng() % kKeys;
        int p = static_cast<int>(rng() % 2);
        uint64_t slot = k + p * kKeys;
        auto key = FileKey::FromInode(t, k / 16);
        uint64_t index = k % 16 + (uint64_t{1} << 63);
        switch (rng() % 4) {
          case 0:
          case 1:
            version[slot] = op + 1;
            backend->PutPage(pools[p], key, index, PageFor(slot, op + 1));
            break;
          case 2:
            if (backend->GetPage(pools[p], key, index, out)) {
              if (version[slot] == 0 || out != PageFor(slot, version[slot])) failed = true;
              if (p == 0) version[slot] = 0;  // exclusive get
            }
            break;
          case 3:
            backend->InvalidatePage(pools[p], key, index);
            version[slot] = 0;
            break;
        }
        if (op % 1000 == 0 && backend->Stats().real_memory_bytes > capacity) failed = true;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_FALSE(failed);
  EXPECT_LE(backend->Stats().real_memory_bytes, capacity);
}

// ~1.5 KiB compressed (random letters, then a repeat of them), so that a
// few hundred pages fill several segments.
std::vector<uint8_t> BulkyPageFor(uint64_t key, uint64_t version) {
  std::vector<uint8_t> page(4096);
  std::mt19937_64 rng(key * 1000003 + version);
  for (size_t i = 0; i < 1536; ++i) page[i] = static_cast<uint8_t>('a' + rng() % 16);
  for (size_t i = 1536; i < page.size(); ++i) page[i] = page[i - 1536];
  return page;
}

// Gets decompress outside the shard lock, straight from segment memory;
// compaction slides those bytes. Readers hammer pages of a shared pool that
// stay cached the whole time (every get must hit, with the right bytes)
// while a writer keeps punching holes next to them and compacting.
TEST(ZCacheConcurrency, CompactionNeverMovesBytesAGetIsReading) {
  auto made = CreateBackend("zcache:capacity=64M,shards=1,segment=64K,max_fragmentation=10");
  ASSERT_TRUE(made.ok());
  auto backend = std::move(made).value();
  PoolConfig shared_pool;
  shared_pool.shared = true;
  const BackendPoolId pool = *backend->OpenPool(shared_pool);
  const auto key = FileKey::FromInode(1, 1);
  constexpr uint64_t kPages = 512;  // even: kept; odd: put and dropped again each round
  std::vector<std::vector<uint8_t>> kept(kPages);
  for (uint64_t i = 0; i < kPages; i += 2) kept[i] = BulkyPageFor(i, 1);
  for (uint64_t i = 0; i < kPages; i += 2) backend->PutPage(pool, key, i, kept[i]);
  std::atomic<bool> stop{false}, failed{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&, t] {
      std::vector<uint8_t> out(4096);
      for (uint64_t n = t; !stop && !failed; ++n) {
        const uint64_t i = (n * 2) % kPages;
        if (!backend->GetPage(pool, key, i, out) || out != kept[i]) failed = true;
      }
    });
  }
  uint64_t compactions = 0;
  for (int round = 0; round < 40 && !failed; ++round) {
    // Fresh copies of the even pages between odd ones, so that the kept
    // pages sit between holes once the odd ones are dropped.
    for (uint64_t i = 0; i < kPages; ++i)
      backend->PutPage(pool, key, i, i % 2 == 0 ? kept[i] : BulkyPageFor(i, round + 2));
    for (uint64_t i = 1; i < kPages; i += 2) backend->InvalidatePage(pool, key, i);
    // While holes pass the threshold, making room drops an idle segment or
    // compacts one; it never evicts.
    for (BackendStats st = backend->Stats(); st.extra.at("fragmentation_permille") > 150; st = backend->Stats())
      backend->Shrink(st.real_memory_bytes - 1);
    compactions = backend->Stats().extra.at("compactions");
    ASSERT_EQ(backend->Stats().evictions, 0u) << "the test needs every even page to stay";
  }
  stop = true;
  for (auto& th : readers) th.join();
  EXPECT_FALSE(failed);
  EXPECT_GT(compactions, 0u);
}

}  // namespace
}  // namespace cleancache
