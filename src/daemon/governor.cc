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

Governor::Governor(uint64_t capacity, StoreFactory factory, uint64_t sample_every_pages, GovernorPolicy policy,
                   CurvePolicyOptions curve)
    : capacity_(capacity),
      factory_(std::move(factory)),
      sample_every_pages_(std::max<uint64_t>(1, sample_every_pages)),
      policy_(policy),
      curve_options_(curve) {}

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
  auto tenant = std::make_shared<Tenant>(name, policy, std::move(*store), limit, uid);
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
  if (policy_ == GovernorPolicy::kCurve) PlanCurveTargets(live);
  EnforceCapacity(live);
}

void Governor::PlanCurveTargets(const std::vector<std::shared_ptr<Tenant>>& tenants) {
  std::vector<std::string> names;
  std::vector<CurveTenantInput> inputs;
  for (const auto& t : tenants) {
    names.push_back(t->name());
    ObservedBackend& observed = t->observed();
    const uint64_t reads = observed.reads();
    const double period = static_cast<double>(reads - std::min(reads, t->reads_at_plan_));
    t->reads_at_plan_ = reads;
    // Smoothed over about two periods: a burst does not swing the plan, a
    // tenant gone quiet loses its claim within a few seconds.
    t->read_rate_ = t->read_rate_ < 0 ? period : 0.5 * t->read_rate_ + 0.5 * period;
    const PageCost cost = observed.Cost(t->store().Stats());
    CurveTenantInput in;
    const TenantPolicy policy = t->policy();
    in.weight = policy.weight;
    in.cap = policy.cap;
    in.reads = t->read_rate_;
    in.hit_ratio = [curve = observed.Curve(), cost](uint64_t bytes) {
      return curve.HitRatioAtPages(PagesFor(bytes, cost));
    };
    inputs.push_back(std::move(in));
  }
  if (names != curve_tenants_) {  // tenants came or went: start from the weight split
    curve_state_ = {};
    curve_tenants_ = names;
  }
  curve_state_ = NextCurveTargets(capacity_, inputs, curve_options_, std::move(curve_state_));
  for (size_t i = 0; i < tenants.size(); ++i)
    tenants[i]->target_bytes_ = std::max<uint64_t>(1, curve_state_.targets[i]);
}

void Governor::EnforceCapacity(std::vector<std::shared_ptr<Tenant>>& tenants) {
  for (auto& t : tenants) EnforceCap(*t);
  uint64_t total = 0;
  for (auto& t : tenants) total += t->real_memory;
  std::vector<Tenant*> candidates;
  candidates.reserve(tenants.size());
  for (auto& t : tenants) candidates.push_back(t.get());
  // Each round shrinks one tenant; one that cannot shrink leaves the list.
  for (size_t round = 0; total > capacity_ && !candidates.empty() && round < 4 * tenants.size() + 4; ++round) {
    uint64_t weights = 0;
    for (auto& t : tenants) {
      if (t->real_memory > 0) weights += t->weight();
    }
    // What a tenant's memory is measured against: its weight (the weighted
    // share is proportional to it), or its curve target once every tenant
    // has one (a tenant new since the last plan has none: the weight rule
    // holds until the next Rebalance).
    const bool curve =
        policy_ == GovernorPolicy::kCurve &&
        std::all_of(tenants.begin(), tenants.end(), [](const auto& t) { return t->target_bytes() != 0; });
    auto measure = [curve](const Tenant* t) -> uint64_t { return curve ? t->target_bytes() : t->weight(); };
    auto furthest = std::max_element(candidates.begin(), candidates.end(), [&measure](Tenant* a, Tenant* b) {
      // a.real / a.measure < b.real / b.measure, without division.
      return static_cast<unsigned __int128>(a->real_memory) * measure(b) <
             static_cast<unsigned __int128>(b->real_memory) * measure(a);
    });
    Tenant* victim = *furthest;
    // Other tenants' figures may be a few pages stale; the victim's must not.
    const uint64_t fresh = victim->store().Stats().real_memory_bytes;
    total = total - victim->real_memory + fresh;
    victim->real_memory = fresh;
    if (total <= capacity_) break;
    const uint64_t before = fresh;
    const uint64_t share =
        curve          ? victim->target_bytes()
        : weights == 0 ? 0
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
    if (v.store.real_memory_bytes > 0) weights += v.weight;
    views.push_back(std::move(v));
  }
  for (size_t i = 0; i < views.size(); ++i) {
    TenantView& v = views[i];
    const uint64_t w = v.store.real_memory_bytes > 0 ? weights : weights + v.weight;
    v.share_bytes =
        w == 0 ? capacity_ : static_cast<uint64_t>(static_cast<unsigned __int128>(capacity_) * v.weight / w);
    if (policy_ == GovernorPolicy::kCurve && live[i]->target_bytes() != 0) v.share_bytes = live[i]->target_bytes();
    if (v.cap != 0) v.share_bytes = std::min(v.share_bytes, v.cap);  // the share it can actually have
    ObservedBackend& observed = live[i]->observed();
    v.sizing = SizingFromCurve(observed.Curve(), v.share_bytes, observed.Cost(v.store));
    v.sizing.curve_memory_bytes = observed.curve().MemoryBytes();
  }
  return views;
}

}  // namespace cleancache::daemon
