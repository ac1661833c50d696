#include "cleancache/page_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "support/map_backend.h"

namespace cleancache {
namespace {

constexpr uint32_t kPage = 4096;

// The "backing file" of these tests: bytes in memory behind a lock.
class FakeFile {
 public:
  long ReadPages(uint64_t first_index, std::span<uint8_t> out) {
    std::lock_guard lock(mu_);
    uint64_t offset = first_index * kPage;
    if (offset >= bytes_.size()) return 0;
    size_t n = std::min<size_t>(out.size(), bytes_.size() - offset);
    std::memcpy(out.data(), bytes_.data() + offset, n);
    return static_cast<long>(n);
  }
  void Write(uint64_t offset, std::span<const uint8_t> data) {
    std::lock_guard lock(mu_);
    if (bytes_.size() < offset + data.size()) bytes_.resize(offset + data.size());
    std::memcpy(bytes_.data() + offset, data.data(), data.size());
  }
  void Resize(uint64_t size) {
    std::lock_guard lock(mu_);
    bytes_.resize(size);
  }
  std::vector<uint8_t> Snapshot() {
    std::lock_guard lock(mu_);
    return bytes_;
  }
  PageCache::Reader reader() {
    return [this](uint64_t first, std::span<uint8_t> out) { return ReadPages(first, out); };
  }

 private:
  std::mutex mu_;
  std::vector<uint8_t> bytes_;
};

std::vector<uint8_t> Pattern(size_t size, uint32_t seed) {
  std::vector<uint8_t> v(size);
  std::mt19937 rng(seed);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

class PageCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(cache_.RegisterBackend(std::make_unique<testing::MapBackend>()).ok());
    pool_ = cache_.InitFs(kPage);
    ASSERT_GE(pool_, 0);
  }
  std::unique_ptr<PageCache> Make(uint64_t capacity_pages, uint32_t shards = 0, uint64_t queue_pages = 0) {
    return std::make_unique<PageCache>(cache_, pool_,
                                       PageCacheOptions{capacity_pages * kPage, kPage, shards, queue_pages * kPage});
  }
  std::vector<uint8_t> ReadAll(PageCache& pc, const FileKey& key, FakeFile& file, uint64_t first, size_t count) {
    std::vector<uint8_t> out(count * kPage);
    EXPECT_EQ(pc.Read(key, first, count, out, file.reader()), 0);
    return out;
  }
  Cleancache cache_;
  PoolId pool_ = kNoPool;
  FileKey key_ = FileKey::FromInode(1, 100);
};

TEST_F(PageCacheTest, ReadThroughThenPrimaryHit) {
  auto pc = Make(16);
  FakeFile file;
  auto data = Pattern(8 * kPage, 1);
  file.Write(0, data);
  EXPECT_EQ(ReadAll(*pc, key_, file, 0, 8), data);
  EXPECT_EQ(pc->Stats().backing_pages, 8u);
  EXPECT_EQ(pc->Stats().reader_calls, 1u);  // one run, one call
  EXPECT_EQ(ReadAll(*pc, key_, file, 0, 8), data);
  EXPECT_EQ(pc->Stats().primary_hits, 8u);
  EXPECT_EQ(pc->Stats().backing_pages, 8u);
}

// The primary's page memory is bounded by its capacity (plus one chunk of
// frames per shard), however many pages churn through it on however many
// threads (see FramePool: malloc'ed pages grew the process without bound).
TEST_F(PageCacheTest, PageMemoryStaysWithinCapacityUnderChurn) {
  constexpr uint64_t kCapacity = 256;
  constexpr uint32_t kShards = 4;
  auto pc = Make(kCapacity, kShards);
  FakeFile file;
  file.Write(0, Pattern(4096 * kPage, 3));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      std::vector<uint8_t> out(kPage);
      for (int i = 0; i < 5000; ++i) ASSERT_EQ(pc->Read(key_, rng() % 4096, 1, out, file.reader()), 0);
    });
  }
  for (auto& t : threads) t.join();
  PageCacheStats stats = pc->Stats();
  EXPECT_EQ(stats.resident_bytes, kCapacity * kPage);
  EXPECT_GE(stats.reserved_bytes, stats.resident_bytes);
  EXPECT_LE(stats.reserved_bytes, (kCapacity + kShards * 64) * kPage);
}

