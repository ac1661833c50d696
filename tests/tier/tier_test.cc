// tier:zcache+memcached against a real memcached on loopback: demotion of
// pages zcache evicts, promotion of remote hits, and coherency across tiers.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "cleancache/backend_spec.h"
#include "memcached/memcached_server.h"
#include "support/page_pattern.h"

namespace cleancache {
namespace {

using testing::FillPage;
using testing::MemcachedServer;
using testing::PageTag;
using testing::ReadPage;

constexpr uint32_t kPageSize = 4096;
// Enough pages to overflow a 1 MiB zcache several times over.
constexpr uint64_t kPages = 3000;

FileKey File(uint64_t n) { return FileKey::FromInode(0x7165, n); }

class TierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = MemcachedServer::Start();
    ASSERT_TRUE(server_) << "cannot start /usr/bin/memcached";
    auto backend = CreateBackend("tier:zcache:capacity=1M,segment=64K,shards=1+" +
                                 testing::MemcachedSpec({server_.get()}, "timeout=1000"));
    ASSERT_TRUE(backend.ok()) << backend.status().ToString();
    backend_ = std::move(backend.value());
  }

  BackendPoolId Open(bool shared) {
    PoolConfig config;
    config.shared = shared;
    return backend_->OpenPool(config).value();
  }

  void Put(BackendPoolId pool, uint64_t file, uint64_t index, uint64_t version) {
    std::vector<uint8_t> page(kPageSize);
    FillPage(page, PageTag{static_cast<uint32_t>(file), index, version});
    backend_->PutPage(pool, File(file), index, page);
  }

  // Version read, 0 on a miss; fails the test on a foreign page.
  uint64_t Get(BackendPoolId pool, uint64_t file, uint64_t index) {
    std::vector<uint8_t> page(kPageSize);
    if (!backend_->GetPage(pool, File(file), index, page)) return 0;
    auto tag = ReadPage(page);
    EXPECT_TRUE(tag && tag->key_id == file && tag->index == index);
    return tag ? tag->version : ~0ull;
  }

  uint64_t Extra(const std::string& name) { return backend_->Stats().extra[name]; }

