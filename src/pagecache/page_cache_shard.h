// One lock's worth of the PageCache: resident pages in LRU order, plus the
// tickets of reads in flight and of pages queued for a deferred put. Every
// method requires the caller to hold mu.
//
// A page's slot: loading (a read holds its ticket) -> resident, or (capacity
// 0 with a PutFeeder) -> queued -> putting -> gone. Any invalidation revokes
// a ticket by erasing the slot, except while putting: the put runs outside
// this lock, so the slot is marked revoked instead, reads skip cleancache for
// the page, and EndPut drops whatever the put stored.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <unordered_map>
#include <vector>

#include "cleancache/cleancache.hpp"
#include "cleancache/file_key.h"
#include "cleancache/lock_order.h"

namespace cleancache {

// Page frames for one shard's resident pages, carved from chunks that stay
// until the shard goes. A frame freed is reused by the next page; nothing
// goes back to malloc. The primary's pages churn at the miss rate, and 4 KiB
// blocks allocated on one FUSE worker thread and freed on another spread
// over glibc's per-thread arenas: measured with --primary 256M under Zipf
// reads, the mount's RSS grew to 256 MiB + 155 MiB in 40 s and kept growing
// (the same run with MALLOC_ARENA_MAX=1: + 28 MiB, flat), and a 512 MiB
// cgroup OOM-killed it. Frames in use never exceed the shard's capacity + 1.
class FramePool {
 public:
  explicit FramePool(uint32_t frame_bytes) : frame_bytes_(frame_bytes) {}
  uint8_t* Take();
  void Give(uint8_t* frame) { free_.push_back(frame); }
  uint64_t reserved_frames() const { return chunks_.size() * kFramesPerChunk; }

 private:
  static constexpr size_t kFramesPerChunk = 64;  // 256 KiB chunks of 4 KiB pages
  uint32_t frame_bytes_;
  std::vector<std::unique_ptr<uint8_t[]>> chunks_;
  std::vector<uint8_t*> free_;
};

class PageCacheShard {
 public:
  // What evictions need to reach cleancache.
  struct Target {
    Cleancache* cache;
    PoolId pool;
    bool keep_on_get;  // the pool keeps pages on get: no need to put them back
  };

  PageCacheShard(Target target, uint64_t capacity_pages, uint32_t page_size)
      : target_(target), capacity_pages_(capacity_pages), page_size_(page_size), frames_(page_size) {}

  // First in the lock order (cleancache/lock_order.h): held while calling
  // into Cleancache and its backend, never taken from below.
  using Mutex = OrderedMutex<LockLevel::kPageCacheShard>;
  Mutex mu;

  // Copies a resident page into `out` and marks it recently used.
  bool CopyIfResident(const FileKey& key, uint64_t index, std::span<uint8_t> out);
  // Registers a read of a missing page. Returns its ticket, or 0 when another
  // read of the page is already in flight (this one must not install).
  // *skip_cleancache: cleancache may hold a revoked copy of the page now.
  uint64_t BeginLoad(const FileKey& key, uint64_t index, bool* skip_cleancache);
  // Installs the page read under `ticket` unless an invalidation revoked it,
  // then evicts down to capacity (evicted pages are put into cleancache).
  // Returns the number of pages evicted.
  uint64_t FinishLoad(const FileKey& key, uint64_t index, uint64_t ticket, std::span<const uint8_t> data,
                      bool came_from_cleancache);
  void AbortLoad(const FileKey& key, uint64_t index, uint64_t ticket);
  // Deferred puts (capacity 0): the page read under `ticket` is queued. False
  // if the ticket was revoked (then nothing is to be put).
  bool QueueForPut(const FileKey& key, uint64_t index, uint64_t ticket);
  // The feeder is about to put the page: false if revoked meanwhile.
  bool BeginPut(const FileKey& key, uint64_t index, uint64_t ticket);
  // The put is done: if revoked during it, the copy is dropped from cleancache.
  void EndPut(const FileKey& key, uint64_t index, uint64_t ticket);
  // Resident page: patched in place. Page in flight: ticket revoked.
  void Update(const FileKey& key, uint64_t index, uint32_t offset_in_page, std::span<const uint8_t> bytes);
  // Drops resident pages and revokes tickets for [first, first + count).
  void Invalidate(const FileKey& key, uint64_t first, uint64_t count);
  void InvalidateFile(const FileKey& key);
  // Evicts every resident page (into cleancache). Returns how many.
  uint64_t EvictAll();

  uint64_t resident_pages() const { return lru_.size(); }
  // Frames carved so far (resident pages plus free frames).
  uint64_t reserved_frames() const { return frames_.reserved_frames(); }

 private:
  struct Page {
    FileKey key;
    uint64_t index;
    uint8_t* data;       // a frame of frames_
    bool in_cleancache;  // an identical copy is known to be in a keep-on-get pool
  };
  using PageList = std::list<Page>;
  enum class State : uint8_t { kLoading, kResident, kQueued, kPutting, kPuttingRevoked };
  struct Slot {
    PageList::iterator page;  // valid when resident
    State state = State::kLoading;
    uint64_t ticket = 0;  // when loading, queued or putting
  };
  using FileSlots = std::unordered_map<uint64_t, Slot>;
  using FileMap = std::unordered_map<FileKey, FileSlots, FileKeyHash>;

  Slot* FindSlot(const FileKey& key, uint64_t index);
  // Revokes a slot that is not resident: erased, or marked if being put.
  // Returns true if it was erased.
  bool Revoke(FileMap::iterator file, FileSlots::iterator slot);
  // Revokes every slot of the file whose index `doomed` accepts.
  template <typename Doomed>
  void RevokeWhere(FileMap::iterator file, Doomed doomed);
  void EraseSlot(FileMap::iterator file, FileSlots::iterator slot);
  void EvictOldest();

  Target target_;
  uint64_t capacity_pages_;
  uint32_t page_size_;
  uint64_t next_ticket_ = 1;
  FramePool frames_;
  PageList lru_;  // front = most recently used
  FileMap files_;
};

}  // namespace cleancache