TEST_F(PageCacheTest, ShortReadIsZeroFilled) {
  auto pc = Make(4);
  FakeFile file;
  auto data = Pattern(kPage + 100, 2);
  file.Write(0, data);
  auto out = ReadAll(*pc, key_, file, 0, 3);
  EXPECT_TRUE(std::equal(data.begin(), data.end(), out.begin()));
  EXPECT_TRUE(std::all_of(out.begin() + data.size(), out.end(), [](uint8_t b) { return b == 0; }));
}

TEST_F(PageCacheTest, EvictedPagesAreServedByCleancache) {
  auto pc = Make(4, 1);
  FakeFile file;
  auto data = Pattern(12 * kPage, 3);
  file.Write(0, data);
  EXPECT_EQ(ReadAll(*pc, key_, file, 0, 12), data);
  auto stats = pc->Stats();
  EXPECT_EQ(stats.resident_pages, 4u);
  EXPECT_EQ(stats.evicted_pages, 8u);
  EXPECT_EQ(cache_.Counters(pool_).puts, 8u);
  EXPECT_EQ(ReadAll(*pc, key_, file, 0, 8), std::vector<uint8_t>(data.begin(), data.begin() + 8 * kPage));
  EXPECT_EQ(pc->Stats().cleancache_hits, 8u);
  EXPECT_EQ(pc->Stats().backing_pages, 12u);  // nothing more from the backing
}

TEST_F(PageCacheTest, ZeroCapacityPutsEveryPageAndRereadsFromCleancache) {
  auto pc = Make(0);
  FakeFile file;
  auto data = Pattern(5 * kPage, 4);
  file.Write(0, data);
  EXPECT_EQ(ReadAll(*pc, key_, file, 0, 5), data);
  EXPECT_EQ(pc->Stats().resident_pages, 0u);
  EXPECT_EQ(cache_.Counters(pool_).puts, 5u);
  for (int round = 0; round < 3; ++round) EXPECT_EQ(ReadAll(*pc, key_, file, 0, 5), data);
  EXPECT_EQ(pc->Stats().cleancache_hits, 15u);  // each hit is put back (exclusive gets)
  EXPECT_EQ(pc->Stats().backing_pages, 5u);
}

TEST_F(PageCacheTest, EvictAllMovesPagesToCleancache) {
  auto pc = Make(64);
  FakeFile file;
  auto data = Pattern(10 * kPage, 5);
  file.Write(0, data);
  ReadAll(*pc, key_, file, 0, 10);
  pc->EvictAll();
  EXPECT_EQ(pc->Stats().resident_pages, 0u);
  EXPECT_EQ(ReadAll(*pc, key_, file, 0, 10), data);
  EXPECT_EQ(pc->Stats().cleancache_hits, 10u);
}

TEST_F(PageCacheTest, UpdatePatchesResidentPagesAndDropsCleancacheCopies) {
  auto pc = Make(2, 1);
  FakeFile file;
  auto data = Pattern(4 * kPage, 6);
  file.Write(0, data);
  ReadAll(*pc, key_, file, 0, 4);  // pages 0,1 in cleancache; 2,3 resident
  auto patch = Pattern(2 * kPage, 7);
  uint64_t offset = kPage / 2;  // pages 0..2
  file.Write(offset, patch);
  pc->Update(key_, offset, patch);
  std::copy(patch.begin(), patch.end(), data.begin() + offset);
  EXPECT_EQ(ReadAll(*pc, key_, file, 0, 4), data);
}

