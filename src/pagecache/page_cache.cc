#include "cleancache/page_cache.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "pagecache/page_cache_shard.h"
#include "pagecache/put_feeder.h"

namespace cleancache {
namespace {

constexpr uint64_t kStripePages = 64;  // consecutive pages sharing a shard
constexpr uint32_t kDefaultShards = 16;
constexpr uint64_t kMinShardPages = 1024;
// Above this many pages, a range invalidation of cleancache is cheaper as one
// InvalidateInode (cleancache has no range call; Linux does the same).
constexpr uint64_t kMaxPageInvalidations = 1024;

uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

}  // namespace

struct PageCache::Impl {
  Cleancache& cache;
  PoolId pool;
  uint32_t page_size;
  uint64_t capacity_bytes;
  bool keep_on_get = false;
  std::vector<std::unique_ptr<PageCacheShard>> shards;

  std::atomic<uint64_t> primary_hits{0};
  std::atomic<uint64_t> cleancache_hits{0};
  std::atomic<uint64_t> backing_pages{0};
  std::atomic<uint64_t> reader_calls{0};
  std::atomic<uint64_t> evicted_pages{0};
  std::atomic<uint64_t> deferred_puts{0};
  std::atomic<uint64_t> dropped_puts{0};
  std::atomic<uint64_t> revoked_puts{0};
  std::atomic<uint64_t> not_admitted{0};
  // Declared last: destroyed (its thread joined) before what it uses.
  std::unique_ptr<PutFeeder> feeder;

  Impl(Cleancache& c, PoolId p, const PageCacheOptions& options)
      : cache(c), pool(p), page_size(options.page_size), capacity_bytes(options.capacity_bytes) {
    uint64_t capacity_pages = options.capacity_bytes / page_size;
    // A file's pages go to shards in stripes, so a shard must hold many
    // stripes for LRU order to stay close to global LRU order.
    uint64_t count = kDefaultShards;
    if (capacity_pages > 0) count = std::clamp<uint64_t>(capacity_pages / kMinShardPages, 1, kDefaultShards);
    if (options.shards != 0) count = options.shards;
    // Every shard gets at least one page when there is any capacity, so the
    // total never exceeds the capacity.
    if (capacity_pages > 0) count = std::min<uint64_t>(count, capacity_pages);
    auto info = cache.Info(pool);
    keep_on_get = info.ok() && info->keep_on_get;
    PageCacheShard::Target target{&cache, pool, keep_on_get};
    for (uint64_t i = 0; i < count; ++i) {
      shards.push_back(std::make_unique<PageCacheShard>(target, capacity_pages / count, page_size));
    }
    if (capacity_pages == 0 && options.put_queue_bytes >= page_size) {
      feeder = std::make_unique<PutFeeder>(options.put_queue_bytes / page_size, page_size,
                                           [this](QueuedPut& put) { FeedPut(put); });
    }
  }

  // The feeder thread's put of one queued page.
  void FeedPut(QueuedPut& put) {
    {
      std::lock_guard lock(put.shard->mu);
      if (!put.shard->BeginPut(put.key, put.index, put.ticket)) {
        ++revoked_puts;
        return;
      }
    }
    cache.PutPage(pool, put.key, put.index, {put.data.get(), page_size});
    std::lock_guard lock(put.shard->mu);
    put.shard->EndPut(put.key, put.index, put.ticket);
    ++deferred_puts;
  }

  // In shard order; reads and the feeder hold one shard lock at a time.
  std::vector<std::unique_lock<PageCacheShard::Mutex>> LockAllShards() {
    std::vector<std::unique_lock<PageCacheShard::Mutex>> locks;
    locks.reserve(shards.size());
    for (auto& shard : shards) locks.emplace_back(shard->mu);
    return locks;
  }

