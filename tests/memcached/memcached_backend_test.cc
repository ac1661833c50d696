// The memcached backend against a real memcached on loopback: contract,
// coherency across generation bumps, integrity (tampering in the server) and
// failures (dead, paused, flushed server).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "cleancache/backend_spec.h"
#include "cleancache/memcached_backend.h"
#include "memcached/fault_proxy.h"
#include "memcached/memcached_server.h"
#include "support/page_pattern.h"

namespace cleancache {
namespace {

using testing::FaultProxy;
using testing::FillPage;
using testing::MemcachedServer;
using testing::MemcachedSpec;
using testing::PageTag;
using testing::ReadPage;

constexpr uint32_t kPageSize = 4096;
// Tests that expect hits wait long for replies, so a loaded CI machine cannot
// turn a slow reply into a miss; failure tests set short timeouts themselves.
constexpr const char* kPatientClient = "timeout=2000&connect_timeout=2000";

std::vector<uint8_t> Page(uint32_t key_id, uint64_t index, uint64_t version) {
  std::vector<uint8_t> page(kPageSize);
  FillPage(page, PageTag{key_id, index, version});
  return page;
}

FileKey File(uint64_t n) { return FileKey::FromInode(0xCAFE, n); }

class MemcachedBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = MemcachedServer::Start();
    ASSERT_TRUE(server_) << "cannot start /usr/bin/memcached";
    backend_ = Create(kPatientClient);
    ASSERT_TRUE(backend_);
  }

  std::unique_ptr<Backend> Create(const std::string& options) {
    auto backend = CreateBackend(MemcachedSpec({server_.get()}, options));
    EXPECT_TRUE(backend.ok()) << backend.status().ToString();
    return backend.ok() ? std::move(backend.value()) : nullptr;
  }

  // A backend with one connection, through `proxy` to the server.
  std::unique_ptr<Backend> CreateThroughProxy(const FaultProxy& proxy) {
    auto backend = CreateBackend("memcached://" + proxy.address() + "?" + kPatientClient + "&connections=1");
    EXPECT_TRUE(backend.ok()) << backend.status().ToString();
    return backend.ok() ? std::move(backend.value()) : nullptr;
  }

  BackendPoolId Open(bool shared, Backend* backend = nullptr) {
    PoolConfig config;
    config.shared = shared;
    config.uuid = Uuid::Parse("0123456789abcdef0123456789abcdef").value();
    auto pool = (backend ? backend : backend_.get())->OpenPool(config);
    EXPECT_TRUE(pool.ok());
    return pool.ok() ? *pool : 0;
  }

  // The version of the page a get returns, 0 on a miss; fails on a wrong page.
  uint64_t Get(BackendPoolId pool, uint64_t file, uint64_t index, Backend* backend = nullptr) {
    std::vector<uint8_t> page(kPageSize);
    if (!(backend ? backend : backend_.get())->GetPage(pool, File(file), index, page)) return 0;
    auto tag = ReadPage(page);
    EXPECT_TRUE(tag && tag->key_id == file && tag->index == index) << "a hit returned another page";
    return tag ? tag->version : ~0ull;
  }

  void Put(BackendPoolId pool, uint64_t file, uint64_t index, uint64_t version, Backend* backend = nullptr) {
    (backend ? backend : backend_.get())->PutPage(pool, File(file), index, Page(file, index, version));
  }

  // One multi-get of pages [first, first + count) of `file`: the version of
  // each page, 0 for a miss; fails on a hit that returned another page.
  std::vector<uint64_t> GetRun(BackendPoolId pool, uint64_t file, uint64_t first, size_t count,
                               Backend* backend = nullptr) {
    std::vector<uint8_t> pages(count * kPageSize), hit(count);
    size_t hits = (backend ? backend : backend_.get())->GetPages(pool, File(file), first, count, pages, hit);
    std::vector<uint64_t> versions(count);
    size_t counted = 0;
    for (size_t i = 0; i < count; ++i) {
      if (!hit[i]) continue;
      ++counted;
      auto tag = ReadPage(std::span<const uint8_t>(pages).subspan(i * kPageSize, kPageSize));
      EXPECT_TRUE(tag && tag->key_id == file && tag->index == first + i) << "a hit returned another page";
      versions[i] = tag ? tag->version : ~0ull;
    }
    EXPECT_EQ(hits, counted);
    return versions;
  }

