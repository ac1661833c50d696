// Shard: one independently locked part of a ZCache. It holds the pages of
// the (pool, file, 64-page stripe) triples that hash to it:
//  - an entry (32 bytes) per page in a chained hash on (file slot, index),
//    linked into its file's page list so a file is dropped in O(its pages);
//  - a file record per file, linked into its pool's list, so a pool is
//    dropped in O(its pages);
//  - compressed data appended to segments (see segment.h), evicted whole in
//    age order (segment CLOCK: objects hit since stored are slid together and
//    their segment re-aged instead); a segment emptied by gets/invalidations
//    goes to a small idle pool for reuse, or back to the OS; when holes pass
//    a threshold the most fragmented segment is compacted in place (live
//    objects slid down, tail given back), which needs no memory beyond what
//    it frees.
// Every public method takes the shard mutex; none calls out while holding it
// except the eviction listener, as its contract allows. Get decompresses
// after releasing it, from segment bytes pinned by outside_readers_.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "cleancache/backend.h"
#include "cleancache/lock_order.h"
#include "zcache/page_codec.h"
#include "zcache/segment.h"
#include "zcache/slot_table.h"

namespace cleancache::zcache {

// What Put stores: a same-filled word, a raw page, or compressed bytes.
struct PreparedPage {
  enum class Kind { kSameFilled, kRaw, kCompressed } kind;
  uint32_t page_size;   // must match the pool's
  const uint8_t* data;  // kRaw / kCompressed
  uint32_t size;        // bytes at data
  uint64_t word;        // kSameFilled
};

struct ShardCounters {
  uint64_t pages = 0;
  uint64_t original_bytes = 0;
  uint64_t compressed_bytes = 0;
  uint64_t same_filled = 0;
  uint64_t evictions = 0;
  uint64_t dropped_puts = 0;
  uint64_t real_bytes = 0;
  uint64_t segment_used_bytes = 0;  // appended, not yet reclaimed
  uint64_t segment_live_bytes = 0;  // still referenced
  uint64_t compactions = 0;
  uint64_t segments_mapped = 0;   // fresh mappings (each faulted in as it fills): recycling keeps this flat
  uint64_t invalidate_steps = 0;  // records visited by InvalidateFile/RemovePool: their cost
};

struct ShardConfig {
  uint64_t capacity_bytes;
  uint32_t segment_bytes;
  uint32_t max_fragmentation_percent;
  const PageCodec* codec;
};

class Shard {
 public:
  explicit Shard(const ShardConfig& config);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  void AddPool(BackendPoolId pool, uint32_t page_size, bool keep_on_get);
  void RemovePool(BackendPoolId pool);  // drops its pages

  void Put(BackendPoolId pool, const FileKey& key, uint64_t index, const PreparedPage& page);
  bool Get(BackendPoolId pool, const FileKey& key, uint64_t index, uint8_t* out, uint32_t out_size);
  void InvalidatePage(BackendPoolId pool, const FileKey& key, uint64_t index);
  void InvalidateFile(BackendPoolId pool, const FileKey& key);

  ShardCounters Counters();
  uint64_t Shrink(uint64_t target_real_bytes);
  void SetCapacity(uint64_t capacity_bytes);
  void SetEvictionListener(EvictionListener* listener);

 private:
  static constexpr uint32_t kSameFilled = 1u << 31;
  static constexpr uint32_t kRaw = 1u << 30;
  static constexpr uint32_t kReferenced = 1u << 29;
  static constexpr uint32_t kFileMask = kReferenced - 1;

  struct Entry {
    uint64_t index = 0;
    uint64_t payload = 0;  // (segment << 32) | offset, or the same-filled word
    uint32_t file = kNil;  // FileRecord slot | flags; kNil while free
    uint32_t hash_next = kNil;
    uint32_t file_prev = kNil;
    uint32_t file_next = kNil;
    uint32_t& free_link() { return hash_next; }
  };
  static_assert(sizeof(Entry) == 32);

