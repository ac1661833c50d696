#include "daemon/shared_pool_registry.h"

namespace cleancache::daemon {

bool SharedPoolRegistry::Allowed(const DaemonConfig& config, const PeerIdentity& peer, const std::string& uuid,
                                 const SharedPool* existing) const {
  auto section = config.shared_pools.find(uuid);
  if (section != config.shared_pools.end() && !section->second.allow.empty()) {
    for (const std::string& entry : section->second.allow) {
      if (entry == "any") return true;
      if (entry == "uid:" + std::to_string(peer.uid)) return true;
      if (entry == "gid:" + std::to_string(peer.gid)) return true;
    }
    return false;
  }
  return existing == nullptr || existing->creator_uid == peer.uid;
}

Result<std::shared_ptr<SharedPool>> SharedPoolRegistry::Join(
    const PeerIdentity& peer, const Uuid& uuid, uint32_t page_size, bool keep_on_get,
    const std::function<Result<std::shared_ptr<Tenant>>()>& creator_tenant) {
  const std::string key = uuid.ToString();
  const auto config = config_.Get();
  std::lock_guard lock(mutex_);
  auto it = pools_.find(key);
  SharedPool* existing = it == pools_.end() ? nullptr : it->second.get();
  if (!Allowed(*config, peer, key, existing)) {
    return Status::PermissionDenied("not authorised to join shared pool " + key + " (" + peer.ToString() + ")");
  }
  if (existing != nullptr) {
    const PoolConfig pool{
        .page_size = existing->page_size, .shared = true, .uuid = uuid, .keep_on_get = existing->keep_on_get};
    const PoolConfig joining{.page_size = page_size, .shared = true, .uuid = uuid, .keep_on_get = keep_on_get};
    if (Status s = CheckSharedJoin(pool, joining); !s.ok()) return s;
    ++existing->members;
    return it->second;
  }
  auto section = config->shared_pools.find(key);
  const bool own_tenant = section != config->shared_pools.end() && section->second.own_tenant;
  auto tenant = own_tenant ? governor_.Acquire("shared:" + key, section->second.policy, peer.uid) : creator_tenant();
  if (!tenant.ok()) return tenant.status();
  PoolConfig pool_config;
  pool_config.page_size = page_size;
  pool_config.shared = true;
  pool_config.uuid = uuid;
  pool_config.keep_on_get = keep_on_get;
  auto id = (*tenant)->store().OpenPool(pool_config);
  if (!id.ok()) return id.status();
  auto pool = std::make_shared<SharedPool>();
  pool->uuid = key;
  pool->tenant = std::move(*tenant);
  pool->pool = *id;
  pool->page_size = page_size;
  pool->keep_on_get = keep_on_get;
  pool->creator_uid = peer.uid;
  pool->members = 1;
  pools_[key] = pool;
  return pool;
}

void SharedPoolRegistry::Leave(const std::shared_ptr<SharedPool>& pool) {
  std::lock_guard lock(mutex_);
  if (--pool->members > 0) return;
  pool->tenant->store().ClosePool(pool->pool);
  pools_.erase(pool->uuid);
}

void SharedPoolRegistry::Flush(SharedPool& pool) {
  std::lock_guard lock(mutex_);
  PoolConfig pool_config;
  pool_config.page_size = pool.page_size;
  pool_config.shared = true;
  pool_config.keep_on_get = pool.keep_on_get;
  if (auto uuid = Uuid::Parse(pool.uuid); uuid.ok()) pool_config.uuid = *uuid;
  pool.tenant->store().ClosePool(pool.pool);
  auto fresh = pool.tenant->store().OpenPool(pool_config);
  // If the store refuses a new pool, the old handle stays closed: gets miss.
  if (fresh.ok()) pool.pool = *fresh;
}

}  // namespace cleancache::daemon
