#include "zcache/shard.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "zcache/same_filled.h"

namespace cleancache::zcache {

namespace {
constexpr uint32_t kOsPage = 4096;
constexpr uint32_t kInitialPageBuckets = 1024;
constexpr uint32_t kInitialFileBuckets = 256;
constexpr uint32_t kPopulateStep = 64u << 10;

uint32_t RoundUpToOsPage(uint32_t bytes) { return (bytes + kOsPage - 1) & ~(kOsPage - 1); }
uint32_t SegmentOf(uint64_t payload) { return static_cast<uint32_t>(payload >> 32); }
uint32_t OffsetOf(uint64_t payload) { return static_cast<uint32_t>(payload); }
uint64_t Payload(uint32_t segment, uint32_t offset) { return (static_cast<uint64_t>(segment) << 32) | offset; }
}  // namespace

Shard::Shard(const ShardConfig& config)
    : config_(config), page_buckets_(kInitialPageBuckets, kNil), file_buckets_(kInitialFileBuckets, kNil) {}

Shard::~Shard() {
  for (auto& s : segments_)
    if (s.base != nullptr) UnmapSegment(s.base, config_.segment_bytes);
}

// ---- pools ----------------------------------------------------------------

void Shard::AddPool(BackendPoolId pool, uint32_t page_size, bool keep_on_get) {
  std::lock_guard lock(mutex_);
  pools_.push_back(PoolState{pool, page_size, keep_on_get});
}

void Shard::RemovePool(BackendPoolId pool) {
  std::lock_guard lock(mutex_);
  PoolState* p = FindPool(pool);
  if (p == nullptr) return;
  while (p->first_file != kNil) DropFilePages(p->first_file);
  pools_.erase(pools_.begin() + (p - pools_.data()));
}

Shard::PoolState* Shard::FindPool(BackendPoolId pool) {
  for (auto& p : pools_)
    if (p.id == pool) return &p;
  return nullptr;
}

// ---- files ----------------------------------------------------------------

uint64_t Shard::FileHash(BackendPoolId pool, const FileKey& key) {
  return Mix64(key.hash() ^ (pool * 0x9E3779B97F4A7C15ull));
}

uint32_t Shard::FindFile(BackendPoolId pool, const FileKey& key, uint64_t hash) const {
  for (uint32_t f = file_buckets_[hash & (file_buckets_.size() - 1)]; f != kNil; f = files_[f].hash_next) {
    const FileRecord& r = files_[f];
    if (r.hash == hash && r.pool == pool && r.type == key.type() && r.key_size == key.size() &&
        std::memcmp(r.key_bytes(), key.bytes().data(), key.size()) == 0)
      return f;
  }
  return kNil;
}

uint32_t Shard::AddFile(PoolState& pool, const FileKey& key, uint64_t hash) {
  uint32_t f = files_.Allocate();
  FileRecord& r = files_[f];
  r.hash = hash;
  r.pool = pool.id;
  r.type = key.type();
  r.key_size = static_cast<uint32_t>(key.size());
  r.page_size = pool.page_size;
  if (key.size() > FileRecord::kInlineKey) {
    r.long_key = std::make_unique<uint8_t[]>(key.size());
    long_key_bytes_ += key.size();
  }
  std::memcpy(r.long_key ? r.long_key.get() : r.inline_key, key.bytes().data(), key.size());
  uint32_t& bucket = file_buckets_[hash & (file_buckets_.size() - 1)];
  r.hash_next = bucket;
  bucket = f;
  r.pool_next = pool.first_file;
  if (pool.first_file != kNil) files_[pool.first_file].pool_prev = f;
  pool.first_file = f;
  MaybeGrowFileBuckets();
  return f;
}

void Shard::RemoveFile(uint32_t f) {
  FileRecord& r = files_[f];
  uint32_t* link = &file_buckets_[r.hash & (file_buckets_.size() - 1)];
  while (*link != f) link = &files_[*link].hash_next;
  *link = r.hash_next;
  if (r.pool_prev != kNil) {
    files_[r.pool_prev].pool_next = r.pool_next;
  } else if (PoolState* p = FindPool(r.pool)) {
    p->first_file = r.pool_next;
  }
  if (r.pool_next != kNil) files_[r.pool_next].pool_prev = r.pool_prev;
  if (r.long_key) long_key_bytes_ -= r.key_size;
  files_.Free(f);
}

void Shard::MaybeGrowFileBuckets() {
  if (files_.in_use() <= file_buckets_.size()) return;
  std::vector<uint32_t> grown(file_buckets_.size() * 2, kNil);
  for (auto head : file_buckets_) {
    for (uint32_t f = head; f != kNil;) {
      uint32_t next = files_[f].hash_next;
      uint32_t& bucket = grown[files_[f].hash & (grown.size() - 1)];
      files_[f].hash_next = bucket;
      bucket = f;
      f = next;
    }
  }
  file_buckets_.swap(grown);
}

// ---- pages ----------------------------------------------------------------

// Consecutive pages of a file land in consecutive buckets (groups of 64 are
// hashed, not single pages), so sequential access walks the bucket array
// instead of missing the cache twice per page (measured: get +8-12%).
uint64_t Shard::PageHash(uint32_t file, uint64_t index) {
  return Mix64((index >> 6) * 0x9E3779B97F4A7C15ull + file) + (index & 63);
}

uint32_t Shard::FindPage(uint32_t file, uint64_t index) const {
  for (uint32_t e = page_buckets_[PageHash(file, index) & (page_buckets_.size() - 1)]; e != kNil;
       e = entries_[e].hash_next) {
    const Entry& en = entries_[e];
    if (en.index == index && (en.file & kFileMask) == file) return e;
  }
  return kNil;
}

void Shard::LinkPage(uint32_t e) {
  Entry& en = entries_[e];
  uint32_t f = en.file & kFileMask;
  uint32_t& bucket = page_buckets_[PageHash(f, en.index) & (page_buckets_.size() - 1)];
  en.hash_next = bucket;
  bucket = e;
  FileRecord& r = files_[f];
  en.file_prev = kNil;
  en.file_next = r.first_page;
  if (r.first_page != kNil) entries_[r.first_page].file_prev = e;
  r.first_page = e;
  ++r.pages;
}

void Shard::MaybeGrowPageBuckets() {
  if (entries_.in_use() <= page_buckets_.size()) return;
  std::vector<uint32_t> grown(page_buckets_.size() * 2, kNil);
  for (auto head : page_buckets_) {
    for (uint32_t e = head; e != kNil;) {
      Entry& en = entries_[e];
      uint32_t next = en.hash_next;
      uint32_t& bucket = grown[PageHash(en.file & kFileMask, en.index) & (grown.size() - 1)];
      en.hash_next = bucket;
      bucket = e;
      e = next;
    }
  }
  page_buckets_.swap(grown);
}

void Shard::RemoveEntry(uint32_t e) {
  Entry& en = entries_[e];
  uint32_t f = en.file & kFileMask;
  uint32_t* link = &page_buckets_[PageHash(f, en.index) & (page_buckets_.size() - 1)];
  while (*link != e) link = &entries_[*link].hash_next;
  *link = en.hash_next;

  FileRecord& r = files_[f];
  if (en.file_prev != kNil)
    entries_[en.file_prev].file_next = en.file_next;
  else
    r.first_page = en.file_next;
  if (en.file_next != kNil) entries_[en.file_next].file_prev = en.file_prev;

  if (en.file & kSameFilled) {
    --counters_.same_filled;
  } else {
    uint32_t sg = SegmentOf(en.payload);
    uint32_t owner, size;
    ReadObjectHeader(segments_[sg].base + OffsetOf(en.payload), &owner, &size);
    Segment& s = segments_[sg];
    s.live -= size + kObjectHeaderBytes;
    counters_.segment_live_bytes -= size + kObjectHeaderBytes;
    counters_.compressed_bytes -= size;
    if (s.sealed && s.live == 0) ReleaseSegment(sg);
  }
  --counters_.pages;
  counters_.original_bytes -= r.page_size;
  entries_.Free(e);
  if (--r.pages == 0) RemoveFile(f);
}

void Shard::DropFilePages(uint32_t f) {
  for (;; ++counters_.invalidate_steps) {
    uint32_t e = files_[f].first_page;
    if (e == kNil) {  // cannot normally happen: empty files are removed
      RemoveFile(f);
      return;
    }
    bool last = files_[f].pages == 1;
    RemoveEntry(e);
    if (last) return;
  }
}

// ---- data path ------------------------------------------------------------

void Shard::Put(BackendPoolId pool, const FileKey& key, uint64_t index, const PreparedPage& page) {
  std::lock_guard lock(mutex_);
  PoolState* p = FindPool(pool);
  if (p == nullptr || p->page_size != page.page_size) {
    ++counters_.dropped_puts;
    return;
  }
  const uint64_t hash = FileHash(pool, key);
  uint32_t f = FindFile(pool, key, hash);
  if (f != kNil) {
    // Drop the old copy first: even if the new put is then refused, the old
    // one can never be returned (put-put-get).
    uint32_t old = FindPage(f, index);
    if (old != kNil) RemoveEntry(old);
  }
  const uint32_t object_bytes = page.kind == PreparedPage::Kind::kSameFilled ? 0 : page.size + kObjectHeaderBytes;
  if (f != kNil && files_[f].pages == 0) f = kNil;  // the removal above dropped the file
  while (RealBytes() + GrowthFor(object_bytes, f == kNil) > config_.capacity_bytes) {
    if (!EvictOne(/*keep_idle_head=*/object_bytes > 0 && !FitsInHead(object_bytes))) {
      ++counters_.dropped_puts;
      return;
    }
    f = FindFile(pool, key, hash);  // eviction may have removed it
  }
  if (f == kNil) f = AddFile(*p, key, hash);
  uint32_t e = entries_.Allocate();
  Entry& en = entries_[e];
  en.index = index;
  en.file = f;
  if (page.kind == PreparedPage::Kind::kSameFilled) {
    en.file |= kSameFilled;
    en.payload = page.word;
    ++counters_.same_filled;
  } else {
    if (page.kind == PreparedPage::Kind::kRaw) en.file |= kRaw;           // (counted by the caller)
    if (AppendObject(e, page.data, page.size, &en.payload) == nullptr) {  // mmap failed
      entries_.Free(e);
      if (files_[f].pages == 0) RemoveFile(f);
      ++counters_.dropped_puts;
      return;
    }
    counters_.compressed_bytes += page.size;
  }
  LinkPage(e);
  ++counters_.pages;
  counters_.original_bytes += p->page_size;
  MaybeGrowPageBuckets();
}

// A compressed page is decompressed after the lock is released, straight
// from its segment: the get counts itself in outside_readers_, and whatever
// would move or reuse segment bytes (sliding, releasing a segment) waits for
// that count to drop first. Only when this get's own removal empties the
// segment (it would wait for itself) is the object copied out under the lock.
// Decompressing under the lock made two threads that meet in one shard wait
// for each other; copying every object out cost ~230 instructions per get
// (callgrind) and a pass over its bytes.
// The get takes effect (exclusive removal, or the referenced mark) under the
// lock, so it is ordered with puts and invalidations of the key as before.
bool Shard::Get(BackendPoolId pool, const FileKey& key, uint64_t index, uint8_t* out, uint32_t out_size) {
  alignas(64) uint8_t copy[PageCodec::kMaxCompressedBytes];
  const uint8_t* compressed = nullptr;
  uint32_t compressed_size = 0;
  bool pinned = false;
  {
    std::lock_guard lock(mutex_);
    PoolState* p = FindPool(pool);
    if (p == nullptr) return false;
    uint32_t f = FindFile(pool, key, FileHash(pool, key));
    if (f == kNil) return false;
    uint32_t e = FindPage(f, index);
    if (e == kNil) return false;
    Entry& en = entries_[e];
    const uint32_t page_size = files_[f].page_size;
    if (out_size != page_size) return false;
    bool ok = true;
    if (en.file & kSameFilled) {
      FillPage(out, page_size, en.payload);
    } else {
      uint32_t owner, size;
      const Segment& s = segments_[SegmentOf(en.payload)];
      const uint8_t* object = s.base + OffsetOf(en.payload);
      ReadObjectHeader(object, &owner, &size);
      const uint8_t* data = object + kObjectHeaderBytes;
      if (en.file & kRaw) {
        ok = size == page_size;
        if (ok) std::memcpy(out, data, size);
      } else if (!p->keep_on_get && s.sealed && s.live == size + kObjectHeaderBytes) {  // removal releases s
        ok = size <= sizeof copy;
        if (ok) std::memcpy(copy, data, size);
        compressed = copy;
      } else {
        compressed = data;
        pinned = true;
        outside_readers_.fetch_add(1, std::memory_order_relaxed);  // published by the unlock
      }
      compressed_size = size;
    }
    if (!ok || !p->keep_on_get) {
      RemoveEntry(e);  // exclusive get, or a damaged object that must never be served
    } else {
      en.file |= kReferenced;
    }
    if (!ok || compressed == nullptr) return ok;
  }
  const bool ok = config_.codec->Decompress(compressed, compressed_size, out, out_size);
  if (pinned) outside_readers_.fetch_sub(1, std::memory_order_release);
  if (ok) return true;
  InvalidatePage(pool, key, index);  // damaged: never to be served (a newer copy may go too: ephemeral)
  return false;
}

// Called, under the lock, before segment bytes are moved or a segment is
// reused or unmapped. Readers need no lock to finish, so this cannot
// deadlock; it waits at most one decompression.
void Shard::WaitForOutsideReaders() const {
  for (unsigned spins = 0; outside_readers_.load(std::memory_order_acquire) != 0; ++spins)
    if (spins > 64) std::this_thread::yield();
}

void Shard::InvalidatePage(BackendPoolId pool, const FileKey& key, uint64_t index) {
  std::lock_guard lock(mutex_);
  if (FindPool(pool) == nullptr) return;
  uint32_t f = FindFile(pool, key, FileHash(pool, key));
  if (f == kNil) return;
  uint32_t e = FindPage(f, index);
  if (e != kNil) RemoveEntry(e);
}

void Shard::InvalidateFile(BackendPoolId pool, const FileKey& key) {
  std::lock_guard lock(mutex_);
  ++counters_.invalidate_steps;
  if (FindPool(pool) == nullptr) return;
  uint32_t f = FindFile(pool, key, FileHash(pool, key));
  if (f != kNil) DropFilePages(f);
}

// ---- memory ---------------------------------------------------------------

uint64_t Shard::RealBytes() const {
  return resident_bytes_ + entries_.MemoryBytes() + files_.MemoryBytes() + long_key_bytes_ +
         (page_buckets_.capacity() + file_buckets_.capacity()) * sizeof(uint32_t) +
         segments_.capacity() * sizeof(Segment) + free_segment_slots_.capacity() * sizeof(uint32_t) +
         sealed_by_age_.size() * sizeof(std::pair<uint32_t, uint64_t>) + pools_.capacity() * sizeof(PoolState) +
         evict_scratch_.capacity() + idle_.capacity() * sizeof(uint32_t) + sizeof(*this);
}

// Real memory a put would add, before any eviction.
uint64_t Shard::GrowthFor(uint32_t object_bytes, bool new_file) const {
  uint64_t growth = 0;
  if (object_bytes > 0) {
    if (FitsInHead(object_bytes)) {
      const Segment& h = segments_[head_];
      growth += PopulatedSize(h.used + object_bytes) - std::min(h.resident, PopulatedSize(h.used + object_bytes));
    } else if (!idle_.empty()) {
      // An idle segment becomes the head: its memory is already counted.
      const uint32_t have = segments_[idle_.back()].resident;
      growth += PopulatedSize(object_bytes) - std::min(have, PopulatedSize(object_bytes)) +
                sizeof(std::pair<uint32_t, uint64_t>);
    } else {
      // A fresh segment is mapped only if all of it fits, although it is
      // faulted in (and counted) step by step: within a segment of capacity
      // the shard recycles its oldest segment instead, already faulted in
      // (measured at capacity: 131 fresh segments per 65,536 puts, munmap and
      // page faults ~12% of put time, before this rule; see zcache_bench).
      growth += config_.segment_bytes + sizeof(Segment) + sizeof(std::pair<uint32_t, uint64_t>);
    }
  }
  if (entries_.NeedsChunk()) growth += entries_.ChunkBytes() + sizeof(void*);
  if (entries_.in_use() + 1 > page_buckets_.size()) growth += page_buckets_.size() * sizeof(uint32_t);
  if (new_file) {
    if (files_.NeedsChunk()) growth += files_.ChunkBytes() + sizeof(void*);
    if (files_.in_use() + 1 > file_buckets_.size()) growth += file_buckets_.size() * sizeof(uint32_t);
  }
  return growth;
}

// The head is faulted in ahead of the writes, kPopulateStep at a time: one
// madvise instead of a page fault per OS page (measured: page faults were
// ~20% of put time). Only populated pages count as resident, so at most one
// step per shard is memory not yet holding data.
uint32_t Shard::PopulatedSize(uint32_t end) const {
  const uint32_t step = std::min(kPopulateStep, config_.segment_bytes);
  return std::min(config_.segment_bytes, (end + step - 1) / step * step);
}

void Shard::Populate(Segment& h, uint32_t end) {
  const uint32_t target = PopulatedSize(end);
#ifdef MADV_POPULATE_WRITE
  if (madvise(h.base + h.resident, target - h.resident, MADV_POPULATE_WRITE) != 0) {
    // Older kernels: the writes fault the pages in; account for them anyway.
  }
#endif
  resident_bytes_ += target - h.resident;
  h.resident = target;
}

bool Shard::FitsInHead(uint32_t object_bytes) const {
  return head_ != kNil && segments_[head_].used + object_bytes <= config_.segment_bytes;
}

uint32_t Shard::OpenSegment() {
  if (!idle_.empty()) {  // already mapped and populated: no page faults
    uint32_t sg = idle_.back();
    idle_.pop_back();
    idle_bytes_ -= segments_[sg].resident;
    segments_[sg].age = next_age_++;
    return sg;
  }
  uint8_t* base = MapSegment(config_.segment_bytes);
  if (base == nullptr) return kNil;
  ++counters_.segments_mapped;
  uint32_t sg;
  if (!free_segment_slots_.empty()) {
    sg = free_segment_slots_.back();
    free_segment_slots_.pop_back();
  } else {
    sg = static_cast<uint32_t>(segments_.size());
    segments_.emplace_back();
  }
  segments_[sg] = Segment{};
  segments_[sg].base = base;
  segments_[sg].age = next_age_++;
  return sg;
}

// Emptied segments stay mapped (and counted as resident) in an idle pool of
// at most a quarter of the shard's capacity, reused before mapping new ones:
// a cache that churns (exclusive gets, then puts) neither re-faults and
// re-zeroes pages (measured: ~15% of put time) nor pays an munmap with its
// TLB shootdown of the other cores every few hundred gets. Idle segments are
// the first memory given back when room is needed.
void Shard::ReleaseSegment(uint32_t sg) {
  WaitForOutsideReaders();
  Segment& s = segments_[sg];
  counters_.segment_used_bytes -= s.used;
  if (sg == head_) head_ = kNil;
  if (s.resident > 0 && (idle_bytes_ + s.resident) * 4 <= config_.capacity_bytes) {
    s.used = s.live = 0;
    s.sealed = false;
    s.age = 0;  // any record of it in sealed_by_age_ is now stale
    idle_.push_back(sg);
    idle_bytes_ += s.resident;
    return;
  }
  UnmapSegment(s.base, config_.segment_bytes);
  resident_bytes_ -= s.resident;
  s = Segment{};
  free_segment_slots_.push_back(sg);
}

// Gives the oldest idle segment back to the OS.
void Shard::DropIdle() {
  const uint32_t sg = idle_.front();
  idle_.erase(idle_.begin());
  Segment& s = segments_[sg];
  idle_bytes_ -= s.resident;
  UnmapSegment(s.base, config_.segment_bytes);
  resident_bytes_ -= s.resident;
  s = Segment{};
  free_segment_slots_.push_back(sg);
}

uint8_t* Shard::AppendObject(uint32_t e, const uint8_t* data, uint32_t size, uint64_t* payload) {
  const uint32_t object_bytes = size + kObjectHeaderBytes;
  if (!FitsInHead(object_bytes)) {
    if (head_ != kNil) {
      Segment& old = segments_[head_];
      if (old.live == 0) {
        ReleaseSegment(head_);
      } else {
        old.sealed = true;
        sealed_by_age_.emplace_back(head_, old.age);
      }
    }
    head_ = OpenSegment();
    if (head_ == kNil) return nullptr;
  }
  Segment& h = segments_[head_];
  if (h.used + object_bytes > h.resident) Populate(h, h.used + object_bytes);
  uint8_t* at = h.base + h.used;
  WriteObjectHeader(at, e, size);
  std::memcpy(at + kObjectHeaderBytes, data, size);
  *payload = Payload(head_, h.used);
  h.used += object_bytes;
  h.live += object_bytes;

  counters_.segment_used_bytes += object_bytes;
  counters_.segment_live_bytes += object_bytes;
  return at;
}

bool Shard::Fragmented() const {
  const uint64_t holes = counters_.segment_used_bytes - counters_.segment_live_bytes;
  return holes * 100 > counters_.segment_used_bytes * config_.max_fragmentation_percent;
}

// Makes room: gives back an idle segment, else compacts when holes pass the
// threshold (no page is lost), else evicts the oldest segment, the head, or
// same-filled pages. With keep_idle_head the last idle segment is spared: the
// put that asks is about to make it its head. False when there is nothing
// left to take.
bool Shard::EvictOne(bool keep_idle_head) {
  if (idle_.size() > (keep_idle_head ? 1u : 0u)) {
    DropIdle();
    return true;
  }
  if (Fragmented() && CompactOnce()) return true;
  while (!sealed_by_age_.empty()) {
    auto [sg, age] = sealed_by_age_.front();
    sealed_by_age_.pop_front();
    if (segments_[sg].base != nullptr && segments_[sg].age == age && segments_[sg].sealed) {
      EvictSegment(sg);
      return true;
    }
  }
  if (head_ != kNil) {
    EvictSegment(head_);
    return true;
  }
  if (counters_.same_filled > 0) {
    EvictSameFilled();
    return true;
  }
  if (!idle_.empty()) {
    DropIdle();
    return true;
  }
  return false;
}

void Shard::EvictSegment(uint32_t sg) {
  if (sg == head_) head_ = kNil;
  SlideLiveObjects(sg, Sweep::kKeepReferenced);
}

// Walks the objects of `sg`. Live objects that the sweep keeps slide down over
// the holes (memmove within the segment, so no extra memory); the others are
// evicted. The segment is then released if empty, or re-aged and its tail
// pages given back to the OS.
//
// Each evicted object costs several cache misses (its entry, its hash chain,
// its file record and list neighbours, ~80 ns each here), so the walk
// prefetches the entry a few objects ahead and, once that has arrived, its
// hash bucket and file record. (Objects only move down, below the cursors.)
void Shard::SlideLiveObjects(uint32_t sg, Sweep sweep) {
  WaitForOutsideReaders();
  segments_[sg].sealed = false;  // keeps RemoveEntry from releasing it mid-walk
  uint8_t* const base = segments_[sg].base;
  const uint32_t used = segments_[sg].used;
  const uint32_t high_water = entries_.high_water();
  auto advance = [&](uint32_t* cursor) {
    uint32_t e, size;
    ReadObjectHeader(base + *cursor, &e, &size);
    *cursor += size + kObjectHeaderBytes;
    return e < high_water ? e : kNil;
  };
  auto prefetch_entry = [&](uint32_t* cursor) {
    if (*cursor >= used) return;
    if (uint32_t e = advance(cursor); e != kNil) __builtin_prefetch(&entries_[e]);
  };
  auto prefetch_chain = [&](uint32_t* cursor) {
    if (*cursor >= used) return;
    const uint32_t e = advance(cursor);
    if (e == kNil || entries_[e].file == kNil) return;
    const uint32_t f = entries_[e].file & kFileMask;
    __builtin_prefetch(&page_buckets_[PageHash(f, entries_[e].index) & (page_buckets_.size() - 1)]);
    if (f < files_.high_water()) __builtin_prefetch(&files_[f]);
  };
  constexpr int kEntryAhead = 8, kChainAhead = 4;
  uint32_t entry_cursor = 0, chain_cursor = 0;
  for (int i = 0; i < kEntryAhead; ++i) prefetch_entry(&entry_cursor);
  for (int i = 0; i < kChainAhead; ++i) prefetch_chain(&chain_cursor);
  uint32_t write = 0;
  for (uint32_t off = 0; off < used;) {
    prefetch_entry(&entry_cursor);
    prefetch_chain(&chain_cursor);
    uint32_t e, size;
    ReadObjectHeader(base + off, &e, &size);
    const uint32_t object_bytes = size + kObjectHeaderBytes;
    if (e < entries_.high_water()) {
      Entry& en = entries_[e];
      if (en.file != kNil && !(en.file & kSameFilled) && en.payload == Payload(sg, off)) {
        if (sweep == Sweep::kKeepAll || (en.file & kReferenced)) {
          if (sweep == Sweep::kKeepReferenced) en.file &= ~kReferenced;
          if (write != off) std::memmove(base + write, base + off, object_bytes);
          en.payload = Payload(sg, write);
          write += object_bytes;
        } else {
          NotifyEvicted(e);
          ++counters_.evictions;
          RemoveEntry(e);
        }
      }
    }
    off += object_bytes;
  }
  Segment& s = segments_[sg];
  counters_.segment_used_bytes -= s.used - write;
  s.used = write;
  if (write == 0) {
    ReleaseSegment(sg);
    return;
  }
  const uint32_t keep = RoundUpToOsPage(write);
  if (keep < s.resident) {
    madvise(base + keep, s.resident - keep, MADV_DONTNEED);
    resident_bytes_ -= s.resident - keep;
    s.resident = keep;
  }
  s.sealed = true;
  if (sweep == Sweep::kKeepReferenced) {  // survivors of eviction start a new round
    s.age = next_age_++;
    sealed_by_age_.emplace_back(sg, s.age);
  }  // a compacted segment keeps its age and its place in the queue
}

void Shard::EvictSameFilled() {
  const uint32_t n = entries_.high_water();
  for (uint32_t step = 0; step < n; ++step) {
    uint32_t e = same_filled_hand_++ % n;
    const Entry& en = entries_[e];
    if (en.file != kNil && (en.file & kSameFilled)) {
      NotifyEvicted(e);
      ++counters_.evictions;
      RemoveEntry(e);
      return;
    }
  }
}

// Compacts the sealed segment with the most reclaimable memory in place.
// True if memory was given back.
bool Shard::CompactOnce() {
  uint32_t victim = kNil;
  uint32_t best = 0;
  for (uint32_t sg = 0; sg < segments_.size(); ++sg) {
    const Segment& s = segments_[sg];
    if (s.base == nullptr || !s.sealed) continue;
    const uint32_t reclaimable = s.resident - RoundUpToOsPage(s.live);
    if (reclaimable > best) best = reclaimable, victim = sg;
  }
  if (victim == kNil) return false;
  const uint64_t before = RealBytes();
  SlideLiveObjects(victim, Sweep::kKeepAll);
  ++counters_.compactions;
  return RealBytes() < before;
}

void Shard::NotifyEvicted(uint32_t e) {
  if (listener_ == nullptr) return;
  const Entry& en = entries_[e];
  const FileRecord& r = files_[en.file & kFileMask];
  auto key = FileKey::FromBytes(r.type, {r.key_bytes(), r.key_size});
  if (!key.ok()) return;
  evict_scratch_.resize(r.page_size);
  bool ok;
  if (en.file & kSameFilled) {
    FillPage(evict_scratch_.data(), r.page_size, en.payload);
    ok = true;
  } else {
    uint32_t owner, size;
    const uint8_t* object = segments_[SegmentOf(en.payload)].base + OffsetOf(en.payload);
    ReadObjectHeader(object, &owner, &size);
    if (en.file & kRaw) {
      ok = size == r.page_size;
      if (ok) std::memcpy(evict_scratch_.data(), object + kObjectHeaderBytes, size);
    } else {
      ok = config_.codec->Decompress(object + kObjectHeaderBytes, size, evict_scratch_.data(), r.page_size);
    }
  }
  if (ok) listener_->OnEvict(r.pool, *key, en.index, evict_scratch_);
}

ShardCounters Shard::Counters() {
  std::lock_guard lock(mutex_);
  ShardCounters c = counters_;
  c.real_bytes = RealBytes();
  return c;
}

uint64_t Shard::Shrink(uint64_t target) {
  std::lock_guard lock(mutex_);
  while (RealBytes() > target && EvictOne(false)) {}
  return RealBytes();
}

void Shard::SetCapacity(uint64_t capacity) {
  std::lock_guard lock(mutex_);
  config_.capacity_bytes = capacity;
  while (RealBytes() > capacity && EvictOne(false)) {}
}

void Shard::SetEvictionListener(EvictionListener* listener) {
  std::lock_guard lock(mutex_);
  listener_ = listener;
}

}  // namespace cleancache::zcache