  uint64_t Extra(const char* name, Backend* backend = nullptr) {
    return (backend ? backend : backend_.get())->Stats().extra[name];
  }

  // The one key that appeared in the server since `before`.
  std::string NewKey(const std::vector<std::string>& before) {
    std::vector<std::string> keys = server_->RawKeys();
    std::string found;
    for (const auto& key : keys) {
      if (std::find(before.begin(), before.end(), key) == before.end()) {
        EXPECT_TRUE(found.empty()) << "more than one new key";
        found = key;
      }
    }
    EXPECT_FALSE(found.empty()) << "no new key in the server";
    return found;
  }

  std::unique_ptr<MemcachedServer> server_;
  std::unique_ptr<Backend> backend_;
};

TEST_F(MemcachedBackendTest, NameShowsServersAndProtection) {
  EXPECT_NE(backend_->Name().find(server_->address()), std::string::npos) << backend_->Name();
  EXPECT_EQ(backend_->Name().find("plaintext"), std::string::npos) << backend_->Name();
}

TEST_F(MemcachedBackendTest, SharedPoolKeepsPagesAfterGets) {
  BackendPoolId pool = Open(true);
  Put(pool, 1, 0, 7);
  EXPECT_EQ(Get(pool, 1, 0), 7u);
  EXPECT_EQ(Get(pool, 1, 0), 7u);
  EXPECT_EQ(Get(pool, 1, 1), 0u);
}

TEST_F(MemcachedBackendTest, PrivatePoolGetsAreExclusive) {
  BackendPoolId pool = Open(false);
  Put(pool, 1, 5, 3);
  EXPECT_EQ(Get(pool, 1, 5), 3u);
  EXPECT_EQ(Get(pool, 1, 5), 0u);
  EXPECT_TRUE(server_->RawKeys().empty());
}

TEST_F(MemcachedBackendTest, SecondPutReplacesTheFirst) {
  BackendPoolId pool = Open(true);
  Put(pool, 1, 0, 1);
  Put(pool, 1, 0, 2);
  EXPECT_EQ(Get(pool, 1, 0), 2u);
}

TEST_F(MemcachedBackendTest, InvalidationsCoverExactlyTheirPages) {
  BackendPoolId pool = Open(true);
  for (uint64_t i = 0; i < 4; ++i) {
    Put(pool, 1, i, 10 + i);
    Put(pool, 2, i, 20 + i);
  }
  backend_->InvalidatePage(pool, File(1), 0);
  EXPECT_EQ(Get(pool, 1, 0), 0u);
  EXPECT_EQ(Get(pool, 1, 1), 11u);
  backend_->InvalidateInode(pool, File(1));
  for (uint64_t i = 0; i < 4; ++i) {
    EXPECT_EQ(Get(pool, 1, i), 0u) << i;
    EXPECT_EQ(Get(pool, 2, i), 20 + i) << i;
  }
  // A new generation starts empty and works as before.
  Put(pool, 1, 2, 99);
  EXPECT_EQ(Get(pool, 1, 2), 99u);
  EXPECT_EQ(Get(pool, 1, 3), 0u);
}

TEST_F(MemcachedBackendTest, ManyGenerationBumpsStayCoherent) {
  BackendPoolId pool = Open(true);
  for (uint64_t round = 1; round <= 50; ++round) {
    Put(pool, round % 3, 0, round);
    ASSERT_EQ(Get(pool, round % 3, 0), round);
    backend_->InvalidateInode(pool, File(round % 3));
    ASSERT_EQ(Get(pool, round % 3, 0), 0u);
  }
}

TEST_F(MemcachedBackendTest, GenerationMapIsBoundedAndForgettingIsSafe) {
  auto backend = Create(std::string(kPatientClient) + "&max_files=16");
  BackendPoolId pool = Open(true, backend.get());
  for (uint64_t file = 0; file < 200; ++file) {
    Put(pool, file, 0, 1, backend.get());
    backend->InvalidateInode(pool, File(file));
    for (uint64_t earlier = 0; earlier <= file; ++earlier) ASSERT_EQ(Get(pool, earlier, 0, backend.get()), 0u);
  }
  EXPECT_LE(Extra("tracked_files", backend.get()), 16u);
}

