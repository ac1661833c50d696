#include "support/contract_suite.h"

#include <bit>

#include "support/page_pattern.h"
#include "support/workloads.h"

namespace cleancache::testing {

void BackendContractTest::SetUp() {
  cache_ = std::make_unique<Cleancache>();
  auto backend = GetParam().make();
  ASSERT_TRUE(backend.ok()) << backend.status().ToString();
  ASSERT_NE(backend.value(), nullptr);
  Status status = cache_->RegisterBackend(std::move(backend.value()));
  ASSERT_TRUE(status.ok()) << status.ToString();
}

void BackendContractTest::TearDown() { cache_.reset(); }

std::vector<uint8_t> BackendContractTest::Page(uint32_t key_id, uint64_t index, uint64_t version, uint32_t page_size) {
  std::vector<uint8_t> page(page_size);
  FillPage(page, PageTag{key_id, index, version});
  return page;
}

void BackendContractTest::ExpectHit(PoolId pool, const FileKey& key, uint64_t index,
                                    const std::vector<uint8_t>& expected) {
  std::vector<uint8_t> page(expected.size(), 0xEE);
  const bool hit = cache_->GetPage(pool, key, index, page);
  if (!hit) {
    EXPECT_TRUE(lossy()) << "miss of a page just put (" << key.ToString() << " index " << index << ")";
    return;
  }
  EXPECT_TRUE(page == expected) << "hit with wrong data (" << key.ToString() << " index " << index << ")";
}

void BackendContractTest::ExpectMiss(PoolId pool, const FileKey& key, uint64_t index, uint32_t page_size) {
  std::vector<uint8_t> page(page_size);
  EXPECT_FALSE(cache_->GetPage(pool, key, index, page))
      << "unexpected hit (" << key.ToString() << " index " << index << ")";
}

namespace {

// Up to 20 violations in full, then the count: a broken backend can produce thousands.
void ReportViolations(const WorkloadReport& report) {
  for (size_t i = 0; i < report.violations.size() && i < 20; ++i) ADD_FAILURE() << report.violations[i];
  if (report.violations.size() > 20) ADD_FAILURE() << report.violations.size() << " violations in all";
}

const FileKey kFile = FileKey::FromInode(1, 100);
const FileKey kOtherFile = FileKey::FromInode(1, 101);

Uuid MakeUuid(uint8_t seed) {
  Uuid uuid;
  for (size_t i = 0; i < uuid.bytes.size(); ++i) uuid.bytes[i] = static_cast<uint8_t>(seed * 31 + i);
  return uuid;
}

}  // namespace

TEST_P(BackendContractTest, PutThenGetReturnsTheData) {
  const PoolId pool = cache_->InitFs();
  ASSERT_GE(pool, 0);
  const auto page = Page(1, 7, 1);
  cache_->PutPage(pool, kFile, 7, page);
  ExpectHit(pool, kFile, 7, page);
}

TEST_P(BackendContractTest, GetOnPrivatePoolIsExclusive) {
  const PoolId pool = cache_->InitFs();
  const auto page = Page(1, 0, 1);
  cache_->PutPage(pool, kFile, 0, page);
  ExpectHit(pool, kFile, 0, page);
  ExpectMiss(pool, kFile, 0);  // the first get took it
}

TEST_P(BackendContractTest, GetOnSharedPoolLeavesThePage) {
  const PoolId pool = cache_->InitSharedFs(MakeUuid(1));
  ASSERT_GE(pool, 0);
  const auto page = Page(1, 0, 1);
  cache_->PutPage(pool, kFile, 0, page);
  ExpectHit(pool, kFile, 0, page);
  ExpectHit(pool, kFile, 0, page);
  ExpectHit(pool, kFile, 0, page);
}

// keep_on_get is its own property: a private pool may keep pages on get and a
// shared pool may have exclusive gets; unset, it follows `shared` (Linux).
TEST_P(BackendContractTest, KeepOnGetIsItsOwnPoolProperty) {
  const PoolId keeping =
      cache_->OpenPool(PoolConfig{.page_size = 4096, .shared = false, .uuid = {}, .keep_on_get = true}).value();
  const PoolId exclusive =
      cache_->OpenPool(PoolConfig{.page_size = 4096, .shared = true, .uuid = MakeUuid(9), .keep_on_get = false})
          .value();
  EXPECT_TRUE(cache_->Info(keeping)->keep_on_get);
  EXPECT_FALSE(cache_->Info(keeping)->shared);
  EXPECT_FALSE(cache_->Info(exclusive)->keep_on_get);
  EXPECT_TRUE(cache_->Info(exclusive)->shared);
  EXPECT_FALSE(cache_->Info(cache_->InitFs())->keep_on_get);
  EXPECT_TRUE(cache_->Info(cache_->InitSharedFs(MakeUuid(10)))->keep_on_get);

  const auto page = Page(1, 0, 1);
  cache_->PutPage(keeping, kFile, 0, page);
  ExpectHit(keeping, kFile, 0, page);
  ExpectHit(keeping, kFile, 0, page);  // still there
  ExpectHit(keeping, kFile, 0, page);
  cache_->InvalidatePage(keeping, kFile, 0);
  ExpectMiss(keeping, kFile, 0);

  cache_->PutPage(exclusive, kFile, 0, page);
  ExpectHit(exclusive, kFile, 0, page);
  ExpectMiss(exclusive, kFile, 0);  // the first get took it

  // Members of a shared pool agree with its creator on the get mode.
  auto other_mode =
      cache_->OpenPool(PoolConfig{.page_size = 4096, .shared = true, .uuid = MakeUuid(9), .keep_on_get = true});
  ASSERT_FALSE(other_mode.ok());
  EXPECT_EQ(other_mode.status().code(), Status::Code::kInvalidArgument) << other_mode.status().ToString();
}

TEST_P(BackendContractTest, PutPutGetNeverReturnsTheOldCopy) {
  for (bool shared : {false, true}) {
    const PoolId pool = shared ? cache_->InitSharedFs(MakeUuid(2)) : cache_->InitFs();
    for (uint64_t round = 0; round < 50; ++round) {
      const auto old_page = Page(1, round, 2 * round + 1);
      const auto new_page = Page(1, round, 2 * round + 2);
      cache_->PutPage(pool, kFile, round, old_page);
      cache_->PutPage(pool, kFile, round, new_page);
      std::vector<uint8_t> got(4096);
      if (cache_->GetPage(pool, kFile, round, got)) {
        EXPECT_TRUE(got == new_page) << "round " << round << (got == old_page ? ": returned the OLD copy" : "");
      } else {
        EXPECT_TRUE(lossy()) << "round " << round << ": second put lost";
      }
    }
  }
}

TEST_P(BackendContractTest, GetGetKeepsMissingUntilTheNextPut) {
  for (bool shared : {false, true}) {
    const PoolId pool = shared ? cache_->InitSharedFs(MakeUuid(3)) : cache_->InitFs();
    ExpectMiss(pool, kFile, 5);
    ExpectMiss(pool, kFile, 5);
    const auto page = Page(1, 5, 1);
    cache_->PutPage(pool, kFile, 5, page);
    ExpectHit(pool, kFile, 5, page);
    if (!shared) {
      ExpectMiss(pool, kFile, 5);
      ExpectMiss(pool, kFile, 5);
    }
  }
}

TEST_P(BackendContractTest, InvalidatePageDropsOnlyThatPage) {
  for (bool shared : {false, true}) {
    const PoolId pool = shared ? cache_->InitSharedFs(MakeUuid(4)) : cache_->InitFs();
    const auto page0 = Page(1, 0, 1), page1 = Page(1, 1, 1), other = Page(2, 0, 1);
    cache_->PutPage(pool, kFile, 0, page0);
    cache_->PutPage(pool, kFile, 1, page1);
    cache_->PutPage(pool, kOtherFile, 0, other);
    cache_->InvalidatePage(pool, kFile, 0);
    ExpectMiss(pool, kFile, 0);
    ExpectHit(pool, kFile, 1, page1);
    ExpectHit(pool, kOtherFile, 0, other);
    cache_->InvalidatePage(pool, kFile, 99);  // never stored: harmless
  }
}

TEST_P(BackendContractTest, InvalidateInodeDropsEveryPageOfTheFile) {
  for (bool shared : {false, true}) {
    const PoolId pool = shared ? cache_->InitSharedFs(MakeUuid(5)) : cache_->InitFs();
    for (uint64_t i = 0; i < 100; ++i) cache_->PutPage(pool, kFile, i, Page(1, i, 1));
    const auto other = Page(2, 3, 1);
    cache_->PutPage(pool, kOtherFile, 3, other);
    cache_->InvalidateInode(pool, kFile);
    for (uint64_t i = 0; i < 100; ++i) ExpectMiss(pool, kFile, i);
    ExpectHit(pool, kOtherFile, 3, other);
    const auto again = Page(1, 4, 2);  // the file can be cached again afterwards
    cache_->PutPage(pool, kFile, 4, again);
    ExpectHit(pool, kFile, 4, again);
  }
}

TEST_P(BackendContractTest, InvalidateFsEndsThePool) {
  const PoolId pool = cache_->InitFs();
  const PoolId kept = cache_->InitFs();
  const auto page = Page(1, 0, 1);
  cache_->PutPage(pool, kFile, 0, page);
  cache_->PutPage(kept, kFile, 0, page);
  cache_->InvalidateFs(pool);
  ExpectMiss(pool, kFile, 0);
  cache_->PutPage(pool, kFile, 0, page);  // dropped: the pool has ended
  ExpectMiss(pool, kFile, 0);
  EXPECT_FALSE(cache_->Info(pool).ok());
  cache_->InvalidateFs(pool);  // twice is harmless
  const PoolId next = cache_->InitFs();
  EXPECT_GT(next, kept);  // ids are never reused
  ExpectMiss(next, kFile, 0);
  ExpectHit(kept, kFile, 0, page);
}

TEST_P(BackendContractTest, SameUuidJoinsTheSamePool) {
  const PoolId a = cache_->InitSharedFs(MakeUuid(6));
  const PoolId b = cache_->InitSharedFs(MakeUuid(6));
  const PoolId other = cache_->InitSharedFs(MakeUuid(7));
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  ASSERT_GE(other, 0);
  const auto page = Page(1, 0, 1);
  cache_->PutPage(a, kFile, 0, page);
  ExpectHit(b, kFile, 0, page);
  ExpectMiss(other, kFile, 0);  // another uuid is another pool
  const auto from_b = Page(1, 1, 1);
  cache_->PutPage(b, kFile, 1, from_b);
  cache_->InvalidatePage(a, kFile, 1);  // an invalidation through one member covers all
  ExpectMiss(b, kFile, 1);
}

TEST_P(BackendContractTest, SharedPoolOutlivesAMemberAndEndsWithTheLast) {
  const PoolId a = cache_->InitSharedFs(MakeUuid(8));
  const PoolId b = cache_->InitSharedFs(MakeUuid(8));
  cache_->InvalidateFs(a);
  const auto page = Page(1, 0, 1);
  cache_->PutPage(b, kFile, 0, page);  // b still works
  ExpectHit(b, kFile, 0, page);
  cache_->InvalidateFs(b);
  const PoolId c = cache_->InitSharedFs(MakeUuid(8));
  ASSERT_GE(c, 0);
  ExpectMiss(c, kFile, 0);  // the last member left: the pages went with it
}

TEST_P(BackendContractTest, PrivatePoolsAreIsolated) {
  const PoolId a = cache_->InitFs();
  const PoolId b = cache_->InitFs();
  ASSERT_NE(a, b);
  const auto page = Page(1, 0, 1);
  cache_->PutPage(a, kFile, 0, page);
  ExpectMiss(b, kFile, 0);
  ExpectHit(a, kFile, 0, page);
}

TEST_P(BackendContractTest, FullLength128ByteHandleKeys) {
  const PoolId pool = cache_->InitFs();
  std::vector<uint8_t> bytes(FileKey::kMaxBytes, 0xAB);
  const FileKey key = FileKey::FromBytes(1, bytes).value();
  bytes.back() = 0xAC;  // differs only in the last of 128 bytes
  const FileKey neighbour = FileKey::FromBytes(1, bytes).value();
  const auto page = Page(1, 0, 1), neighbour_page = Page(2, 0, 1);
  cache_->PutPage(pool, key, 0, page);
  cache_->PutPage(pool, neighbour, 0, neighbour_page);
  ExpectHit(pool, key, 0, page);
  ExpectHit(pool, neighbour, 0, neighbour_page);
}

TEST_P(BackendContractTest, ExtremePageIndexes) {
  const PoolId pool = cache_->InitFs();
  const uint64_t indexes[] = {0, 1, uint64_t{1} << 32, uint64_t{1} << 63, ~uint64_t{0} - 1, ~uint64_t{0}};
  for (uint64_t index : indexes) cache_->PutPage(pool, kFile, index, Page(1, index, 1));
  for (uint64_t index : indexes) ExpectHit(pool, kFile, index, Page(1, index, 1));
  cache_->PutPage(pool, kFile, ~uint64_t{0}, Page(1, ~uint64_t{0}, 2));
  cache_->InvalidatePage(pool, kFile, ~uint64_t{0});
  ExpectMiss(pool, kFile, ~uint64_t{0});
}

TEST_P(BackendContractTest, KeysDifferingOnlyInTypeOrLengthDoNotCollide) {
  const PoolId pool = cache_->InitFs();
  const uint8_t bytes[8] = {1, 2, 3, 4, 0, 0, 0, 0};
  const FileKey keys[] = {
      FileKey::FromBytes(1, std::span(bytes, 4)).value(),
      FileKey::FromBytes(2, std::span(bytes, 4)).value(),  // other type
      FileKey::FromBytes(1, std::span(bytes, 5)).value(),  // trailing zero byte
      FileKey::FromBytes(1, std::span(bytes, 8)).value(),
      FileKey::FromBytes(1, std::span(bytes, 0)).value(),  // empty
  };
  for (uint32_t k = 0; k < std::size(keys); ++k) cache_->PutPage(pool, keys[k], 0, Page(k, 0, 1));
  for (uint32_t k = 0; k < std::size(keys); ++k) ExpectHit(pool, keys[k], 0, Page(k, 0, 1));
  cache_->PutPage(pool, keys[0], 0, Page(0, 0, 2));
  cache_->InvalidateInode(pool, keys[1]);  // must not touch keys[0]
  ExpectHit(pool, keys[0], 0, Page(0, 0, 2));
}

TEST_P(BackendContractTest, EveryPageSizeFrom512To65536) {
  for (uint32_t size = Cleancache::kMinPageSize; size <= Cleancache::kMaxPageSize; size *= 2) {
    SCOPED_TRACE(size);
    for (bool shared : {false, true}) {
      const PoolId pool = shared ? cache_->InitSharedFs(MakeUuid(static_cast<uint8_t>(std::countr_zero(size))), size)
                                 : cache_->InitFs(size);
      ASSERT_GE(pool, 0);
      EXPECT_EQ(cache_->Info(pool)->page_size, size);
      const auto page = Page(1, 3, size, size);
      cache_->PutPage(pool, kFile, 3, page);
      ExpectHit(pool, kFile, 3, page);
    }
  }
}

TEST_P(BackendContractTest, BadPageSizesAreRefused) {
  for (uint32_t size : {0u, 1u, 256u, 511u, 1000u, 4095u, 4097u, 12288u, 131072u, 0x80000000u}) {
    SCOPED_TRACE(size);
    EXPECT_EQ(cache_->InitFs(size), kNoPool);
    EXPECT_EQ(cache_->InitSharedFs(MakeUuid(9), size), kNoPool);
    auto refused = cache_->OpenPool(PoolConfig{.page_size = size, .shared = false, .uuid = {}, .keep_on_get = {}});
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(refused.status().message().find(std::to_string(size)), std::string::npos) << refused.status().message();
  }
}

TEST_P(BackendContractTest, WrongSizeBuffersAreMissesAndDroppedPuts) {
  const PoolId pool = cache_->InitFs(4096);
  auto small = Page(1, 0, 1, 2048);
  cache_->PutPage(pool, kFile, 0, small);  // dropped
  std::vector<uint8_t> big(8192);
  cache_->PutPage(pool, kFile, 1, big);  // dropped
  ExpectMiss(pool, kFile, 0);
  ExpectMiss(pool, kFile, 1);
  const auto page = Page(1, 2, 1);
  cache_->PutPage(pool, kFile, 2, page);
  std::vector<uint8_t> wrong(4095);
  EXPECT_FALSE(cache_->GetPage(pool, kFile, 2, wrong));  // a miss ...
  EXPECT_FALSE(cache_->GetPage(pool, kFile, 2, {}));     // ... and so is an empty buffer
  ExpectHit(pool, kFile, 2, page);                       // and it did not consume the page
}

TEST_P(BackendContractTest, BatchedPutAndGet) {
  const PoolId pool = cache_->InitFs();
  constexpr size_t kCount = 8;
  std::vector<uint8_t> pages(kCount * 4096);
  for (size_t i = 0; i < kCount; ++i) FillPage(std::span(pages).subspan(i * 4096, 4096), PageTag{1, 10 + i, 1});
  cache_->PutPages(pool, kFile, 10, kCount, pages);
  cache_->InvalidatePage(pool, kFile, 13);
  std::vector<uint8_t> got(kCount * 4096);
  std::vector<uint8_t> hit(kCount, 9);
  const size_t hits = cache_->GetPages(pool, kFile, 10, kCount, got, hit);
  size_t flagged = 0;
  for (size_t i = 0; i < kCount; ++i) {
    EXPECT_TRUE(hit[i] == 0 || hit[i] == 1);
    if (hit[i] == 1) {
      ++flagged;
      auto tag = ReadPage(std::span(got).subspan(i * 4096, 4096));
      EXPECT_TRUE(tag && *tag == (PageTag{1, 10 + i, 1})) << "page " << i;
    }
  }
  EXPECT_EQ(flagged, hits);
  EXPECT_EQ(hit[3], 0) << "invalidated page came back";
  if (!lossy()) {
    EXPECT_EQ(hits, kCount - 1);
  }
  EXPECT_EQ(cache_->GetPages(pool, kFile, 10, kCount, got, hit), 0u);  // exclusive: all taken
  // Malformed batches are misses / dropped: wrong byte count, too few flags.
  cache_->PutPages(pool, kFile, 10, kCount, std::span(pages).first(kCount * 4096 - 1));
  EXPECT_EQ(cache_->GetPages(pool, kFile, 10, kCount, got, std::span(hit).first(kCount - 1)), 0u);
  EXPECT_EQ(cache_->GetPages(pool, kFile, 10, kCount, got, hit), 0u);
}

TEST_P(BackendContractTest, RandomizedOwnedKeysPrivatePool) {
  const PoolId pool = cache_->InitFs();
  WorkloadReport report = RunOwnedKeysWorkload(*cache_, pool, 4096, /*exclusive_gets=*/true, lossy(), {});
  ReportViolations(report);
  EXPECT_GT(report.hits, 0u);
  EXPECT_GT(report.misses, 0u);
}

TEST_P(BackendContractTest, RandomizedOwnedKeysSharedPool) {
  const PoolId pool = cache_->InitSharedFs(MakeUuid(10));
  WorkloadReport report = RunOwnedKeysWorkload(*cache_, pool, 4096, /*exclusive_gets=*/false, lossy(), {});
  ReportViolations(report);
  EXPECT_GT(report.hits, 0u);
}

TEST_P(BackendContractTest, SharedKeyRacePrivatePool) {
  const PoolId pool = cache_->InitFs();
  WorkloadReport report = RunSharedKeysRace(*cache_, pool, 4096, /*exclusive_gets=*/true, {});
  ReportViolations(report);
  EXPECT_GT(report.hits, 0u);
}

TEST_P(BackendContractTest, SharedKeyRaceSharedPool) {
  const PoolId pool = cache_->InitSharedFs(MakeUuid(11));
  WorkloadReport report = RunSharedKeysRace(*cache_, pool, 4096, /*exclusive_gets=*/false, {});
  ReportViolations(report);
  EXPECT_GT(report.hits, 0u);
}

}  // namespace cleancache::testing
