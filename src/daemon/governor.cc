#include "daemon/governor.h"

#include <algorithm>

#include "cleancache/backend_spec.h"

namespace cleancache::daemon {

StoreFactory StoreFactoryForSpec(std::string spec) {
  return [spec = std::move(spec)](uint64_t capacity) -> Result<std::unique_ptr<Backend>> {
    auto store = CreateBackend(spec);
    if (!store.ok()) return store.status();
    (*store)->SetCapacity(capacity);
    return std::move(*store);
  };
}

Governor::Governor(uint64_t capacity, StoreFactory factory, uint64_t sample_every_pages)
    : capacity_(capacity), factory_(std::move(factory)), sample_every_pages_(std::max<uint64_t>(1, sample_every_pages)) {}

Result<std::shared_ptr<Tenant>> Governor::Acquire(const std::string& name, const TenantPolicy& policy) {
  std::lock_guard lock(mutex_);
  auto& slot = tenants_[name];
  if (auto live = slot.lock()) return live;
  const uint64_t limit = policy.cap != 0 ? std::min(policy.cap, capacity_) : capacity_;
  auto store = factory_(limit);
  if (!store.ok()) {
    tenants_.erase(name);
    return store.status();
  }
  // Ghosts for up to 4x the tenant's memory (in 4 KiB pages), at most 128 Ki
  // entries (about 5 MiB of bookkeeping at the most, outside the capacity).
  constexpr uint64_t kMaxGhostPages = 131072;
  const size_t ghost_pages = static_cast<size_t>(std::clamp<uint64_t>(4 * limit / 4096, 1, kMaxGhostPages));
  auto tenant = std::make_shared<Tenant>(name, policy, std::move(*store), ghost_pages);
  slot = tenant;
  return tenant;
}

std::vector<std::shared_ptr<Tenant>> Governor::LiveTenants() {
  std::vector<std::shared_ptr<Tenant>> live;
  for (auto it = tenants_.begin(); it != tenants_.end();) {
    if (auto t = it->second.lock()) {
      live.push_back(std::move(t));
      ++it;
    } else {
      it = tenants_.erase(it);
    }
  }
  return live;
}

void Governor::AfterPut(Tenant& tenant, uint64_t pages) {
  tenant.counters.puts += pages;
  if (tenant.pages_since_sample.fetch_add(pages) + pages < sample_every_pages_) return;
  tenant.pages_since_sample = 0;
  std::lock_guard lock(mutex_);
  tenant.real_memory = tenant.store().Stats().real_memory_bytes;
  auto live = LiveTenants();
  EnforceCapacity(live);
}

void Governor::Rebalance() {
  std::lock_guard lock(mutex_);
  auto live = LiveTenants();
  for (auto& t : live) t->real_memory = t->store().Stats().real_memory_bytes;
  EnforceCapacity(live);
}

void Governor::EnforceCapacity(std::vector<std::shared_ptr<Tenant>>& tenants) {
  uint64_t total = 0;
  for (auto& t : tenants) total += t->real_memory;
  std::vector<Tenant*> candidates;
  for (auto& t : tenants) candidates.push_back(t.get());
  // Each round shrinks one tenant; one that cannot shrink leaves the list.
  for (size_t round = 0; total > capacity_ && !candidates.empty() && round < 4 * tenants.size() + 4; ++round) {
    uint64_t weights = 0;
    for (auto& t : tenants) {
      if (t->real_memory > 0) weights += t->policy().weight;
    }
    auto furthest = std::max_element(candidates.begin(), candidates.end(), [](Tenant* a, Tenant* b) {
      // a.real / a.weight < b.real / b.weight, without division.
      return static_cast<unsigned __int128>(a->real_memory) * b->policy().weight <
             static_cast<unsigned __int128>(b->real_memory) * a->policy().weight;
    });
    Tenant* victim = *furthest;
    // Other tenants' figures may be a few pages stale; the victim's must not.
    const uint64_t fresh = victim->store().Stats().real_memory_bytes;
    total = total - victim->real_memory + fresh;
    victim->real_memory = fresh;
    if (total <= capacity_) break;
    const uint64_t before = fresh;
    const uint64_t share =
        weights == 0 ? 0 : static_cast<uint64_t>(static_cast<unsigned __int128>(capacity_) * victim->policy().weight / weights);
    const uint64_t excess = total - capacity_;
    uint64_t target = std::max(share, before > excess ? before - excess : 0);
    if (target >= before) target = before > excess ? before - excess : 0;
    const uint64_t after = victim->store().Shrink(target);
    if (after >= before) {
      candidates.erase(furthest);
      continue;
    }
    victim->real_memory = after;
    victim->counters.governor_evicted_bytes += before - after;
    total -= before - after;
  }
}

std::vector<TenantView> Governor::Snapshot() {
  std::vector<std::shared_ptr<Tenant>> live;
  {
    std::lock_guard lock(mutex_);
    live = LiveTenants();
  }
  std::vector<TenantView> views;
  uint64_t weights = 0;
  for (auto& t : live) {
    TenantView v;
    v.name = t->name();
    v.weight = t->policy().weight;
    v.cap = t->policy().cap;
    v.connections = t->connections;
    v.hits = t->counters.hits;
    v.misses = t->counters.misses;
    v.puts = t->counters.puts;
    v.invalidations = t->counters.invalidations;
    v.governor_evicted_bytes = t->counters.governor_evicted_bytes;
    v.store = t->store().Stats();
    const auto estimate = t->estimator.EstimateFor(0.9);
    v.ghost_hits = estimate.ghost_hits;
    if (estimate.accesses > 0 && estimate.extra_pages) {
      const uint64_t per_page = v.store.pages_stored == 0 ? 4096 : v.store.real_memory_bytes / v.store.pages_stored;
      v.memory_for_90pct_bytes = v.store.real_memory_bytes + *estimate.extra_pages * per_page;
    }
    if (v.store.real_memory_bytes > 0) weights += v.weight;
    views.push_back(std::move(v));
  }
  for (auto& v : views) {
    const uint64_t w = v.store.real_memory_bytes > 0 ? weights : weights + v.weight;
    v.share_bytes = w == 0 ? capacity_ : static_cast<uint64_t>(static_cast<unsigned __int128>(capacity_) * v.weight / w);
  }
  return views;
}

}  // namespace cleancache::daemon