TEST_F(MemcachedBackendTest, ClosingTheLastHandleDropsASharedPool) {
  BackendPoolId first = Open(true);
  BackendPoolId second = Open(true);
  EXPECT_NE(first, second);
  Put(first, 1, 0, 4);
  EXPECT_EQ(Get(second, 1, 0), 4u);
  backend_->ClosePool(first);
  EXPECT_EQ(Get(second, 1, 0), 4u);
  EXPECT_EQ(Get(first, 1, 0), 0u);  // a closed handle misses
  backend_->ClosePool(second);
  BackendPoolId again = Open(true);
  EXPECT_EQ(Get(again, 1, 0), 0u);
}

TEST_F(MemcachedBackendTest, PrivatePoolsDoNotSeeEachOther) {
  BackendPoolId a = Open(false), b = Open(false);
  Put(a, 1, 0, 1);
  EXPECT_EQ(Get(b, 1, 0), 0u);
  EXPECT_EQ(Get(a, 1, 0), 1u);
}

TEST_F(MemcachedBackendTest, MultiGetReturnsEachPageInOneRoundTrip) {
  BackendPoolId pool = Open(true);
  constexpr size_t kCount = 32;
  for (uint64_t i = 0; i < kCount; i += 2) Put(pool, 1, 100 + i, i + 1);
  std::vector<uint8_t> pages(kCount * kPageSize), hit(kCount, 9);
  EXPECT_EQ(backend_->GetPages(pool, File(1), 100, kCount, pages, hit), kCount / 2);
  for (size_t i = 0; i < kCount; ++i) {
    ASSERT_EQ(hit[i], i % 2 == 0 ? 1 : 0) << i;
    if (!hit[i]) continue;
    auto tag = ReadPage(std::span<const uint8_t>(pages).subspan(i * kPageSize, kPageSize));
    ASSERT_TRUE(tag);
    EXPECT_EQ(*tag, (PageTag{1, 100 + i, i + 1}));
  }
  EXPECT_EQ(Extra("multi_gets"), 1u);
}

TEST_F(MemcachedBackendTest, BatchedPutsAndExclusiveBatchedGets) {
  BackendPoolId pool = Open(false);
  constexpr size_t kCount = 8;
  std::vector<uint8_t> pages;
  for (uint64_t i = 0; i < kCount; ++i) {
    auto page = Page(3, i, 50 + i);
    pages.insert(pages.end(), page.begin(), page.end());
  }
  backend_->PutPages(pool, File(3), 0, kCount, pages);
  std::vector<uint8_t> out(kCount * kPageSize), hit(kCount);
  EXPECT_EQ(backend_->GetPages(pool, File(3), 0, kCount, out, hit), kCount);
  EXPECT_EQ(out, pages);
  EXPECT_EQ(backend_->GetPages(pool, File(3), 0, kCount, out, hit), 0u);
}

// --- private pools: a multi-get takes every page it returns, its deletes
// pipelined; whatever goes wrong with them, no page is ever served twice ---

TEST_F(MemcachedBackendTest, PrivateMultiGetTakesEveryPageItReturns) {
  BackendPoolId pool = Open(false);
  constexpr size_t kCount = 32;
  for (uint64_t i = 0; i < kCount; ++i) Put(pool, 1, i, 10 + i);
  for (uint64_t i = 0; i < 4; ++i) Put(pool, 2, i, 1);
  std::vector<uint64_t> versions = GetRun(pool, 1, 0, kCount);
  for (uint64_t i = 0; i < kCount; ++i) EXPECT_EQ(versions[i], 10 + i) << i;
  EXPECT_EQ(GetRun(pool, 1, 0, kCount), std::vector<uint64_t>(kCount, 0));
  for (uint64_t i = 0; i < kCount; ++i) EXPECT_EQ(Get(pool, 1, i), 0u) << i;
  EXPECT_EQ(server_->RawKeys().size(), 4u);  // only the other file's pages are left
  EXPECT_EQ(Extra("delete_failures"), 0u);
  EXPECT_EQ(Extra("generation_bumps"), 0u);
}

