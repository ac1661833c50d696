#include "pagecache/page_cache_shard.h"

#include <cstring>

namespace cleancache {

uint8_t* FramePool::Take() {
  if (free_.empty()) {
    chunks_.push_back(std::make_unique_for_overwrite<uint8_t[]>(size_t{frame_bytes_} * kFramesPerChunk));
    uint8_t* chunk = chunks_.back().get();
    for (size_t i = kFramesPerChunk; i-- > 0;) free_.push_back(chunk + i * frame_bytes_);
  }
  uint8_t* frame = free_.back();
  free_.pop_back();
  return frame;
}

PageCacheShard::Slot* PageCacheShard::FindSlot(const FileKey& key, uint64_t index) {
  auto file = files_.find(key);
  if (file == files_.end()) return nullptr;
  auto slot = file->second.find(index);
  return slot == file->second.end() ? nullptr : &slot->second;
}

void PageCacheShard::EraseSlot(FileMap::iterator file, FileSlots::iterator slot) {
  if (slot->second.state == State::kResident) {
    frames_.Give(slot->second.page->data);
    lru_.erase(slot->second.page);
  }
  file->second.erase(slot);
  if (file->second.empty()) files_.erase(file);
}

bool PageCacheShard::CopyIfResident(const FileKey& key, uint64_t index, std::span<uint8_t> out) {
  Slot* slot = FindSlot(key, index);
  if (slot == nullptr || slot->state != State::kResident) return false;
  std::memcpy(out.data(), slot->page->data, page_size_);
  lru_.splice(lru_.begin(), lru_, slot->page);
  return true;
}

uint64_t PageCacheShard::BeginLoad(const FileKey& key, uint64_t index, bool* skip_cleancache) {
  auto [slot, inserted] = files_[key].try_emplace(index);
  *skip_cleancache = !inserted && slot->second.state == State::kPuttingRevoked;
  if (!inserted) return 0;  // resident (raced with another load), in flight or being put
  slot->second.ticket = next_ticket_++;
  return slot->second.ticket;
}

void PageCacheShard::AbortLoad(const FileKey& key, uint64_t index, uint64_t ticket) {
  if (ticket == 0) return;
  auto file = files_.find(key);
  if (file == files_.end()) return;
  auto slot = file->second.find(index);
  if (slot != file->second.end() && slot->second.state == State::kLoading && slot->second.ticket == ticket)
    EraseSlot(file, slot);
}

bool PageCacheShard::QueueForPut(const FileKey& key, uint64_t index, uint64_t ticket) {
  Slot* slot = ticket == 0 ? nullptr : FindSlot(key, index);
  if (slot == nullptr || slot->state != State::kLoading || slot->ticket != ticket) return false;
  slot->state = State::kQueued;
  return true;
}

bool PageCacheShard::BeginPut(const FileKey& key, uint64_t index, uint64_t ticket) {
  Slot* slot = FindSlot(key, index);
  if (slot == nullptr || slot->state != State::kQueued || slot->ticket != ticket) return false;
  slot->state = State::kPutting;
  return true;
}

// Under this lock, so no read can start consulting cleancache between the
// revoked copy landing there and it being dropped (the slot is erased only
// after the drop).
void PageCacheShard::EndPut(const FileKey& key, uint64_t index, uint64_t ticket) {
  auto file = files_.find(key);
  if (file == files_.end()) return;
  auto slot = file->second.find(index);
  if (slot == file->second.end() || slot->second.ticket != ticket) return;
  if (slot->second.state == State::kPuttingRevoked) target_.cache->InvalidatePage(target_.pool, key, index);
  EraseSlot(file, slot);
}

// Iterators are collected first: revoking erases slots (and, with the last
// one, the file's map), but a slot being put stays, and so does its map.
template <typename Doomed>
void PageCacheShard::RevokeWhere(FileMap::iterator file, Doomed doomed) {
  std::vector<FileSlots::iterator> victims;
  for (auto it = file->second.begin(); it != file->second.end(); ++it) {
    if (doomed(it->first)) victims.push_back(it);
  }
  for (auto it : victims) Revoke(file, it);
}

bool PageCacheShard::Revoke(FileMap::iterator file, FileSlots::iterator slot) {
  if (slot->second.state == State::kPutting || slot->second.state == State::kPuttingRevoked) {
    slot->second.state = State::kPuttingRevoked;
    return false;
  }
  EraseSlot(file, slot);
  return true;
}

uint64_t PageCacheShard::FinishLoad(const FileKey& key, uint64_t index, uint64_t ticket, std::span<const uint8_t> data,
                                    bool came_from_cleancache) {
  if (ticket == 0) return 0;
  auto file = files_.find(key);
  if (file == files_.end()) return 0;
  auto found = file->second.find(index);
  if (found == file->second.end()) return 0;
  Slot* slot = &found->second;
  if (slot->state != State::kLoading || slot->ticket != ticket) return 0;  // revoked
  if (capacity_pages_ == 0) {
    // Nothing stays resident: the page is evicted on arrival, put straight
    // from the caller's buffer (no copy) under this lock like any eviction.
    if (!(came_from_cleancache && target_.keep_on_get)) {
      target_.cache->PutPage(target_.pool, key, index, data.first(page_size_));
    }
    EraseSlot(file, found);
    return 1;
  }
  uint8_t* frame = frames_.Take();
  std::memcpy(frame, data.data(), page_size_);
  lru_.push_front(Page{key, index, frame, came_from_cleancache && target_.keep_on_get});
  slot->page = lru_.begin();
  slot->state = State::kResident;
  slot->ticket = 0;
  uint64_t evicted = 0;
  while (lru_.size() > capacity_pages_) {
    EvictOldest();
    ++evicted;
  }
  return evicted;
}

// The put happens under the shard lock on purpose: an invalidation of this
// page takes the same lock, so it cannot slip between "page chosen for
// eviction" and "page stored in cleancache" and leave a stale copy there.
void PageCacheShard::EvictOldest() {
  Page& victim = lru_.back();
  if (!victim.in_cleancache) {
    target_.cache->PutPage(target_.pool, victim.key, victim.index, {victim.data, page_size_});
  }
  auto file = files_.find(victim.key);
  auto slot = file->second.find(victim.index);
  EraseSlot(file, slot);
}

void PageCacheShard::Update(const FileKey& key, uint64_t index, uint32_t offset_in_page,
                            std::span<const uint8_t> bytes) {
  auto file = files_.find(key);
  if (file == files_.end()) return;
  auto slot = file->second.find(index);
  if (slot == file->second.end()) return;
  if (slot->second.state != State::kResident) {
    Revoke(file, slot);  // the read in flight or the queued put must not install old data
    return;
  }
  Page& page = *slot->second.page;
  std::memcpy(page.data + offset_in_page, bytes.data(), bytes.size());
  page.in_cleancache = false;  // the caller drops cleancache's copy
}

void PageCacheShard::Invalidate(const FileKey& key, uint64_t first, uint64_t count) {
  auto file = files_.find(key);
  if (file == files_.end()) return;
  FileSlots& slots = file->second;
  if (count <= slots.size()) {
    for (uint64_t i = 0; i < count; ++i) {
      auto slot = slots.find(first + i);
      if (slot == slots.end()) continue;
      bool last = slots.size() == 1;
      if (Revoke(file, slot) && last) return;  // the file's map is gone
    }
    return;
  }
  RevokeWhere(file, [&](uint64_t index) { return index >= first && index - first < count; });
}

void PageCacheShard::InvalidateFile(const FileKey& key) {
  auto file = files_.find(key);
  if (file == files_.end()) return;
  RevokeWhere(file, [](uint64_t) { return true; });
}

uint64_t PageCacheShard::EvictAll() {
  uint64_t evicted = 0;
  while (!lru_.empty()) {
    EvictOldest();
    ++evicted;
  }
  return evicted;
}

}  // namespace cleancache