TEST_F(PageCacheTest, InvalidateDropsPrimaryAndCleancache) {
  auto pc = Make(2, 1);
  FakeFile file;
  file.Write(0, Pattern(6 * kPage, 8));
  ReadAll(*pc, key_, file, 0, 6);
  auto fresh = Pattern(6 * kPage, 9);
  file.Write(0, fresh);  // changed "behind the back"
  pc->InvalidatePages(key_, 3, UINT64_MAX - 3);
  auto out = ReadAll(*pc, key_, file, 3, 3);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), fresh.begin() + 3 * kPage));
  pc->InvalidateFile(key_);
  EXPECT_EQ(ReadAll(*pc, key_, file, 0, 6), fresh);
  EXPECT_EQ(pc->Stats().cleancache_hits, 0u);
}

TEST_F(PageCacheTest, ReaderErrorIsReturnedAndNothingCached) {
  auto pc = Make(8);
  std::vector<uint8_t> out(2 * kPage);
  EXPECT_EQ(pc->Read(key_, 0, 2, out, [](uint64_t, std::span<uint8_t>) { return -5L; }), -5);
  EXPECT_EQ(pc->Stats().resident_pages, 0u);
  FakeFile file;
  auto data = Pattern(2 * kPage, 10);
  file.Write(0, data);
  EXPECT_EQ(ReadAll(*pc, key_, file, 0, 2), data);
}

TEST_F(PageCacheTest, OnFilledRunsOnceBeforePagesArePutAndNotOnError) {
  auto pc = Make(0);
  FakeFile file;
  auto data = Pattern(3 * kPage, 16);
  file.Write(0, data);
  std::vector<uint8_t> out(3 * kPage);
  int calls = 0;
  uint64_t puts_when_filled = 0;
  ASSERT_EQ(pc->Read(key_, 0, 3, out, file.reader(),
                     [&] {
                       ++calls;
                       puts_when_filled = cache_.Counters(pool_).puts;
                       EXPECT_EQ(out, data);
                     }),
            0);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(puts_when_filled, 0u);  // the caller answered before any compression
  EXPECT_EQ(cache_.Counters(pool_).puts, 3u);
  calls = 0;
  EXPECT_EQ(
      pc->Read(
          FileKey::FromInode(1, 999), 0, 1, out, [](uint64_t, std::span<uint8_t>) { return -5L; }, [&] { ++calls; }),
      -5);
  EXPECT_EQ(calls, 0);
}

// The core race: a read that fetched old data before a write must not
// install it after the writer's Update.
TEST_F(PageCacheTest, ReadInFlightDuringWriteDoesNotInstallOldData) {
  for (uint64_t capacity : {0, 8}) {
    auto pc = Make(capacity);
    FakeFile file;
    auto old_data = Pattern(kPage, 11);
    file.Write(0, old_data);
    std::promise<void> fetched, proceed;
    auto proceed_future = proceed.get_future();
    auto slow_reader = [&](uint64_t first, std::span<uint8_t> out) {
      long n = file.ReadPages(first, out);
      fetched.set_value();
      proceed_future.wait();
      return n;
    };
    std::vector<uint8_t> first_out(kPage);
    std::thread reader([&] { EXPECT_EQ(pc->Read(key_, 0, 1, first_out, slow_reader), 0); });
    fetched.get_future().wait();
    auto new_data = Pattern(kPage, 12);
    file.Write(0, new_data);
    pc->Update(key_, 0, new_data);
    proceed.set_value();
    reader.join();
    EXPECT_EQ(first_out, old_data);  // concurrent with the write: either is fine
    EXPECT_EQ(ReadAll(*pc, key_, file, 0, 1), new_data) << "capacity " << capacity;
    pc->InvalidateFile(key_);
  }
}