TEST_F(MemcachedBackendTest, PrivateMultiGetWithGapsKeepsTheConnectionInStep) {
  // One connection, so every later request reads its replies after the batch.
  auto backend = Create(std::string(kPatientClient) + "&connections=1");
  BackendPoolId pool = Open(false, backend.get());
  for (uint64_t i = 0; i < 32; i += 3) Put(pool, 1, i, 5, backend.get());
  std::vector<uint64_t> versions = GetRun(pool, 1, 0, 32, backend.get());
  for (uint64_t i = 0; i < 32; ++i) EXPECT_EQ(versions[i], i % 3 == 0 ? 5u : 0u) << i;
  EXPECT_TRUE(server_->RawKeys().empty());
  for (uint64_t version = 1; version <= 20; ++version) {
    Put(pool, 2, version, version, backend.get());
    ASSERT_EQ(Get(pool, 2, version, backend.get()), version);
    ASSERT_EQ(Get(pool, 2, version, backend.get()), 0u);
  }
  EXPECT_EQ(Extra("generation_bumps", backend.get()), 0u);
}

TEST_F(MemcachedBackendTest, PrivateLongUnalignedBatchIsTakenWhole) {
  BackendPoolId pool = Open(false);
  // Spans eleven 32-page stripe blocks, and needs two rounds of deletes.
  constexpr size_t kCount = 300;
  for (uint64_t i = 0; i < kCount; ++i) Put(pool, 1, 20 + i, 4);
  EXPECT_EQ(GetRun(pool, 1, 20, kCount), std::vector<uint64_t>(kCount, 4));
  EXPECT_EQ(GetRun(pool, 1, 20, kCount), std::vector<uint64_t>(kCount, 0));
  EXPECT_TRUE(server_->RawKeys().empty());
  EXPECT_EQ(Extra("generation_bumps"), 0u);
}

// Exclusive gets racing over overlapping ranges: every page goes to exactly
// one of them.
TEST_F(MemcachedBackendTest, ConcurrentPrivateMultiGetsHandOutEachPageOnce) {
  BackendPoolId pool = Open(false);
  constexpr uint64_t kPages = 96;
  for (uint64_t i = 0; i < kPages; ++i) Put(pool, 1, i, 9);
  std::vector<std::vector<uint64_t>> taken(4);
  std::vector<std::thread> readers;
  for (size_t t = 0; t < taken.size(); ++t) {
    readers.emplace_back([&, t] {
      // Overlapping, unaligned windows, in a different order per thread.
      for (uint64_t step = 0; step < 6; ++step) {
        uint64_t first = ((step + t) * 17) % (kPages - 40);
        std::vector<uint8_t> pages(40 * kPageSize), hit(40);
        backend_->GetPages(pool, File(1), first, 40, pages, hit);
        for (uint64_t i = 0; i < 40; ++i) {
          if (hit[i]) taken[t].push_back(first + i);
        }
      }
    });
  }
  for (auto& reader : readers) reader.join();
  std::vector<uint64_t> all;
  for (const auto& pages : taken) all.insert(all.end(), pages.begin(), pages.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end()) << "a page was handed out twice";
  EXPECT_EQ(Extra("delete_failures"), 0u);
}

TEST_F(MemcachedBackendTest, PrivateMultiGetAcrossACluster) {
  auto second = MemcachedServer::Start(), third = MemcachedServer::Start();
  ASSERT_TRUE(second && third);
  auto backend = CreateBackend(MemcachedSpec({server_.get(), second.get(), third.get()}, kPatientClient));
  ASSERT_TRUE(backend.ok()) << backend.status().ToString();
  BackendPoolId pool = Open(false, backend->get());
  constexpr size_t kCount = 64;
  for (uint64_t i = 0; i < kCount; ++i) Put(pool, 1, i, 7, backend->get());
  size_t held = server_->RawKeys().size() + second->RawKeys().size() + third->RawKeys().size();
  ASSERT_EQ(held, kCount);
  EXPECT_GT(server_->RawKeys().size(), 0u);  // ketama spread the file over the servers
  EXPECT_EQ(GetRun(pool, 1, 0, kCount, backend->get()), std::vector<uint64_t>(kCount, 7));
  EXPECT_TRUE(server_->RawKeys().empty());
  EXPECT_TRUE(second->RawKeys().empty());
  EXPECT_TRUE(third->RawKeys().empty());
  EXPECT_EQ(Extra("generation_bumps", backend->get()), 0u);
}

