#include "daemon/governor.h"

#include <algorithm>

#include "cleancache/backend_spec.h"

namespace cleancache::daemon {

namespace {

std::string CapText(uint64_t cap) { return cap == 0 ? "none" : FormatSize(cap); }

}  // namespace

StoreFactory StoreFactoryForSpec(std::string spec) {
  return [spec = std::move(spec)](uint64_t capacity) -> Result<std::unique_ptr<Backend>> {
    auto parsed = ParseBackendSpec(spec);
    if (!parsed.ok()) return parsed.status();
    auto store = CreateBackend(StoreSpec(std::move(*parsed), capacity));
    if (!store.ok()) return store.status();
    (*store)->SetCapacity(capacity);
    return std::move(*store);
  };
}

Governor::Governor(uint64_t capacity, StoreFactory factory, uint64_t sample_every_pages)
    : capacity_(capacity),
      factory_(std::move(factory)),
      sample_every_pages_(std::max<uint64_t>(1, sample_every_pages)) {}

uint64_t Governor::StoreLimit(uint64_t cap) const { return cap != 0 ? std::min(cap, capacity_) : capacity_; }

Result<std::shared_ptr<Tenant>> Governor::Acquire(const std::string& name, const TenantPolicy& policy, uint32_t uid) {
  std::lock_guard lock(mutex_);
  auto& slot = tenants_[name];
  if (auto live = slot.lock()) return live;
  const uint64_t limit = StoreLimit(policy.cap);
  auto store = factory_(limit);
  if (!store.ok()) {
    tenants_.erase(name);
    return store.status();
  }
  // Ghosts for up to 4x the tenant's memory (in 4 KiB pages), at most 128 Ki
  // entries (about 5 MiB of bookkeeping at the most, outside the capacity).
  constexpr uint64_t kMaxGhostPages = 131072;
  const size_t ghost_pages = static_cast<size_t>(std::clamp<uint64_t>(4 * limit / 4096, 1, kMaxGhostPages));
  auto tenant = std::make_shared<Tenant>(name, policy, std::move(*store), ghost_pages, limit, uid);
  slot = tenant;
  return tenant;
}

std::vector<std::string> Governor::SetPolicies(const std::function<TenantPolicy(const Tenant&)>& policy_for) {
  std::lock_guard lock(mutex_);
  std::vector<std::string> changes;
  for (auto& t : LiveTenants()) {
    const TenantPolicy before = t->policy();
    const TenantPolicy after = policy_for(*t);
    if (before.weight == after.weight && before.cap == after.cap) continue;
    t->weight_ = after.weight;
    t->cap_ = after.cap;
    // Growing a store is always safe; shrinking one below the layout it was
    // built for is not (see StoreSpec), so a lowered cap is the
    // governor's to enforce (EnforceCap).
    if (const uint64_t limit = StoreLimit(after.cap); limit > t->store_limit_) {
      t->store().SetCapacity(limit);
      t->store_limit_ = limit;
    }
    t->real_memory = t->store().Stats().real_memory_bytes;
    EnforceCap(*t);
    changes.push_back(t->name() + ": weight " + std::to_string(before.weight) + " -> " + std::to_string(after.weight) +
                      ", cap " + CapText(before.cap) + " -> " + CapText(after.cap));
  }
  return changes;
}

void Governor::EnforceCap(Tenant& tenant) {
  const uint64_t cap = tenant.cap_;
  const uint64_t before = tenant.real_memory;
  if (cap == 0 || before <= cap) return;
  const uint64_t after = tenant.store().Shrink(cap);
  tenant.real_memory = after;
  if (after < before) tenant.counters.governor_evicted_bytes += before - after;
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
  for (auto& t : tenants) EnforceCap(*t);
  uint64_t total = 0;
  for (auto& t : tenants) total += t->real_memory;
  std::vector<Tenant*> candidates;
  for (auto& t : tenants) candidates.push_back(t.get());
  // Each round shrinks one tenant; one that cannot shrink leaves the list.
  for (size_t round = 0; total > capacity_ && !candidates.empty() && round < 4 * tenants.size() + 4; ++round) {
    uint64_t weights = 0;
    for (auto& t : tenants) {
      if (t->real_memory > 0) weights += t->weight();
    }
    auto furthest = std::max_element(candidates.begin(), candidates.end(), [](Tenant* a, Tenant* b) {
      // a.real / a.weight < b.real / b.weight, without division.
      return static_cast<unsigned __int128>(a->real_memory) * b->weight() <
             static_cast<unsigned __int128>(b->real_memory) * a->weight();
    });
    Tenant* victim = *furthest;
    // Other tenants' figures may be a few pages stale; the victim's must not.
    const uint64_t fresh = victim->store().Stats().real_memory_bytes;
    total = total - victim->real_memory + fresh;
    victim->real_memory = fresh;
    if (total <= capacity_) break;
    const uint64_t before = fresh;
    const uint64_t share =
        weights == 0 ? 0
                     : static_cast<uint64_t>(static_cast<unsigned __int128>(capacity_) * victim->weight() / weights);
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
    const TenantPolicy policy = t->policy();
    v.weight = policy.weight;
    v.cap = policy.cap;
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
    v.share_bytes =
        w == 0 ? capacity_ : static_cast<uint64_t>(static_cast<unsigned __int128>(capacity_) * v.weight / w);
    if (v.cap != 0) v.share_bytes = std::min(v.share_bytes, v.cap);  // the share it can actually have
  }
  return views;
}

}  // namespace cleancache::daemon