TEST_F(PageCacheTest, InvalidationDuringReadRevokesInstall) {
  auto pc = Make(8);
  FakeFile file;
  file.Write(0, Pattern(kPage, 13));
  std::promise<void> fetched, proceed;
  auto proceed_future = proceed.get_future();
  std::vector<uint8_t> out(kPage);
  std::thread reader([&] {
    pc->Read(key_, 0, 1, out, [&](uint64_t first, std::span<uint8_t> o) {
      long n = file.ReadPages(first, o);
      fetched.set_value();
      proceed_future.wait();
      return n;
    });
  });
  fetched.get_future().wait();
  auto fresh = Pattern(kPage, 14);
  file.Write(0, fresh);
  pc->InvalidateFile(key_);
  proceed.set_value();
  reader.join();
  EXPECT_EQ(ReadAll(*pc, key_, file, 0, 1), fresh);
}

// Model check: random reads, writes, truncates and invalidations of several
// files against a plain copy; every read must match the model.
TEST_F(PageCacheTest, RandomOperationsMatchModel) {
  for (auto [capacity, queue] : {std::pair<uint64_t, uint64_t>{0, 0}, {0, 8}, {0, 1000}, {3, 0}, {40, 0}}) {
    SCOPED_TRACE("capacity " + std::to_string(capacity) + " put queue " + std::to_string(queue));
    auto pc = Make(capacity, 0, queue);
    constexpr int kFiles = 4;
    std::vector<FakeFile> files(kFiles);
    std::vector<FileKey> keys;
    for (int f = 0; f < kFiles; ++f) keys.push_back(FileKey::FromInode(7, 1000 + f + capacity * 10 + queue * 100));
    std::mt19937 rng(42 + capacity + queue);
    for (int op = 0; op < 4000; ++op) {
      int f = rng() % kFiles;
      FakeFile& file = files[f];
      switch (rng() % 10) {
        case 0:
        case 1:
        case 2: {  // write through, then Update
          uint64_t offset = rng() % (24 * kPage);
          auto data = Pattern(1 + rng() % (3 * kPage), rng());
          file.Write(offset, data);
          pc->Update(keys[f], offset, data);
          break;
        }
        case 3: {  // truncate: invalidate beyond the new size and the partial page
          uint64_t size = rng() % (24 * kPage);
          file.Resize(size);
          pc->InvalidatePages(keys[f], size / kPage, UINT64_MAX - size / kPage);
          break;
        }
        case 4:
          if (rng() % 4 == 0) pc->EvictAll();
          if (rng() % 4 == 1) pc->DrainPuts();
          break;
        default: {
          uint64_t first = rng() % 26;
          size_t count = 1 + rng() % 6;
          std::vector<uint8_t> out(count * kPage);
          ASSERT_EQ(pc->Read(keys[f], first, count, out, file.reader()), 0);
          auto model = file.Snapshot();
          model.resize(std::max<size_t>(model.size(), (first + count) * kPage));
          ASSERT_TRUE(std::equal(out.begin(), out.end(), model.begin() + first * kPage))
              << "op " << op << " file " << f << " pages " << first << "+" << count << " capacity " << capacity;
        }
      }
    }
    EXPECT_LE(pc->Stats().resident_pages, capacity);
  }
}