  // Waits (bounded) until the demotion worker has drained its queue.
  void WaitForDemotions() {
    for (int i = 0; i < 500 && Extra("demotions_queued") > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // Fills the local tier with pages of file 999 so everything older is evicted.
  void Flood(BackendPoolId pool) {
    for (uint64_t i = 0; i < kPages; ++i) {
      Put(pool, 999, i, 1);
      if (i % 256 == 0) WaitForDemotions();
    }
    WaitForDemotions();
  }

  std::unique_ptr<MemcachedServer> server_;
  std::unique_ptr<Backend> backend_;
};

TEST_F(TierTest, EvictedPagesAreDemotedAndRemoteHitsPromoted) {
  BackendPoolId pool = Open(true);
  for (uint64_t i = 0; i < 64; ++i) Put(pool, 1, i, 5);
  Flood(pool);
  EXPECT_GT(Extra("demotions"), 0u);
  uint64_t hits = 0;
  for (uint64_t i = 0; i < 64; ++i) {
    uint64_t version = Get(pool, 1, i);
    EXPECT_TRUE(version == 0 || version == 5) << version;
    hits += version == 5;
  }
  EXPECT_GT(hits, 32u) << "most of file 1 should have come back from memcached";
  EXPECT_GT(Extra("remote_hits"), 0u);
  EXPECT_GT(Extra("promotions"), 0u);
  // Promoted: the second read is served locally.
  uint64_t remote_before = Extra("remote_hits");
  for (uint64_t i = 0; i < 8; ++i) Get(pool, 1, i);
  EXPECT_EQ(Extra("remote_hits"), remote_before);
}

TEST_F(TierTest, PrivatePoolRemoteHitsAreExclusive) {
  BackendPoolId pool = Open(false);
  for (uint64_t i = 0; i < 64; ++i) Put(pool, 1, i, 5);
  Flood(pool);
  uint64_t hits = 0;
  for (uint64_t i = 0; i < 64; ++i) hits += Get(pool, 1, i) == 5;
  EXPECT_GT(hits, 0u);
  for (uint64_t i = 0; i < 64; ++i) EXPECT_EQ(Get(pool, 1, i), 0u) << i;
}

// The trap of tiering: a demoted copy must never outlive a newer put.
TEST_F(TierTest, NewerPutHidesTheDemotedCopy) {
  BackendPoolId pool = Open(false);
  for (uint64_t i = 0; i < 64; ++i) Put(pool, 1, i, 1);
  Flood(pool);                                           // version 1 now lives in memcached
  for (uint64_t i = 0; i < 64; ++i) Put(pool, 1, i, 2);  // version 2 locally
  for (uint64_t i = 0; i < 64; ++i) {
    uint64_t version = Get(pool, 1, i);  // exclusive: empties the local tier
    EXPECT_TRUE(version == 0 || version == 2) << version;
    EXPECT_EQ(Get(pool, 1, i), 0u) << "version 1 came back from the remote tier";
  }
}

TEST_F(TierTest, InvalidationsReachBothTiers) {
  BackendPoolId pool = Open(true);
  for (uint64_t i = 0; i < 64; ++i) {
    Put(pool, 1, i, 1);
    Put(pool, 2, i, 1);
  }
  Flood(pool);
  backend_->InvalidateInode(pool, File(1));
  backend_->InvalidatePage(pool, File(2), 0);
  for (uint64_t i = 0; i < 64; ++i) EXPECT_EQ(Get(pool, 1, i), 0u) << i;
  EXPECT_EQ(Get(pool, 2, 0), 0u);
  uint64_t hits = 0;
  for (uint64_t i = 1; i < 64; ++i) hits += Get(pool, 2, i) == 1;
  EXPECT_GT(hits, 0u);
}

TEST_F(TierTest, DeadRemoteLeavesTheLocalTierWorking) {
  BackendPoolId pool = Open(true);
  server_->Kill();
  for (uint64_t i = 0; i < 16; ++i) Put(pool, 1, i, 3);
  for (uint64_t i = 0; i < 16; ++i) EXPECT_EQ(Get(pool, 1, i), 3u);
  Flood(pool);  // demotions now fail: misses, never errors
  for (uint64_t i = 0; i < 16; ++i) EXPECT_NE(Get(pool, 1, i), ~0ull);
}

TEST_F(TierTest, BatchedGetsCombineBothTiers) {
  BackendPoolId pool = Open(true);
  for (uint64_t i = 0; i < 32; ++i) Put(pool, 1, i, 4);
  Flood(pool);
  for (uint64_t i = 0; i < 32; i += 4) Put(pool, 1, i, 6);  // some pages local and newer
  std::vector<uint8_t> pages(32 * kPageSize), hit(32);
  size_t hits = backend_->GetPages(pool, File(1), 0, 32, pages, hit);
  EXPECT_GT(hits, 8u);
  for (size_t i = 0; i < 32; ++i) {
    if (!hit[i]) continue;
    auto tag = ReadPage(std::span<const uint8_t>(pages).subspan(i * kPageSize, kPageSize));
    ASSERT_TRUE(tag);
    EXPECT_EQ(tag->version, i % 4 == 0 ? 6u : 4u) << i;
  }
}

TEST(TierSpecTest, BadPartsAreClearErrors) {
  auto unreachable = CreateBackend("tier:zcache+memcached://127.0.0.1:1?connect_timeout=50");
  ASSERT_FALSE(unreachable.ok());
  EXPECT_NE(unreachable.status().message().find("127.0.0.1:1"), std::string::npos);
  auto bad_local = CreateBackend("tier:zcache:capacity=1K+memcached://127.0.0.1:1");
  ASSERT_FALSE(bad_local.ok());
  EXPECT_NE(bad_local.status().message().find("capacity"), std::string::npos);
}

}  // namespace
}  // namespace cleancache
