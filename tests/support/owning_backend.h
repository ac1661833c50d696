// OwningBackend: a Backend that forwards every call to `inner` unchanged and
// keeps `resource` (a server or daemon the test started) alive exactly as
// long as itself; the inner backend is destroyed first, so a client never
// outlives what it talks to. Lets factories that must hand out a fresh
// backend per test (the contract suite) bring their own server. Test-only.
#pragma once

#include <memory>
#include <utility>

#include "cleancache/backend.h"

namespace cleancache::testing {

class OwningBackend final : public Backend {
 public:
  template <typename Resource>
  OwningBackend(std::unique_ptr<Resource> resource, std::unique_ptr<Backend> inner)
      : resource_(std::move(resource)), inner_(std::move(inner)) {}
  ~OwningBackend() override { inner_.reset(); }

  std::string Name() const override { return inner_->Name(); }
  Result<BackendPoolId> OpenPool(const PoolConfig& config) override { return inner_->OpenPool(config); }
  void ClosePool(BackendPoolId pool) override { inner_->ClosePool(pool); }
  bool GetPage(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<uint8_t> page) override {
    return inner_->GetPage(pool, key, index, page);
  }
  void PutPage(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<const uint8_t> page) override {
    inner_->PutPage(pool, key, index, page);
  }
  void InvalidatePage(BackendPoolId pool, const FileKey& key, uint64_t index) override {
    inner_->InvalidatePage(pool, key, index);
  }
  void InvalidateInode(BackendPoolId pool, const FileKey& key) override { inner_->InvalidateInode(pool, key); }
  size_t GetPages(BackendPoolId pool, const FileKey& key, uint64_t first, size_t count, std::span<uint8_t> pages,
                  std::span<uint8_t> hit) override {
    return inner_->GetPages(pool, key, first, count, pages, hit);
  }
  void PutPages(BackendPoolId pool, const FileKey& key, uint64_t first, size_t count,
                std::span<const uint8_t> pages) override {
    inner_->PutPages(pool, key, first, count, pages);
  }
  BackendStats Stats() const override { return inner_->Stats(); }

 private:
  std::shared_ptr<void> resource_;  // type-erased; keeps the resource's own deleter
  std::unique_ptr<Backend> inner_;
};

}  // namespace cleancache::testing
