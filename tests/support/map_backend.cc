#include "support/map_backend.h"

#include <algorithm>
#include <bit>

namespace cleancache::testing {

MapBackend::Store* MapBackend::Find(BackendPoolId handle) {
  auto it = handles_.find(handle);
  return it == handles_.end() ? nullptr : &stores_.at(it->second);
}

Result<BackendPoolId> MapBackend::OpenPool(const PoolConfig& config) {
  std::lock_guard lock(mutex_);
  if (refuse_pools_) return Status::PermissionDenied("map-test-double: refusing pools (test hook)");
  if (!IsValidPageSize(config.page_size)) {
    return Status::InvalidArgument("map-test-double: bad page size " + std::to_string(config.page_size));
  }
  uint64_t store_id = 0;
  if (config.shared) {
    for (auto& [id, store] : stores_) {
      if (store.config.shared && store.config.uuid == config.uuid) {
        if (Status s = CheckSharedJoin(store.config, config); !s.ok()) {
          return Status::InvalidArgument("map-test-double: " + s.message());
        }
        store_id = id;
      }
    }
  }
  if (store_id == 0) {
    store_id = next_store_++;
    stores_[store_id].config = config;
  }
  ++stores_[store_id].members;
  const BackendPoolId handle = next_handle_++;
  handles_[handle] = store_id;
  return handle;
}

void MapBackend::ClosePool(BackendPoolId pool) {
  std::lock_guard lock(mutex_);
  auto it = handles_.find(pool);
  if (it == handles_.end()) return;
  const uint64_t store_id = it->second;
  handles_.erase(it);
  if (--stores_.at(store_id).members == 0) stores_.erase(store_id);
}

bool MapBackend::GetPage(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<uint8_t> page) {
  std::lock_guard lock(mutex_);
  Store* store = Find(pool);
  if (store == nullptr || page.size() != store->config.page_size) return false;
  auto file = store->files.find(key);
  if (file == store->files.end()) return false;
  auto found = file->second.find(index);
  if (found == file->second.end()) return false;
  std::copy(found->second.begin(), found->second.end(), page.begin());
  if (!KeepsOnGet(store->config) && flaw_ != Flaw::kNonExclusiveGets) {
    file->second.erase(found);
    if (file->second.empty()) store->files.erase(file);
  }
  return true;
}

void MapBackend::PutPage(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<const uint8_t> page) {
  std::lock_guard lock(mutex_);
  Store* store = Find(pool);
  if (store == nullptr || page.size() != store->config.page_size) {
    ++dropped_puts_;
    return;
  }
  Pages& pages = store->files[key];
  if (flaw_ == Flaw::kKeepsFirstPut && pages.count(index) != 0) return;
  pages[index].assign(page.begin(), page.end());
}

void MapBackend::InvalidatePage(BackendPoolId pool, const FileKey& key, uint64_t index) {
  std::lock_guard lock(mutex_);
  Store* store = Find(pool);
  if (store == nullptr || flaw_ == Flaw::kIgnoresInvalidation) return;
  auto file = store->files.find(key);
  if (file == store->files.end()) return;
  file->second.erase(index);
  if (file->second.empty()) store->files.erase(file);
}

void MapBackend::InvalidateInode(BackendPoolId pool, const FileKey& key) {
  std::lock_guard lock(mutex_);
  Store* store = Find(pool);
  if (store == nullptr || flaw_ == Flaw::kIgnoresInvalidation) return;
  store->files.erase(key);
}

BackendStats MapBackend::Stats() const {
  std::lock_guard lock(mutex_);
  BackendStats stats;
  for (const auto& [id, store] : stores_) {
    for (const auto& [key, pages] : store.files) {
      stats.pages_stored += pages.size();
      stats.original_bytes += pages.size() * store.config.page_size;
    }
  }
  stats.compressed_bytes = stats.original_bytes;
  stats.real_memory_bytes = stats.original_bytes;
  stats.dropped_puts = dropped_puts_;
  return stats;
}

}  // namespace cleancache::testing
