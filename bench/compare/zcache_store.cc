// Our backend as users get it: CreateBackend(spec) registered with a
// Cleancache instance, one pool: shared (gets keep the page) or private
// (exclusive gets, as in Linux).
#include "cleancache/backend_spec.h"
#include "cleancache/cleancache.hpp"
#include "compare/stores.h"

namespace cleancache::compare {
namespace {

class ZCacheStore final : public PageStore {
 public:
  ZCacheStore(const PageIds& ids, std::unique_ptr<Cleancache> cache, PoolId pool)
      : ids_(ids), cache_(std::move(cache)), pool_(pool) {}
  ~ZCacheStore() override { cache_->InvalidateFs(pool_); }

  void Put(uint64_t page, std::span<const uint8_t> data) override {
    cache_->PutPage(pool_, ids_.file_key(page), ids_.index(page), data);
  }
  bool Get(uint64_t page, std::span<uint8_t> out) override {
    return cache_->GetPage(pool_, ids_.file_key(page), ids_.index(page), out);
  }

 private:
  const PageIds& ids_;
  std::unique_ptr<Cleancache> cache_;
  PoolId pool_;
};

Result<std::unique_ptr<PageStore>> CreateZCacheStore(const std::string& spec, ZCachePool kind,
                                                     const StoreSetup& setup) {
  // Room for every page uncompressed plus the index when unbounded.
  const uint64_t capacity =
      setup.capacity_bytes != 0 ? setup.capacity_bytes : 2 * setup.corpus->bytes().size() + (64u << 20);
  const std::string full_spec =
      spec + (spec.find(':') == std::string::npos ? ":" : ",") + "capacity=" + std::to_string(capacity);
  Result<std::unique_ptr<Backend>> backend = CreateBackend(full_spec);
  if (!backend.ok()) return backend.status();
  auto cache = std::make_unique<Cleancache>();
  if (Status s = cache->RegisterBackend(std::move(backend).value()); !s.ok()) return s;
  const uint32_t page_size = setup.corpus->page_size();
  PoolId pool = kNoPool;
  if (kind == ZCachePool::kShared) {
    Result<Uuid> uuid = Uuid::Parse("c0c0a000-0000-4000-8000-00000000c0de");
    if (!uuid.ok()) return uuid.status();
    pool = cache->InitSharedFs(uuid.value(), page_size);
  } else {
    pool = cache->InitFs(page_size);
  }
  if (pool < 0) return Status::Unavailable(full_spec + ": pool refused");
  return std::unique_ptr<PageStore>(std::make_unique<ZCacheStore>(*setup.ids, std::move(cache), pool));
}

}  // namespace

Contestant ZCacheContestant(std::string name, std::string spec, ZCachePool pool) {
  return Contestant{std::move(name), MemoryBasis::kProcessMemory, pool == ZCachePool::kShared,
                    [spec, pool](const StoreSetup& setup) { return CreateZCacheStore(spec, pool, setup); }};
}

}  // namespace cleancache::compare
