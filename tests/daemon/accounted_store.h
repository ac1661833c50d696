// AccountedStore: a TEST DOUBLE backend for the daemon's tests. Keeps pages
// in a map, counts real memory as pages x page size, evicts oldest-first to
// stay within its capacity and on Shrink(). One lock; tests only.
#pragma once

#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "cleancache/backend.h"

namespace cleancache::testing {

class AccountedStore : public Backend {
 public:
  explicit AccountedStore(uint64_t capacity) : capacity_(capacity) {}

  std::string Name() const override { return "accounted-test-double"; }
  Result<BackendPoolId> OpenPool(const PoolConfig& config) override {
    std::lock_guard lock(mutex_);
    pools_[next_pool_] = config;
    return next_pool_++;
  }
  void ClosePool(BackendPoolId pool) override {
    std::lock_guard lock(mutex_);
    pools_.erase(pool);
    for (auto it = pages_.begin(); it != pages_.end();) {
      if (std::get<0>(it->first) == pool) {
        age_.erase(it->second.age);
        it = pages_.erase(it);
      } else {
        ++it;
      }
    }
  }
  bool GetPage(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<uint8_t> page) override {
    std::lock_guard lock(mutex_);
    auto p = pools_.find(pool);
    auto it = pages_.find({pool, key.ToString(), index});
    if (p == pools_.end() || it == pages_.end() || it->second.data.size() != page.size()) return false;
    std::memcpy(page.data(), it->second.data.data(), page.size());
    if (!p->second.shared) Erase(it);
    return true;
  }
  void PutPage(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<const uint8_t> page) override {
    std::lock_guard lock(mutex_);
    auto p = pools_.find(pool);
    if (p == pools_.end() || page.size() != p->second.page_size) return;
    Key k{pool, key.ToString(), index};
    if (auto old = pages_.find(k); old != pages_.end()) Erase(old);
    while (bytes_ + page.size() > capacity_ && !age_.empty()) EvictOldest();
    if (bytes_ + page.size() > capacity_) return;
    age_.push_back(k);
    pages_[k] = Entry{{page.begin(), page.end()}, std::prev(age_.end())};
    bytes_ += page.size();
  }
  void InvalidatePage(BackendPoolId pool, const FileKey& key, uint64_t index) override {
    std::lock_guard lock(mutex_);
    if (auto it = pages_.find({pool, key.ToString(), index}); it != pages_.end()) Erase(it);
  }
  void InvalidateInode(BackendPoolId pool, const FileKey& key) override {
    std::lock_guard lock(mutex_);
    const std::string k = key.ToString();
    for (auto it = pages_.begin(); it != pages_.end();) {
      if (std::get<0>(it->first) == pool && std::get<1>(it->first) == k) {
        auto next = std::next(it);
        Erase(it);
        it = next;
      } else {
        ++it;
      }
    }
  }
  BackendStats Stats() const override {
    std::lock_guard lock(mutex_);
    BackendStats s;
    s.pages_stored = pages_.size();
    s.real_memory_bytes = bytes_;
    s.original_bytes = bytes_;
    s.capacity_bytes = capacity_;
    s.evictions = evictions_;
    return s;
  }
  uint64_t Shrink(uint64_t target) override {
    std::lock_guard lock(mutex_);
    while (bytes_ > target && !age_.empty()) EvictOldest();
    return bytes_;
  }
  void SetCapacity(uint64_t capacity) override {
    std::lock_guard lock(mutex_);
    capacity_ = capacity;
    while (bytes_ > capacity_ && !age_.empty()) EvictOldest();
  }

 private:
  using Key = std::tuple<BackendPoolId, std::string, uint64_t>;
  struct Entry {
    std::vector<uint8_t> data;
    std::list<Key>::iterator age;
  };
  void Erase(std::map<Key, Entry>::iterator it) {
    bytes_ -= it->second.data.size();
    age_.erase(it->second.age);
    pages_.erase(it);
  }
  void EvictOldest() {
    ++evictions_;
    Erase(pages_.find(age_.front()));
  }

  mutable std::mutex mutex_;
  uint64_t capacity_;
  uint64_t bytes_ = 0;
  uint64_t evictions_ = 0;
  BackendPoolId next_pool_ = 1;
  std::map<BackendPoolId, PoolConfig> pools_;
  std::map<Key, Entry> pages_;
  std::list<Key> age_;
};

}  // namespace cleancache::testing