// Concurrent writers stamp pages with increasing versions; a reader that
// starts after a write was acknowledged must never see an older version.
TEST_F(PageCacheTest, ConcurrentReadersNeverSeeDataOlderThanAcknowledgedWrites) {
  for (auto [capacity, queue] : {std::pair<uint64_t, uint64_t>{0, 0}, {0, 64}, {4, 0}}) {
    auto pc = Make(capacity, 2, queue);
    FakeFile file;
    constexpr int kPages = 8;
    std::vector<std::atomic<uint64_t>> acked(kPages);
    auto stamp = [&](int page, uint64_t version) {
      std::vector<uint8_t> bytes(kPage);
      for (size_t i = 0; i < kPage; i += 8) std::memcpy(&bytes[i], &version, 8);
      file.Write(page * kPage, bytes);
      pc->Update(key_, page * kPage, bytes);
      acked[page] = version;
    };
    for (int p = 0; p < kPages; ++p) stamp(p, 1);
    std::atomic<bool> stop{false};
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < 2; ++w) {
      threads.emplace_back([&, w] {
        for (uint64_t v = 2; v < 800; ++v) stamp((v + w) % kPages, v * 2 + w);
        stop = true;
      });
    }
    for (int r = 0; r < 2; ++r) {
      threads.emplace_back([&, r] {
        std::mt19937 rng(r);
        for (int i = 0; i < 20000 && !stop; ++i) {
          int page = rng() % kPages;
          uint64_t floor = acked[page];
          std::vector<uint8_t> out(kPage);
          if (pc->Read(key_, page, 1, out, file.reader()) != 0) ++failures;
          uint64_t seen;
          std::memcpy(&seen, out.data(), 8);
          // Writers race each other, so compare with what was acked before the read.
          if (seen < floor && (seen % 2) == (floor % 2)) ++failures;
          if (rng() % 64 == 0) pc->EvictAll();
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0) << "capacity " << capacity << " put queue " << queue;
    // Quiescent: every page must now read exactly as the backing.
    for (int p = 0; p < kPages; ++p) {
      std::vector<uint8_t> out(kPage), model(kPage);
      ASSERT_EQ(pc->Read(key_, p, 1, out, file.reader()), 0);
      file.ReadPages(p, model);
      EXPECT_EQ(out, model) << "page " << p;
    }
  }
}

TEST_F(PageCacheTest, SharedPoolHitsAreNotPutBack) {
  auto uuid = Uuid::Parse("0123456789abcdef0123456789abcdef");
  ASSERT_TRUE(uuid.ok());
  PoolId shared = cache_.InitSharedFs(*uuid, kPage);
  ASSERT_GE(shared, 0);
  PageCache pc(cache_, shared, PageCacheOptions{0, kPage, 0});
  FakeFile file;
  auto data = Pattern(3 * kPage, 15);
  file.Write(0, data);
  std::vector<uint8_t> out(3 * kPage);
  ASSERT_EQ(pc.Read(key_, 0, 3, out, file.reader()), 0);
  ASSERT_EQ(pc.Read(key_, 0, 3, out, file.reader()), 0);
  EXPECT_EQ(out, data);
  EXPECT_EQ(cache_.Counters(shared).puts, 3u);
  EXPECT_EQ(pc.Stats().cleancache_hits, 3u);
}

// The frontend's admission policy: refused pages are served but cached
// nowhere (primary mode: not installed; with capacity 0: not put), and only
// pages read from the backing are asked.
TEST_F(PageCacheTest, AdmitRefusesCachingButServesThePages) {
  for (uint64_t capacity : {16u, 0u}) {
    auto pc = Make(capacity);
    FakeFile file;
    auto data = Pattern(8 * kPage, 30);
    file.Write(0, data);
    std::vector<uint64_t> asked;
    PageCache::Admit odd_only = [&](uint64_t index) {
      asked.push_back(index);
      return index % 2 == 1;
    };
    std::vector<uint8_t> out(8 * kPage);
    const uint64_t puts_before = cache_.Counters(pool_).puts;
    ASSERT_EQ(pc->Read(key_, 0, 8, out, file.reader(), {}, odd_only), 0);
    EXPECT_EQ(out, data);
    EXPECT_EQ(asked, (std::vector<uint64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
    EXPECT_EQ(pc->Stats().not_admitted, 4u);
    if (capacity == 0) {
      EXPECT_EQ(cache_.Counters(pool_).puts - puts_before, 4u);
    }
    // Again, admitting all: the odd pages are cached (primary or cleancache),
    // the even ones come from the backing once more.
    asked.clear();
    ASSERT_EQ(pc->Read(key_, 0, 8, out, file.reader(), {},
                       [&](uint64_t index) {
                         asked.push_back(index);
                         return true;
                       }),
              0);
    EXPECT_EQ(out, data);
    EXPECT_EQ(asked, (std::vector<uint64_t>{0, 2, 4, 6})) << "capacity " << capacity;
    EXPECT_EQ(pc->Stats().backing_pages, 12u);
    pc.reset();
    cache_.InvalidateInode(pool_, key_);
  }
}

// A MapBackend whose puts, once armed, store the page and then wait until
// released: the feeder is held mid-put, after the copy landed.
class GatedBackend : public testing::MapBackend {
 public:
  void PutPage(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<const uint8_t> page) override {
    MapBackend::PutPage(pool, key, index, page);
    std::unique_lock lock(mu_);
    if (!armed_) return;
    ++held_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return !armed_; });
  }
  void Arm() {
    std::lock_guard lock(mu_);
    armed_ = true;
  }
  void WaitUntilHeld() {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [this] { return held_ > 0; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    armed_ = false;
    changed_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  bool armed_ = false;
  int held_ = 0;
};

class DeferredPutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto backend = std::make_unique<GatedBackend>();
    backend_ = backend.get();
    ASSERT_TRUE(cache_.RegisterBackend(std::move(backend)).ok());
    pool_ = cache_.InitFs(kPage);
    ASSERT_GE(pool_, 0);
  }
  std::vector<uint8_t> ReadPages(PageCache& pc, FakeFile& file, uint64_t first, size_t count,
                                 const std::function<void()>& on_filled = {}) {
    std::vector<uint8_t> out(count * kPage);
    EXPECT_EQ(pc.Read(key_, first, count, out, file.reader(), on_filled), 0);
    return out;
  }
  GatedBackend* backend_ = nullptr;
  Cleancache cache_;
  PoolId pool_ = kNoPool;
  FileKey key_ = FileKey::FromInode(1, 200);
};

TEST_F(DeferredPutTest, PagesReadArePutInTheBackground) {
  PageCache pc(cache_, pool_, PageCacheOptions{0, kPage, 0, 64 * kPage});
  FakeFile file;
  auto data = Pattern(10 * kPage, 20);
  file.Write(0, data);
  EXPECT_EQ(ReadPages(pc, file, 0, 10), data);
  pc.DrainPuts();
  EXPECT_EQ(pc.Stats().queued_puts, 0u);
  EXPECT_EQ(pc.Stats().deferred_puts, 10u);
  EXPECT_EQ(cache_.Counters(pool_).puts, 10u);
  EXPECT_EQ(ReadPages(pc, file, 0, 10), data);
  EXPECT_EQ(pc.Stats().cleancache_hits, 10u);
  EXPECT_EQ(pc.Stats().backing_pages, 10u);
}

// The FUSE frontend replies to the kernel from on_filled, before Read
// queues the pages: they must already count as pending then, or a caller
// waiting for queued_puts == 0 (TestMount::WaitForDeferredPuts) can see 0
// before they are queued, and then miss in cleancache.
TEST_F(DeferredPutTest, PagesCountAsPendingWhenTheReaderIsTold) {
  PageCache pc(cache_, pool_, PageCacheOptions{0, kPage, 0, 64 * kPage});
  FakeFile file;
  auto data = Pattern(10 * kPage, 22);
  file.Write(0, data);
  uint64_t pending_when_told = 0;
  EXPECT_EQ(ReadPages(pc, file, 0, 10, [&] { pending_when_told = pc.Stats().queued_puts; }), data);
  EXPECT_EQ(pending_when_told, 10u);
  pc.DrainPuts();
  EXPECT_EQ(pc.Stats().queued_puts, 0u);
  EXPECT_EQ(pc.Stats().deferred_puts, 10u);
}

TEST_F(DeferredPutTest, AFullQueueDropsNewPutsAndServesReadsAnyway) {
  PageCache pc(cache_, pool_, PageCacheOptions{0, kPage, 0, 2 * kPage});
  FakeFile file;
  auto data = Pattern(12 * kPage, 21);
  file.Write(0, data);
  backend_->Arm();  // the feeder stops in its first put
  EXPECT_EQ(ReadPages(pc, file, 0, 1), std::vector<uint8_t>(data.begin(), data.begin() + kPage));
  backend_->WaitUntilHeld();
  EXPECT_EQ(ReadPages(pc, file, 1, 11), std::vector<uint8_t>(data.begin() + kPage, data.end()));
  // One page is being put, one buffer was free: one more queued, ten dropped.
  EXPECT_EQ(pc.Stats().dropped_puts, 10u);
  backend_->Release();
  pc.DrainPuts();
  EXPECT_EQ(pc.Stats().deferred_puts, 2u);
  EXPECT_EQ(cache_.Counters(pool_).puts, 2u);
  EXPECT_EQ(ReadPages(pc, file, 0, 12), data);
}

TEST_F(DeferredPutTest, AWriteOvertakingAQueuedPutRevokesIt) {
  PageCache pc(cache_, pool_, PageCacheOptions{0, kPage, 0, 64 * kPage});
  FakeFile file;
  auto old_data = Pattern(2 * kPage, 22);
  file.Write(0, old_data);
  backend_->Arm();
  ReadPages(pc, file, 0, 1);  // page 0 held mid-put by the feeder
  backend_->WaitUntilHeld();
  ReadPages(pc, file, 1, 1);  // page 1 waits in the queue behind it
  auto new_data = Pattern(2 * kPage, 23);
  file.Write(0, new_data);
  pc.Update(key_, 0, new_data);
  // Page 0's old copy is in cleancache now, but its slot is revoked: reads
  // must not take it from there.
  EXPECT_EQ(ReadPages(pc, file, 0, 2), new_data);
  backend_->Release();
  pc.DrainPuts();
  EXPECT_EQ(pc.Stats().revoked_puts, 1u);  // page 1's old copy: never put
  // Page 0's old copy, which landed during the write, was dropped; what
  // cleancache holds now can only be new data (page 1, read after the write).
  std::vector<uint8_t> page(kPage);
  for (uint64_t index : {0, 1}) {
    if (cache_.GetPage(pool_, key_, index, page)) {
      EXPECT_TRUE(std::equal(page.begin(), page.end(), new_data.begin() + index * kPage)) << "page " << index;
    }
  }
  EXPECT_EQ(ReadPages(pc, file, 0, 2), new_data);
}

TEST_F(DeferredPutTest, InvalidateFileDuringAPutDropsTheCopyThatLanded) {
  PageCache pc(cache_, pool_, PageCacheOptions{0, kPage, 0, 64 * kPage});
  FakeFile file;
  file.Write(0, Pattern(kPage, 24));
  backend_->Arm();
  ReadPages(pc, file, 0, 1);
  backend_->WaitUntilHeld();
  pc.InvalidateFile(key_);
  backend_->Release();
  pc.DrainPuts();
  std::vector<uint8_t> page(kPage);
  EXPECT_FALSE(cache_.GetPage(pool_, key_, 0, page));
}

// Destruction neither hangs on the queue nor leaves the feeder running.
TEST_F(DeferredPutTest, DestroyingWithPutsQueuedWaitsOnlyForThePutInProgress) {
  FakeFile file;
  file.Write(0, Pattern(8 * kPage, 25));
  std::thread release;
  {
    PageCache pc(cache_, pool_, PageCacheOptions{0, kPage, 0, 64 * kPage});
    backend_->Arm();
    ReadPages(pc, file, 0, 1);
    backend_->WaitUntilHeld();
    ReadPages(pc, file, 1, 7);
    release = std::thread([this] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      backend_->Release();
    });
    // The destructor waits for the put in progress and drops the rest.
  }
  release.join();
  const uint64_t puts = cache_.Counters(pool_).puts;
  EXPECT_GE(puts, 1u);
  EXPECT_LE(puts, 8u);
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(cache_.Counters(pool_).puts, puts) << "nothing is put after destruction";
}

}  // namespace
}  // namespace cleancache