// Each fault leaves the taken pages in the server; the backend must notice
// that its deletes did not all succeed and make those pages unreachable.
class MemcachedDeleteFaultTest : public MemcachedBackendTest,
                                 public ::testing::WithParamInterface<FaultProxy::Fault> {};

TEST_P(MemcachedDeleteFaultTest, FailedDeletesNeverLetATakenPageBackIn) {
  auto proxy = FaultProxy::Start(server_->port());
  ASSERT_TRUE(proxy);
  auto created = CreateThroughProxy(*proxy);
  ASSERT_TRUE(created);
  Backend* backend = created.get();
  BackendPoolId pool = Open(false, backend);
  constexpr size_t kCount = 32;
  for (uint64_t i = 0; i < kCount; ++i) Put(pool, 1, i, 3, backend);

  proxy->Arm(GetParam());
  std::vector<uint64_t> versions = GetRun(pool, 1, 0, kCount, backend);
  ASSERT_EQ(proxy->faults_applied(), 1);
  for (uint64_t i = 0; i < kCount; ++i) EXPECT_EQ(versions[i], 3u) << i;  // what it returns is right
  EXPECT_FALSE(server_->RawKeys().empty()) << "the fault should have kept some pages in the server";
  EXPECT_GE(Extra("delete_failures", backend), 1u);

  // The pages left behind are never served again, one by one or in batches.
  EXPECT_EQ(GetRun(pool, 1, 0, kCount, backend), std::vector<uint64_t>(kCount, 0));
  for (uint64_t i = 0; i < kCount; ++i) EXPECT_EQ(Get(pool, 1, i, backend), 0u) << i;
  // And the connection is usable and in step again.
  for (uint64_t version = 1; version <= 10; ++version) {
    Put(pool, 1, version, 100 + version, backend);
    ASSERT_EQ(Get(pool, 1, version, backend), 100 + version);
    ASSERT_EQ(Get(pool, 1, version, backend), 0u);
  }
}

// An error reply other than NOT_FOUND ends libmemcached's reading of a delete
// batch with the other replies still unread on an open socket. Were that
// connection kept, the next batch would count them as its own -- and deletes
// that never reached the server would pass for done.
TEST_F(MemcachedBackendTest, RepliesLeftByAFailedBatchNeverCountForTheNext) {
  auto proxy = FaultProxy::Start(server_->port());
  ASSERT_TRUE(proxy);
  auto created = CreateThroughProxy(*proxy);
  ASSERT_TRUE(created);
  Backend* backend = created.get();
  BackendPoolId pool = Open(false, backend);
  for (uint64_t i = 0; i < 32; ++i) Put(pool, 1, i, 1, backend);
  for (uint64_t i = 0; i < 8; ++i) Put(pool, 2, i, 1, backend);

  proxy->Arm(FaultProxy::Fault::kConflictDelete);
  EXPECT_EQ(GetRun(pool, 1, 0, 32, backend), std::vector<uint64_t>(32, 1));
  ASSERT_EQ(proxy->faults_applied(), 1);
  proxy->Arm(FaultProxy::Fault::kCloseConnection);  // the next batch's deletes are lost
  EXPECT_EQ(GetRun(pool, 2, 0, 8, backend), std::vector<uint64_t>(8, 1));
  ASSERT_EQ(proxy->faults_applied(), 2);
  EXPECT_EQ(GetRun(pool, 2, 0, 8, backend), std::vector<uint64_t>(8, 0)) << "a taken page was served again";
  EXPECT_EQ(GetRun(pool, 1, 0, 32, backend), std::vector<uint64_t>(32, 0));
}