  PageCacheShard& ShardFor(const FileKey& key, uint64_t index) {
    return *shards[Mix(key.hash() ^ Mix(index / kStripePages)) % shards.size()];
  }
};

PageCache::PageCache(Cleancache& cache, PoolId pool, const PageCacheOptions& options)
    : impl_(std::make_unique<Impl>(cache, pool, options)) {}

PageCache::~PageCache() = default;

uint32_t PageCache::page_size() const { return impl_->page_size; }

int PageCache::Read(const FileKey& key, uint64_t first_index, size_t count, std::span<uint8_t> out,
                    const Reader& reader, const std::function<void()>& on_filled, const Admit& admit) {
  const uint32_t ps = impl_->page_size;
  struct Miss {
    size_t slot;  // position in the request
    uint64_t ticket;
    bool from_cleancache;
    bool skip_cleancache;  // it may hold a revoked copy right now
  };
  std::vector<Miss> misses;
  for (size_t i = 0; i < count; ++i) {
    PageCacheShard& shard = impl_->ShardFor(key, first_index + i);
    std::lock_guard lock(shard.mu);
    if (shard.CopyIfResident(key, first_index + i, out.subspan(i * ps, ps))) continue;
    bool skip_cleancache;
    uint64_t ticket = shard.BeginLoad(key, first_index + i, &skip_cleancache);
    misses.push_back({i, ticket, false, skip_cleancache});
  }
  impl_->primary_hits += count - misses.size();
  if (misses.empty()) {
    if (on_filled) on_filled();
    return 0;
  }

  // Runs of consecutive missing pages: one cleancache batch, then one Reader
  // call per run still missing.
  auto for_each_run = [&](auto&& wanted, auto&& fn) {
    size_t m = 0;
    while (m < misses.size()) {
      if (!wanted(misses[m])) {
        ++m;
        continue;
      }
      size_t end = m + 1;
      while (end < misses.size() && wanted(misses[end]) && misses[end].slot == misses[end - 1].slot + 1) ++end;
      if (int rc = fn(m, end); rc < 0) return rc;
      m = end;
    }
    return 0;
  };
  std::vector<uint8_t> hit;
  for_each_run([](const Miss& miss) { return !miss.skip_cleancache; },
               [&](size_t m, size_t end) {
                 size_t n = end - m;
                 hit.assign(n, 0);
                 impl_->cache.GetPages(impl_->pool, key, first_index + misses[m].slot, n,
                                       out.subspan(misses[m].slot * ps, n * ps), hit);
                 for (size_t k = 0; k < n; ++k) misses[m + k].from_cleancache = hit[k] != 0;
                 return 0;
               });
  int rc = for_each_run([](const Miss& miss) { return !miss.from_cleancache; },
                        [&](size_t m, size_t end) {
                          size_t n = end - m;
                          auto run = out.subspan(misses[m].slot * ps, n * ps);
                          ++impl_->reader_calls;
                          long got = reader(first_index + misses[m].slot, run);
                          if (got < 0) return static_cast<int>(got);
                          size_t valid = std::min<size_t>(static_cast<size_t>(got), run.size());
                          std::memset(run.data() + valid, 0, run.size() - valid);
                          impl_->backing_pages += n;
                          return 0;
                        });
  // Refused pages are served and forgotten: their loads end unfinished.
  if (rc == 0 && admit) {
    for (Miss& miss : misses) {
      if (miss.from_cleancache || miss.ticket == 0 || admit(first_index + miss.slot)) continue;
      PageCacheShard& shard = impl_->ShardFor(key, first_index + miss.slot);
      std::lock_guard lock(shard.mu);
      shard.AbortLoad(key, first_index + miss.slot, miss.ticket);
      miss.ticket = 0;
      ++impl_->not_admitted;
    }
  }

  // With a feeder, pages read are queued for it instead of being put here.
  // (A pool that keeps pages on get still holds those it served: they need no put.) Their
  // buffers are taken before the caller hears the data is there, so that the
  // pages already count as pending puts when it does.
  auto feeds = [&](const Miss& miss) {
    return impl_->feeder && miss.ticket != 0 && !(miss.from_cleancache && impl_->keep_on_get);
  };
  std::vector<std::unique_ptr<uint8_t[]>> buffers;
  if (rc == 0 && impl_->feeder)
    buffers = impl_->feeder->TakeBuffers(std::count_if(misses.begin(), misses.end(), feeds));
  if (rc == 0 && on_filled) on_filled();
  uint64_t evicted = 0;
  std::vector<QueuedPut> queued;
  for (const Miss& miss : misses) {
    PageCacheShard& shard = impl_->ShardFor(key, first_index + miss.slot);
    const uint64_t index = first_index + miss.slot;
    std::lock_guard lock(shard.mu);
    if (rc < 0) {
      shard.AbortLoad(key, index, miss.ticket);
    } else if (feeds(miss)) {
      if (buffers.empty()) {
        shard.AbortLoad(key, index, miss.ticket);  // the feeder is behind: this put is dropped
        ++impl_->dropped_puts;
      } else if (shard.QueueForPut(key, index, miss.ticket)) {
        std::memcpy(buffers.back().get(), out.data() + miss.slot * ps, ps);
        queued.push_back(QueuedPut{&shard, key, index, miss.ticket, std::move(buffers.back())});
        buffers.pop_back();
      }
      if (miss.from_cleancache) ++impl_->cleancache_hits;
    } else {
      evicted += shard.FinishLoad(key, first_index + miss.slot, miss.ticket, out.subspan(miss.slot * ps, ps),
                                  miss.from_cleancache);
      if (miss.from_cleancache) ++impl_->cleancache_hits;
    }
  }
  impl_->evicted_pages += evicted;
  if (impl_->feeder) {
    impl_->evicted_pages += queued.size();
    impl_->feeder->GiveBack(buffers);
    impl_->feeder->Push(queued);
  }
  return rc;
}

// Each page is revoked and dropped from cleancache under its shard's lock, as
// one step: a read that registers between the two could otherwise take the
// old copy from cleancache (an exclusive get) and, its ticket still valid,
// put it back after the drop (a stale page; ConcurrentReaders... test).
void PageCache::Update(const FileKey& key, uint64_t offset, std::span<const uint8_t> data) {
  const uint32_t ps = impl_->page_size;
  size_t done = 0;
  while (done < data.size()) {
    uint64_t pos = offset + done;
    uint64_t index = pos / ps;
    uint32_t in_page = static_cast<uint32_t>(pos % ps);
    size_t n = std::min<size_t>(ps - in_page, data.size() - done);
    PageCacheShard& shard = impl_->ShardFor(key, index);
    std::lock_guard lock(shard.mu);
    shard.Update(key, index, in_page, data.subspan(done, n));
    impl_->cache.InvalidatePage(impl_->pool, key, index);
    done += n;
  }
}

void PageCache::InvalidatePages(const FileKey& key, uint64_t first_index, uint64_t count) {
  if (count == 0) return;
  if (count <= kMaxPageInvalidations) {
    for (uint64_t i = 0; i < count; ++i) {
      PageCacheShard& shard = impl_->ShardFor(key, first_index + i);
      std::lock_guard lock(shard.mu);
      shard.Invalidate(key, first_index + i, 1);
      impl_->cache.InvalidatePage(impl_->pool, key, first_index + i);
    }
    return;
  }
  // Cleancache has no range call (Linux neither): the whole file goes, with
  // every shard locked so that no read of the file registers in between.
  auto locks = impl_->LockAllShards();
  for (auto& shard : impl_->shards) shard->Invalidate(key, first_index, count);
  impl_->cache.InvalidateInode(impl_->pool, key);
}

void PageCache::InvalidateFile(const FileKey& key) {
  auto locks = impl_->LockAllShards();
  for (auto& shard : impl_->shards) shard->InvalidateFile(key);
  impl_->cache.InvalidateInode(impl_->pool, key);
}

void PageCache::EvictAll() {
  for (auto& shard : impl_->shards) {
    std::lock_guard lock(shard->mu);
    impl_->evicted_pages += shard->EvictAll();
  }
}

PageCacheStats PageCache::Stats() const {
  PageCacheStats stats;
  stats.primary_hits = impl_->primary_hits;
  stats.cleancache_hits = impl_->cleancache_hits;
  stats.backing_pages = impl_->backing_pages;
  stats.reader_calls = impl_->reader_calls;
  stats.evicted_pages = impl_->evicted_pages;
  for (auto& shard : impl_->shards) {
    std::lock_guard lock(shard->mu);
    stats.resident_pages += shard->resident_pages();
    stats.reserved_bytes += shard->reserved_frames() * impl_->page_size;
  }
  stats.resident_bytes = stats.resident_pages * impl_->page_size;
  stats.capacity_bytes = impl_->capacity_bytes;
  stats.deferred_puts = impl_->deferred_puts;
  stats.dropped_puts = impl_->dropped_puts;
  stats.revoked_puts = impl_->revoked_puts;
  stats.not_admitted = impl_->not_admitted;
  stats.queued_puts = impl_->feeder ? impl_->feeder->queued_pages() : 0;
  return stats;
}

void PageCache::DrainPuts() {
  if (impl_->feeder) impl_->feeder->Drain();
}

}  // namespace cleancache