  struct FileRecord {
    static constexpr uint32_t kInlineKey = 16;  // (dev, ino) keys and ext4/xfs/tmpfs handles fit
    uint64_t hash = 0;                          // FileKey hash mixed with the pool id
    BackendPoolId pool = 0;
    uint32_t type = 0;
    uint32_t key_size = 0;
    uint32_t page_size = 0;
    uint32_t hash_next = kNil;
    uint32_t first_page = kNil;
    uint32_t pages = 0;
    uint32_t pool_prev = kNil;
    uint32_t pool_next = kNil;
    uint8_t inline_key[kInlineKey] = {};
    std::unique_ptr<uint8_t[]> long_key;
    uint32_t& free_link() { return hash_next; }
    const uint8_t* key_bytes() const { return long_key ? long_key.get() : inline_key; }
  };

  struct PoolState {
    BackendPoolId id;
    uint32_t page_size;
    bool keep_on_get;  // a hit leaves the entry (marked referenced) instead of removing it
    uint32_t first_file = kNil;
  };

  PoolState* FindPool(BackendPoolId pool);
  static uint64_t FileHash(BackendPoolId pool, const FileKey& key);
  uint32_t FindFile(BackendPoolId pool, const FileKey& key, uint64_t hash) const;
  uint32_t AddFile(PoolState& pool, const FileKey& key, uint64_t hash);
  void RemoveFile(uint32_t file);
  static uint64_t PageHash(uint32_t file, uint64_t index);
  uint32_t FindPage(uint32_t file, uint64_t index) const;
  void LinkPage(uint32_t entry);
  void RemoveEntry(uint32_t entry);  // frees its object, and its file if now empty
  void DropFilePages(uint32_t file);

  // Memory
  uint64_t RealBytes() const;
  uint64_t GrowthFor(uint32_t object_bytes, bool new_file) const;
  bool EvictOne(bool keep_idle_head);
  void EvictSegment(uint32_t segment);
  void EvictSameFilled();
  uint32_t OpenSegment();
  void ReleaseSegment(uint32_t segment);
  void DropIdle();
  bool Fragmented() const;
  bool CompactOnce();
  bool FitsInHead(uint32_t object_bytes) const;
  uint32_t PopulatedSize(uint32_t end) const;
  void Populate(Segment& head, uint32_t end);
  enum class Sweep { kKeepAll, kKeepReferenced };
  void SlideLiveObjects(uint32_t segment, Sweep sweep);
  uint8_t* AppendObject(uint32_t entry, const uint8_t* data, uint32_t size, uint64_t* payload);
  void NotifyEvicted(uint32_t entry);
  void WaitForOutsideReaders() const;
  void MaybeGrowPageBuckets();
  void MaybeGrowFileBuckets();

  // Lock order (cleancache/lock_order.h): after a PageCache shard, before
  // the eviction listener, which NotifyEvicted calls under this lock.
  OrderedMutex<LockLevel::kBackendShard> mutex_;
  // Gets decompressing straight from a segment after dropping the lock.
  std::atomic<uint32_t> outside_readers_{0};
  ShardConfig config_;
  EvictionListener* listener_ = nullptr;

  std::vector<PoolState> pools_;
  SlotTable<Entry, 1024> entries_;
  SlotTable<FileRecord, 128> files_;
  std::vector<uint32_t> page_buckets_;
  std::vector<uint32_t> file_buckets_;
  uint64_t long_key_bytes_ = 0;

  std::vector<Segment> segments_;
  std::vector<uint32_t> free_segment_slots_;
  std::deque<std::pair<uint32_t, uint64_t>> sealed_by_age_;  // (segment, age); stale if age differs
  uint32_t head_ = kNil;
  std::vector<uint32_t> idle_;  // emptied segments kept mapped (and counted) for reuse
  uint64_t idle_bytes_ = 0;     // their resident bytes
  uint64_t next_age_ = 1;
  uint64_t resident_bytes_ = 0;
  uint32_t same_filled_hand_ = 0;
  std::vector<uint8_t> evict_scratch_;  // decompressed page for the listener

  ShardCounters counters_;
};

}  // namespace cleancache::zcache