INSTANTIATE_TEST_SUITE_P(Faults, MemcachedDeleteFaultTest,
                         ::testing::Values(FaultProxy::Fault::kCloseConnection, FaultProxy::Fault::kRefuseDelete,
                                           FaultProxy::Fault::kMissDelete, FaultProxy::Fault::kConflictDelete),
                         [](const auto& info) {
                           switch (info.param) {
                             case FaultProxy::Fault::kCloseConnection: return std::string("ServerLostBeforeDeletes");
                             case FaultProxy::Fault::kRefuseDelete: return std::string("DeleteRefused");
                             case FaultProxy::Fault::kMissDelete: return std::string("DeleteNotFound");
                             case FaultProxy::Fault::kConflictDelete: return std::string("DeleteConflict");
                             default: return std::string("None");
                           }
                         });

TEST_F(MemcachedBackendTest, WrongSizesAndUnknownPoolsMiss) {
  BackendPoolId pool = Open(true);
  std::vector<uint8_t> small(100);
  backend_->PutPage(pool, File(1), 0, small);
  EXPECT_FALSE(backend_->GetPage(pool, File(1), 0, small));
  EXPECT_EQ(Get(pool + 1000, 1, 0), 0u);
  PoolConfig bad;
  bad.page_size = 3000;
  EXPECT_FALSE(backend_->OpenPool(bad).ok());
}

// --- integrity: a value changed inside memcached is a miss, never data ---

TEST_F(MemcachedBackendTest, FlippedByteInTheServerIsAMiss) {
  BackendPoolId pool = Open(true);
  Put(pool, 1, 0, 1);
  std::string key = NewKey({});
  auto value = server_->RawGet(key);
  ASSERT_TRUE(value);
  (*value)[value->size() / 2] ^= 1;
  ASSERT_TRUE(server_->RawSet(key, *value));
  EXPECT_EQ(Get(pool, 1, 0), 0u);
  EXPECT_EQ(Extra("auth_failures"), 1u);
}

TEST_F(MemcachedBackendTest, ValueCopiedToAnotherKeyIsAMiss) {
  BackendPoolId pool = Open(true);
  Put(pool, 1, 0, 1);
  std::string first = NewKey({});
  Put(pool, 2, 0, 2);
  std::string second = NewKey({first});
  ASSERT_TRUE(server_->RawSet(second, *server_->RawGet(first)));
  EXPECT_EQ(Get(pool, 2, 0), 0u);
  EXPECT_EQ(Get(pool, 1, 0), 1u);
}

TEST_F(MemcachedBackendTest, ValueReplayedFromAnOlderGenerationIsAMiss) {
  BackendPoolId pool = Open(true);
  Put(pool, 1, 0, 1);
  std::string old_key = NewKey({});
  std::string old_value = *server_->RawGet(old_key);
  backend_->InvalidateInode(pool, File(1));
  Put(pool, 1, 0, 2);
  std::string new_key = NewKey({old_key});
  ASSERT_TRUE(server_->RawSet(new_key, old_value));
  EXPECT_EQ(Get(pool, 1, 0), 0u);
}

TEST_F(MemcachedBackendTest, ForgedAndEmptyValuesAreMisses) {
  BackendPoolId pool = Open(true);
  Put(pool, 1, 0, 1);
  Put(pool, 1, 1, 1);
  auto keys = server_->RawKeys();
  ASSERT_EQ(keys.size(), 2u);
  std::string forged(300, 'x');
  forged[0] = 1;  // the format version, so only the tag can reject it
  ASSERT_TRUE(server_->RawSet(keys[0], forged));
  ASSERT_TRUE(server_->RawSet(keys[1], ""));
  EXPECT_EQ(Get(pool, 1, 0), 0u);
  EXPECT_EQ(Get(pool, 1, 1), 0u);
  EXPECT_EQ(Extra("auth_failures"), 2u);
}

TEST_F(MemcachedBackendTest, PagesAreEncryptedUnlessPlaintextIsAsked) {
  std::vector<uint8_t> page = Page(1, 0, 1);
  std::string marker(reinterpret_cast<const char*>(page.data()) + 64, 32);  // inside the page body
  for (bool plaintext : {false, true}) {
    ASSERT_TRUE(server_->FlushAll());
    auto backend =
        Create(std::string(kPatientClient) + (plaintext ? "&insecure_plaintext=1&compress=none" : "&compress=none"));
    BackendPoolId pool = Open(true, backend.get());
    backend->PutPage(pool, File(1), 0, page);
    auto keys = server_->RawKeys();
    ASSERT_EQ(keys.size(), 1u);
    std::string value = *server_->RawGet(keys[0]);
    EXPECT_EQ(value.find(marker) != std::string::npos, plaintext);
    EXPECT_EQ(Get(pool, 1, 0, backend.get()), 1u);
  }
}

