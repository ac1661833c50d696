// MapBackend: a TEST DOUBLE backend (mutex + hash maps) that keeps the whole
// Backend contract and never drops a page on its own. Tests only: it has no
// capacity limit and one global lock.
//
// It can also be built with a deliberate Flaw, so tests can prove that the
// contract suite and the stale-read checker catch a broken backend.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "cleancache/backend.h"

namespace cleancache::testing {

enum class Flaw {
  kNone,
  kIgnoresInvalidation,  // InvalidatePage / InvalidateInode do nothing
  kKeepsFirstPut,        // a put on a stored page is ignored (put-put-get broken)
  kNonExclusiveGets,     // private-pool gets leave the page in place
};

class MapBackend : public Backend {
 public:
  explicit MapBackend(Flaw flaw = Flaw::kNone) : flaw_(flaw) {}

  std::string Name() const override { return "map-test-double"; }
  Result<BackendPoolId> OpenPool(const PoolConfig& config) override;
  void ClosePool(BackendPoolId pool) override;
  bool GetPage(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<uint8_t> page) override;
  void PutPage(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<const uint8_t> page) override;
  void InvalidatePage(BackendPoolId pool, const FileKey& key, uint64_t index) override;
  void InvalidateInode(BackendPoolId pool, const FileKey& key) override;
  BackendStats Stats() const override;

  // Test hooks: refuse OpenPool calls (e.g. to test a backend refusing a pool).
  void set_refuse_pools(bool refuse) {
    std::lock_guard lock(mutex_);
    refuse_pools_ = refuse;
  }
  size_t open_handles() const {
    std::lock_guard lock(mutex_);
    return handles_.size();
  }

 private:
  using Pages = std::map<uint64_t, std::vector<uint8_t>>;
  struct Store {
    PoolConfig config;
    int members = 0;
    std::unordered_map<FileKey, Pages, FileKeyHash> files;
  };
  // Store of an open handle, or nullptr; caller holds mutex_.
  Store* Find(BackendPoolId handle);

  const Flaw flaw_;
  mutable std::mutex mutex_;
  bool refuse_pools_ = false;
  BackendPoolId next_handle_ = 1;
  uint64_t next_store_ = 1;
  std::map<BackendPoolId, uint64_t> handles_;  // handle -> store id
  std::map<uint64_t, Store> stores_;
  uint64_t dropped_puts_ = 0;
};

}  // namespace cleancache::testing
