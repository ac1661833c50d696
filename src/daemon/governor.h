// Governor: the daemon's tenants and the one rule that shares memory among
// them (Xen tmem's): the total real memory of all tenants stays within the
// daemon's capacity, and when it would not, pages are taken first from the
// tenant furthest above its weighted share (largest real_memory / weight),
// never pushing it below that share while another tenant is above its own.
//
// Each tenant owns its own store (one backend instance from the daemon's
// backend spec), so a tenant's pages are evicted in that store's own age
// order and one tenant's flood of puts can only ever evict its own pages
// beyond its share. A tenant's optional cap is the capacity of its store
// (built for that capacity: a zcache sized for 1G and then told 8M would
// have segments too large for its shards and store nothing). A cap lowered
// on a live tenant (SetPolicy, on a config reload) is enforced by the
// governor shrinking the tenant on each sample instead, so between samples
// it may pass the new cap by up to `sample_every_pages` pages.
// Shares are computed over the tenants that hold memory right now, so memory
// nobody else wants is free for whoever asks (work conserving); the share a
// tenant is shown (TenantView::share_bytes) is the one enforced: its
// weighted share, but at most its cap.
//
// Policy `curve` (config `policy = curve`; curve_policy.h): each tenant's
// store is an ObservedBackend, so it has a miss-ratio curve; every
// Rebalance (once a second in the server) turns the curves into targets
// (NextCurveTargets: the most hits, within caps, above `min_share` of the
// weighted share, with hysteresis and bounded steps), and the target stands
// where the weighted share stood: the tenant furthest above its target
// (largest real_memory / target) is shrunk first, never below its target
// while another is above its own. Between plans the targets hold.
//
// Thread safety: all methods may be called concurrently. Tenant counters are
// atomics; rebalancing is serialised by one mutex that the data path takes
// only every `sample_every_pages` stored pages.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cleancache/backend.h"
#include "cleancache/observed_backend.h"
#include "cleancache/status.h"
#include "daemon/curve_policy.h"
#include "daemon/daemon_config.h"

namespace cleancache::daemon {

// Makes one tenant's store, limited to `capacity` bytes of real memory.
using StoreFactory = std::function<Result<std::unique_ptr<Backend>>(uint64_t capacity)>;

// The factory for a backend spec: the spec with its zcache part's capacity
// set to the store's (any capacity key in `spec` is overridden), then
// CreateBackend and SetCapacity (for stores without a capacity key).
StoreFactory StoreFactoryForSpec(std::string spec);

struct TenantCounters {
  std::atomic<uint64_t> hits{0};
  std::atomic<uint64_t> misses{0};
  std::atomic<uint64_t> puts{0};
  std::atomic<uint64_t> invalidations{0};
  std::atomic<uint64_t> governor_evicted_bytes{0};  // real memory the governor took back
};

class Tenant {
 public:
  // Wraps `store` in an ObservedBackend (the tenant's miss-ratio curve,
  // sized to 1% of `store_limit`).
  // `store_limit`: the capacity `store` was built with; `uid`: of the peer
  // whose connection created the tenant (the config's uid fallback).
  Tenant(std::string name, TenantPolicy policy, std::unique_ptr<Backend> store, uint64_t store_limit = 0,
         uint32_t uid = 0)
      : name_(std::move(name)), uid_(uid), store_(Observe(std::move(store), store_limit)) {
    weight_ = policy.weight;
    cap_ = policy.cap;
    store_limit_ = store_limit;
  }
  Tenant(const Tenant&) = delete;
  Tenant& operator=(const Tenant&) = delete;
  const std::string& name() const { return name_; }
  uint32_t uid() const { return uid_; }
  TenantPolicy policy() const { return TenantPolicy{weight_.load(), cap_.load()}; }
  uint32_t weight() const { return weight_; }
  // The store as the data path uses it (gets and puts feed the curve).
  Backend& store() { return *store_; }
  ObservedBackend& observed() { return *store_; }
  // The curve policy's target (0: none yet, the weighted share applies).
  uint64_t target_bytes() const { return target_bytes_; }

