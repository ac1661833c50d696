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

}  // namespace
}  // namespace cleancache
