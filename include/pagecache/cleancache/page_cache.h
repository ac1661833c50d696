// PageCache: a bounded primary cache of file pages in front of a Cleancache
// pool -- the seed's design, usable by any application (the FUSE mount's
// `--primary SIZE` mode is one user; with capacity 0 it is the write-through
// frontend of `--primary kernel`).
//
// Contract:
//  - Read-through: a page is served from the primary, else from cleancache
//    (GetPage), else from the caller's Reader (the backing file). Pages are
//    clean copies of the backing file: the PageCache never writes back.
//  - A page evicted from the primary (least recently used first) is PutPage'd
//    into cleancache; with capacity 0 every page read is put at once, or,
//    with put_queue_bytes, queued for a background thread that puts pages
//    when a CPU would otherwise idle (SCHED_IDLE) and drops new ones while
//    the queue is full (puts are optional; the caller's primary, the kernel,
//    still has the pages).
//  - Coherency: the caller writes the backing file FIRST, then calls Update
//    (or Invalidate*). A read that started before that call never installs
//    its (possibly old) data in the primary or in cleancache afterwards:
//    each miss holds a ticket that any invalidation of the page revokes;
//    revoking and dropping cleancache's copy are one step under the page's
//    lock, and so are checking a ticket and putting (a queued put that an
//    invalidation overtakes is dropped, before or after it lands in
//    cleancache, and reads skip cleancache for that page until then).
//  - Pages are exactly `page_size` bytes; bytes past the end of the file are
//    zero (a short Reader result is zero-filled). The caller clips to the
//    file size, which it tracks.
// Thread safety: every method may run concurrently from many threads; pages
// are spread over independently locked shards (stripes of 64 pages).
// Ownership: the Cleancache instance is borrowed and must outlive the
// PageCache; the pool belongs to the caller (the PageCache never ends it).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "cleancache/cleancache.hpp"
#include "cleancache/file_key.h"

namespace cleancache {

struct PageCacheOptions {
  uint64_t capacity_bytes = 64ull << 20;              // primary size; 0 = keep nothing (put at once)
  uint32_t page_size = Cleancache::kDefaultPageSize;  // must equal the pool's page size
  uint32_t shards = 0;                                // 0 = chosen from the capacity
  // Capacity 0 only: bytes of pages that may wait for a deferred put;
  // 0 = put on the reading thread.
  uint64_t put_queue_bytes = 0;
};

// Where the pages of a Read came from, and what the primary did.
struct PageCacheStats {
  uint64_t primary_hits = 0;     // pages served from the primary
  uint64_t cleancache_hits = 0;  // pages served from cleancache
  uint64_t backing_pages = 0;    // pages read through the Reader
  uint64_t reader_calls = 0;     // Reader invocations (one per run of pages)
  uint64_t evicted_pages = 0;    // pages evicted from the primary (and put)
  uint64_t resident_pages = 0;   // pages in the primary now
  uint64_t resident_bytes = 0;   // page bytes in the primary now
  uint64_t reserved_bytes = 0;   // page frames the primary holds (resident or free): its page memory
  uint64_t capacity_bytes = 0;
  uint64_t deferred_puts = 0;  // pages put by the background thread
  uint64_t dropped_puts = 0;   // pages not put: the queue was full
  uint64_t revoked_puts = 0;   // queued pages invalidated before their put
  uint64_t queued_puts = 0;    // pages read whose put is pending now (queued or being put)
  uint64_t not_admitted = 0;   // pages read from the backing that `admit` refused to cache
};

class PageCache {
 public:
  // Fills `pages` (a whole number of pages starting at `first_index`) from
  // the backing file. Returns the number of bytes read (short at end of
  // file; the rest is zero-filled by the PageCache) or -errno.
  using Reader = std::function<long(uint64_t first_index, std::span<uint8_t> pages)>;
  // Whether a page just read through the Reader may be cached (installed in
  // the primary, or put into cleancache). A frontend's admission policy,
  // e.g. keeping a long sequential scan from flushing what is cached.
  using Admit = std::function<bool(uint64_t index)>;

  PageCache(Cleancache& cache, PoolId pool, const PageCacheOptions& options);
  ~PageCache();
  PageCache(const PageCache&) = delete;
  PageCache& operator=(const PageCache&) = delete;

  // Copies `count` pages of `key` from `first_index` into `out`
  // (count x page_size bytes). Returns 0 or the Reader's -errno (then `out`
  // is unspecified and nothing was cached). `on_filled`, if given, runs as
  // soon as `out` holds the data and before the pages read are installed
  // and evictions are put into cleancache, so a caller can answer its own
  // client first (`out` must stay valid until Read returns); it is not
  // called on failure. `admit`, if given, is asked once for each page read
  // through the Reader; a page it refuses is served but cached nowhere
  // (pages found in the primary or cleancache are not asked).
  int Read(const FileKey& key, uint64_t first_index, size_t count, std::span<uint8_t> out, const Reader& reader,
           const std::function<void()>& on_filled = {}, const Admit& admit = {});

  // The caller has just written `data` at byte `offset` of the backing file:
  // resident pages are updated in place, pages being read are revoked and
  // cleancache's copies dropped.
  void Update(const FileKey& key, uint64_t offset, std::span<const uint8_t> data);
  // Drops pages [first_index, first_index + count) everywhere (primary and
  // cleancache). A huge count (e.g. UINT64_MAX - first_index) is fine.
  void InvalidatePages(const FileKey& key, uint64_t first_index, uint64_t count);
  // Drops every page of the file everywhere.
  void InvalidateFile(const FileKey& key);
  // Evicts every resident page into cleancache (like dropping the kernel's
  // page cache): later reads are served by cleancache.
  void EvictAll();
  // Waits until the pages queued for deferred puts so far are put (or
  // dropped). Without a queue, returns at once.
  void DrainPuts();

  PageCacheStats Stats() const;
  uint32_t page_size() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cleancache