 private:
  friend class Governor;  // changes the policy (SetPolicy)
  const std::string name_;
  const uint32_t uid_;
  std::atomic<uint32_t> weight_{1};
  std::atomic<uint64_t> cap_{0};
  std::atomic<uint64_t> store_limit_{0};  // the store's capacity now
  std::atomic<uint64_t> target_bytes_{0};
  uint64_t reads_at_plan_ = 0;  // the governor's, under its mutex
  double read_rate_ = -1;       // reads per plan period, smoothed; < 0: none yet
  static std::unique_ptr<ObservedBackend> Observe(std::unique_ptr<Backend> store, uint64_t limit) {
    ObservedBackendOptions o;
    o.capacity_bytes = limit;
    return std::make_unique<ObservedBackend>(std::move(store), std::move(o));
  }

 public:
  TenantCounters counters;
  std::atomic<uint32_t> connections{0};
  std::atomic<uint64_t> real_memory{0};  // last sample of store().Stats()
  std::atomic<uint64_t> pages_since_sample{0};

 private:
  std::unique_ptr<ObservedBackend> store_;
};

struct TenantView {
  std::string name;
  uint32_t weight = 0;
  uint64_t cap = 0;
  // Enforced share: capacity x weight / sum of weights of tenants holding
  // memory, but at most the cap; under the curve policy, the tenant's target.
  uint64_t share_bytes = 0;
  uint32_t connections = 0;
  uint64_t hits = 0, misses = 0, puts = 0, invalidations = 0, governor_evicted_bytes = 0;
  BackendStats store;
  // What the tenant's curve says (capacity_bytes = share_bytes).
  Sizing sizing;
};

class Governor {
 public:
  Governor(uint64_t capacity, StoreFactory factory, uint64_t sample_every_pages = 64,
           GovernorPolicy policy = GovernorPolicy::kWeight, CurvePolicyOptions curve = {});

  uint64_t capacity() const { return capacity_; }
  GovernorPolicy policy() const { return policy_; }
  // The live tenant called `name`, or a new one with `policy` (and a new
  // store). Tenants live while someone holds the pointer; their store and
  // pages go with the last holder. `uid`: see Tenant.
  Result<std::shared_ptr<Tenant>> Acquire(const std::string& name, const TenantPolicy& policy, uint32_t uid = 0);
  // Gives every live tenant the policy `policy_for` returns for it: a new
  // weight applies at once, a raised cap grows its store, a lowered cap is
  // enforced by shrinking (see above). Returns one line per tenant whose
  // policy changed, e.g. "uid:0: cap 0 -> 8 MiB".
  std::vector<std::string> SetPolicies(const std::function<TenantPolicy(const Tenant&)>& policy_for);
  // Called after `pages` were stored for `tenant`.
  void AfterPut(Tenant& tenant, uint64_t pages);
  // Resamples every tenant's real memory, under the curve policy plans new
  // targets (one period), and enforces the capacity.
  void Rebalance();
  std::vector<TenantView> Snapshot();

 private:
  std::vector<std::shared_ptr<Tenant>> LiveTenants();                          // requires mutex_
  void EnforceCapacity(std::vector<std::shared_ptr<Tenant>>& tenants);         // requires mutex_
  void EnforceCap(Tenant& tenant);                                             // requires mutex_
  void PlanCurveTargets(const std::vector<std::shared_ptr<Tenant>>& tenants);  // requires mutex_
  uint64_t StoreLimit(uint64_t cap) const;  // capacity of the store of a tenant with `cap`

  const uint64_t capacity_;
  const StoreFactory factory_;
  const uint64_t sample_every_pages_;
  const GovernorPolicy policy_;
  const CurvePolicyOptions curve_options_;
  std::mutex mutex_;
  CurvePolicyState curve_state_;            // requires mutex_
  std::vector<std::string> curve_tenants_;  // the names curve_state_ is for, in order
  std::map<std::string, std::weak_ptr<Tenant>> tenants_;
};

}  // namespace cleancache::daemon