TEST_F(MemcachedBackendTest, KeysRevealNeitherFileNorIndex) {
  BackendPoolId pool = Open(true);
  Put(pool, 0xABCDEF, 0x1234, 1);
  std::string key = NewKey({});
  EXPECT_TRUE(key.starts_with("cc1:"));
  EXPECT_EQ(key.find("abcdef"), std::string::npos);
  EXPECT_EQ(key.find("1234"), std::string::npos);
}

// The namespacing trick's lost-counter trap: our generations are local, but a
// server that lost everything (flush, eviction, restart) must only cause
// misses, and must not resurrect anything afterwards.
TEST_F(MemcachedBackendTest, EvictedValuesAreMissesNotErrors) {
  BackendPoolId pool = Open(true);
  for (uint64_t i = 0; i < 16; ++i) Put(pool, 1, i, 1);
  ASSERT_TRUE(server_->FlushAll());
  for (uint64_t i = 0; i < 16; ++i) EXPECT_EQ(Get(pool, 1, i), 0u);
  Put(pool, 1, 0, 2);
  EXPECT_EQ(Get(pool, 1, 0), 2u);
}

// --- failures: a dead or stuck server is a miss, then comes back ---

TEST_F(MemcachedBackendTest, DeadServerIsAMissAndComesBack) {
  auto backend = Create("retry=1&timeout=1000");
  BackendPoolId pool = Open(true, backend.get());
  Put(pool, 1, 0, 1, backend.get());
  server_->Kill();
  for (int i = 0; i < 10; ++i) {
    Put(pool, 1, 0, 2, backend.get());
    EXPECT_EQ(Get(pool, 1, 0, backend.get()), 0u);
    backend->InvalidatePage(pool, File(1), 1);
  }
  ASSERT_TRUE(server_->Restart());
  // Retried after `retry` seconds: bounded wait for the first stored put.
  bool back = false;
  for (int attempt = 0; attempt < 60 && !back; ++attempt) {
    Put(pool, 1, 0, 3, backend.get());
    back = Get(pool, 1, 0, backend.get()) == 3u;
    if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(back);
  EXPECT_GT(Extra("put_failures", backend.get()), 0u);
}

// A paused server keeps its data: a put that timed out must not let the
// older copy it still holds reappear once the server answers again.
TEST_F(MemcachedBackendTest, StuckServerCannotResurrectAnOlderPage) {
  auto backend = Create("retry=1&timeout=300");
  BackendPoolId pool = Open(true, backend.get());
  Put(pool, 1, 0, 1, backend.get());
  ASSERT_EQ(Get(pool, 1, 0, backend.get()), 1u);
  server_->Pause();
  Put(pool, 1, 0, 2, backend.get());  // times out; the server still holds version 1
  EXPECT_EQ(Get(pool, 1, 0, backend.get()), 0u);
  server_->Resume();
  for (int attempt = 0; attempt < 30; ++attempt) {
    uint64_t version = Get(pool, 1, 0, backend.get());
    ASSERT_NE(version, 1u) << "an overwritten page came back";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// What the servers hold is the servers' figures, not zeros: a mount's
// `cleancache stats` shows them (docs/STATS.md, "With a remote backend").
TEST_F(MemcachedBackendTest, StatsShowWhatTheServersHold) {
  auto second = MemcachedServer::Start(16);
  ASSERT_TRUE(second);
  auto backend = CreateBackend(MemcachedSpec({server_.get(), second.get()}, kPatientClient));
  ASSERT_TRUE(backend.ok()) << backend.status().ToString();
  BackendPoolId pool = Open(true, backend->get());
  constexpr uint64_t kCount = 64;
  for (uint64_t i = 0; i < kCount; ++i) Put(pool, 1, i, 3, backend->get());
  BackendStats stats = (*backend)->Stats();
  EXPECT_EQ(stats.extra.at("server_wide"), 1u);
  EXPECT_EQ(stats.extra.at("servers_answering"), 2u);
  EXPECT_EQ(stats.pages_stored, kCount);
  EXPECT_GT(stats.real_memory_bytes, kCount * 1024) << "sealed pages of compressible data";
  EXPECT_EQ(stats.capacity_bytes, (64ull + 16) << 20);  // the servers' -m
  // A server that stops answering drops out of the figures.
  second.reset();
  stats = (*backend)->Stats();
  EXPECT_EQ(stats.extra.at("servers_answering"), 1u);
  EXPECT_EQ(stats.capacity_bytes, 64ull << 20);
  EXPECT_LT(stats.pages_stored, kCount);
}

TEST(MemcachedBackendCreate, NoServerAnsweringIsAClearError) {
  auto backend = CreateBackend("memcached://127.0.0.1:1?connect_timeout=50");
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.status().code(), Status::Code::kIOError);
  EXPECT_NE(backend.status().message().find("127.0.0.1:1"), std::string::npos);
  // Without the check, the backend starts and every get misses.
  auto unchecked = CreateBackend("memcached://127.0.0.1:1?check=0&connect_timeout=50");
  ASSERT_TRUE(unchecked.ok()) << unchecked.status().ToString();
  auto pool = (*unchecked)->OpenPool(PoolConfig{});
  ASSERT_TRUE(pool.ok());
  std::vector<uint8_t> page(kPageSize, 1);
  (*unchecked)->PutPage(*pool, File(1), 0, page);
  EXPECT_FALSE((*unchecked)->GetPage(*pool, File(1), 0, page));
}

TEST(MemcachedOptionsTest, ParsesEveryKey) {
  auto spec = ParseBackendSpec(
      "memcached://127.0.0.1:11211,[::1]:11212?timeout=3&connect_timeout=7&retry=2&failure_limit=4&connections=3&"
      "ttl=60&insecure_plaintext=1&compress=none&max_files=1000&check=0&weights=3,1");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  auto options = MemcachedOptions::FromSpec(*spec);
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  ASSERT_EQ(options->servers.size(), 2u);
  EXPECT_EQ(options->servers[1].host, "::1");
  EXPECT_EQ(options->servers[1].port, 11212);
  EXPECT_EQ(options->servers[0].weight, 3u);
  EXPECT_EQ(options->timeout_ms, 3u);
  EXPECT_EQ(options->connect_timeout_ms, 7u);
  EXPECT_EQ(options->retry_seconds, 2u);
  EXPECT_EQ(options->failure_limit, 4u);
  EXPECT_EQ(options->connections, 3u);
  EXPECT_EQ(options->expire_seconds, 60u);
  EXPECT_FALSE(options->encrypt);
  EXPECT_FALSE(options->compress);
  EXPECT_EQ(options->max_tracked_files, 1000u);
  EXPECT_FALSE(options->check_servers);
}

TEST(MemcachedOptionsTest, DefaultsEncryptAndCompress) {
  auto options = MemcachedOptions::FromSpec(*ParseBackendSpec("memcached://localhost:11211"));
  ASSERT_TRUE(options.ok());
  EXPECT_TRUE(options->encrypt);
  EXPECT_TRUE(options->compress);
  EXPECT_EQ(options->timeout_ms, 5u);
}

TEST(MemcachedOptionsTest, BadValuesNameTheCulprit) {
  const std::pair<const char*, const char*> cases[] = {
      {"memcached://h:1?timeout=0", "timeout"},     {"memcached://h:1?timeout=abc", "timeout"},
      {"memcached://h:1?bogus=1", "bogus"},         {"memcached://h:1?insecure_plaintext=maybe", "insecure_plaintext"},
      {"memcached://h:1?compress=zip", "compress"}, {"memcached://h:1,h:2?weights=1", "weights"},
      {"memcached://h:1?weights=1,2", "weights"},   {"memcached://h:1?connections=0", "connections"},
  };
  for (auto [text, culprit] : cases) {
    auto spec = ParseBackendSpec(text);
    ASSERT_TRUE(spec.ok()) << text;
    auto options = MemcachedOptions::FromSpec(*spec);
    ASSERT_FALSE(options.ok()) << text;
    EXPECT_NE(options.status().message().find(culprit), std::string::npos) << options.status().message();
  }
}

}  // namespace
}  // namespace cleancache
