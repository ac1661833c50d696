// TierBackend: see include/cleancache/tier_backend.h. Coherency rests on
// three rules: (1) every operation on a page runs under that page's stripe
// lock, across both tiers; (2) a demotion is written only if the page's
// stripe sequence and the bulk sequence (InvalidateInode, ClosePool) did not
// move since the eviction, checked and written under the stripe lock and the
// demotion gate; (3) a promotion is undone if a bulk invalidation ran while
// it was in flight.
#include "cleancache/tier_backend.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cleancache/lock_order.h"
#include "tier/demotion_queue.h"
#include "tier/page_stripes.h"

namespace cleancache {
namespace {

using tier::Demotion;
using tier::DemotionQueue;
using tier::PageStripes;

struct TierPool {
  BackendPoolId local = 0;
  BackendPoolId remote = 0;
  bool keep_on_get = false;  // a remote hit is promoted (else it left the remote tier)
  uint32_t page_size = 0;
  int local_handles = 1;  // tier handles that map to this local pool id
};

struct TierCounters {
  std::atomic<uint64_t> local_hits{0}, remote_hits{0}, misses{0}, promotions{0}, promotions_undone{0}, demotions{0},
      demotions_raced{0}, demotions_queue_full{0}, remote_invalidations_skipped{0};
};

class TierBackend final : public Backend, private EvictionListener {
 public:
  TierBackend(std::unique_ptr<Backend> local, std::unique_ptr<Backend> remote, const TierOptions& options)
      : local_(std::move(local)), remote_(std::move(remote)), queue_(options.queue_pages) {
    worker_ = std::thread([this] { DemoteLoop(); });
    local_->SetEvictionListener(this);
  }

  ~TierBackend() override {
    local_->SetEvictionListener(nullptr);
    queue_.Stop();
    worker_.join();
  }

  std::string Name() const override { return "tier(" + local_->Name() + " + " + remote_->Name() + ")"; }

  Result<BackendPoolId> OpenPool(const PoolConfig& config) override {
    auto local = local_->OpenPool(config);
    if (!local.ok()) return local.status();
    auto remote = remote_->OpenPool(config);
    if (!remote.ok()) {
      local_->ClosePool(*local);
      return Status(remote.status());
    }
    std::shared_ptr<TierPool> pool;
    bool rejoined = false;
    {
      std::unique_lock lock(pools_mutex_);
      // A local backend that hands out one id per shared pool: reuse its state.
      if (auto it = by_local_.find(*local); it != by_local_.end()) {
        pool = it->second;
        ++pool->local_handles;
        rejoined = true;
      } else {
        pool = std::make_shared<TierPool>(TierPool{*local, *remote, KeepsOnGet(config), config.page_size, 1});
        by_local_.emplace(*local, pool);
      }
      BackendPoolId id = next_pool_id_++;
      pools_.emplace(id, pool);
      lock.unlock();
      if (rejoined) remote_->ClosePool(*remote);  // the shared pool's first remote handle serves all
      return id;
    }
  }

  void ClosePool(BackendPoolId id) override {
    std::shared_ptr<TierPool> pool;
    bool last = false;
    {
      std::unique_lock lock(pools_mutex_);
      auto it = pools_.find(id);
      if (it == pools_.end()) return;
      pool = std::move(it->second);
      pools_.erase(it);
      if (--pool->local_handles == 0) {
        by_local_.erase(pool->local);
        last = true;
      }
    }
    // Queued demotions for this pool must not land after it is gone.
    std::lock_guard gate(demotion_gate_);
    bulk_sequence_.fetch_add(1);
    local_->ClosePool(pool->local);
    if (last) remote_->ClosePool(pool->remote);
    bulk_sequence_.fetch_add(1);
  }

  bool GetPage(BackendPoolId id, const FileKey& key, uint64_t index, std::span<uint8_t> page) override {
    uint8_t hit = 0;
    return GetPages(id, key, index, 1, page, {&hit, 1}) == 1;
  }

  size_t GetPages(BackendPoolId id, const FileKey& key, uint64_t first, size_t count, std::span<uint8_t> pages,
                  std::span<uint8_t> hit) override {
    std::fill(hit.begin(), hit.end(), 0);
    std::shared_ptr<TierPool> pool = Find(id);
    if (!pool || count == 0 || hit.size() < count || pages.size() != count * pool->page_size) return 0;
    const size_t page_size = pool->page_size;
    std::vector<size_t> stripes = StripesOf(key, first, count);
    for (size_t stripe : stripes) stripes_.Begin(stripe);
    const uint64_t bulk_before = bulk_sequence_.load();

    size_t hits = local_->GetPages(pool->local, key, first, count, pages, hit);
    counters_.local_hits += hits;
    // The remote tier is asked for the span that missed locally.
    size_t low = 0, high = count;
    while (low < count && hit[low]) ++low;
    while (high > low && hit[high - 1]) --high;
    if (low < high) {
      const size_t span = high - low;
      std::vector<uint8_t> remote_pages(span * page_size), remote_hit(span);
      remote_->GetPages(pool->remote, key, first + low, span, remote_pages, remote_hit);
      for (size_t i = 0; i < span; ++i) {
        if (!remote_hit[i] || hit[low + i]) continue;
        std::copy_n(remote_pages.begin() + static_cast<std::ptrdiff_t>(i * page_size), page_size,
                    pages.begin() + static_cast<std::ptrdiff_t>((low + i) * page_size));
        hit[low + i] = 1;
        ++hits;
        ++counters_.remote_hits;
        if (pool->keep_on_get)
          Promote(*pool, key, first + low + i, pages.subspan((low + i) * page_size, page_size), bulk_before);
      }
    }
    counters_.misses += count - hits;
    for (auto it = stripes.rbegin(); it != stripes.rend(); ++it) stripes_.End(*it);
    return hits;
  }

  void PutPage(BackendPoolId id, const FileKey& key, uint64_t index, std::span<const uint8_t> page) override {
    std::shared_ptr<TierPool> pool = Find(id);
    if (!pool) return;
    const uint64_t hash = PageStripes::PageHash(key, index);
    const size_t stripe = PageStripes::StripeOf(hash);
    stripes_.Begin(stripe);
    local_->PutPage(pool->local, key, index, page);
    // An older remote copy must never be promoted over this one.
    if (stripes_.MaybeRemote(hash)) {
      remote_->InvalidatePage(pool->remote, key, index);
    } else {
      ++counters_.remote_invalidations_skipped;
    }
    stripes_.End(stripe);
  }

  void InvalidatePage(BackendPoolId id, const FileKey& key, uint64_t index) override {
    std::shared_ptr<TierPool> pool = Find(id);
    if (!pool) return;
    const uint64_t hash = PageStripes::PageHash(key, index);
    const size_t stripe = PageStripes::StripeOf(hash);
    stripes_.Begin(stripe);
    local_->InvalidatePage(pool->local, key, index);
    if (stripes_.MaybeRemote(hash)) remote_->InvalidatePage(pool->remote, key, index);
    stripes_.End(stripe);
  }

  void InvalidateInode(BackendPoolId id, const FileKey& key) override {
    std::shared_ptr<TierPool> pool = Find(id);
    if (!pool) return;
    std::lock_guard gate(demotion_gate_);
    bulk_sequence_.fetch_add(1);
    local_->InvalidateInode(pool->local, key);
    remote_->InvalidateInode(pool->remote, key);
    bulk_sequence_.fetch_add(1);
  }

  BackendStats Stats() const override {
    BackendStats stats = local_->Stats();
    BackendStats remote = remote_->Stats();
    stats.dropped_puts += remote.dropped_puts;
    std::map<std::string, uint64_t> extra;
    for (auto& [name, value] : stats.extra) extra["local." + name] = value;
    for (auto& [name, value] : remote.extra) extra["remote." + name] = value;
    const std::pair<const char*, const std::atomic<uint64_t>*> figures[] = {
        {"local_hits", &counters_.local_hits},
        {"remote_hits", &counters_.remote_hits},
        {"misses", &counters_.misses},
        {"promotions", &counters_.promotions},
        {"promotions_undone", &counters_.promotions_undone},
        {"demotions", &counters_.demotions},
        {"demotions_raced", &counters_.demotions_raced},
        {"demotions_queue_full", &counters_.demotions_queue_full},
        {"remote_invalidations_skipped", &counters_.remote_invalidations_skipped},
    };
    for (auto [name, value] : figures) extra[name] = value->load();
    extra["demotions_queued"] = queue_.size();
    stats.extra = std::move(extra);
    return stats;
  }

  uint64_t Shrink(uint64_t target_real_bytes) override { return local_->Shrink(target_real_bytes); }
  void SetCapacity(uint64_t capacity_bytes) override { local_->SetCapacity(capacity_bytes); }

 private:
  std::shared_ptr<TierPool> Find(BackendPoolId id) const {
    std::shared_lock lock(pools_mutex_);
    auto it = pools_.find(id);
    return it == pools_.end() ? nullptr : it->second;
  }

  static std::vector<size_t> StripesOf(const FileKey& key, uint64_t first, size_t count) {
    std::vector<size_t> stripes;
    stripes.reserve(count);
    for (size_t i = 0; i < count; ++i) stripes.push_back(PageStripes::StripeOf(PageStripes::PageHash(key, first + i)));
    std::sort(stripes.begin(), stripes.end());
    stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
    return stripes;
  }

  // Caller holds the page's stripe. The copy in the remote tier stays: the
  // local one is the same data and will be dropped, not demoted, when the
  // stripe has moved.
  void Promote(const TierPool& pool, const FileKey& key, uint64_t index, std::span<const uint8_t> page,
               uint64_t bulk_before) {
    local_->PutPage(pool.local, key, index, page);
    ++counters_.promotions;
    // An InvalidateInode/ClosePool that ran meanwhile may have missed it.
    if (bulk_sequence_.load() != bulk_before || (bulk_before & 1)) {
      local_->InvalidatePage(pool.local, key, index);
      ++counters_.promotions_undone;
    }
  }

  // EvictionListener: runs under the local tier's locks; copy and queue only.
  void OnEvict(BackendPoolId local_pool, const FileKey& key, uint64_t index, std::span<const uint8_t> page) override {
    const LockLevelScope level(LockLevel::kEvictionListener);  // no call back into a backend from here
    const uint64_t hash = PageStripes::PageHash(key, index);
    const uint64_t stripe_sequence = stripes_.Sequence(PageStripes::StripeOf(hash));
    const uint64_t bulk_sequence = bulk_sequence_.load();
    // Odd: an operation on this stripe (or a bulk invalidation) is running
    // and may be the one that evicted the page; dropping it is always safe.
    if ((stripe_sequence & 1) || (bulk_sequence & 1)) {
      ++counters_.demotions_raced;
      return;
    }
    BackendPoolId remote_pool;
    {
      std::shared_lock lock(pools_mutex_);
      auto it = by_local_.find(local_pool);
      if (it == by_local_.end()) return;
      remote_pool = it->second->remote;
    }
    Demotion demotion{remote_pool,     key,           index,
                      stripe_sequence, bulk_sequence, std::vector<uint8_t>(page.begin(), page.end())};
    if (!queue_.Push(std::move(demotion))) ++counters_.demotions_queue_full;
  }

  void DemoteLoop() {
    Demotion demotion;
    while (queue_.Pop(demotion)) {
      const uint64_t hash = PageStripes::PageHash(demotion.key, demotion.index);
      const size_t stripe = PageStripes::StripeOf(hash);
      std::lock_guard gate(demotion_gate_);
      std::lock_guard lock(stripes_.Mutex(stripe));
      if (stripes_.Sequence(stripe) != demotion.stripe_sequence || bulk_sequence_.load() != demotion.bulk_sequence) {
        ++counters_.demotions_raced;
        continue;
      }
      stripes_.MarkMaybeRemote(hash);
      remote_->PutPage(demotion.remote_pool, demotion.key, demotion.index, demotion.page);
      ++counters_.demotions;
    }
  }

  std::unique_ptr<Backend> local_;
  std::unique_ptr<Backend> remote_;
  mutable std::shared_mutex pools_mutex_;
  std::unordered_map<BackendPoolId, std::shared_ptr<TierPool>> pools_;
  std::unordered_map<BackendPoolId, std::shared_ptr<TierPool>> by_local_;
  BackendPoolId next_pool_id_ = 1;
  PageStripes stripes_;
  // Held by the worker while it checks and writes one demotion, and by bulk
  // invalidations, so a demotion never lands inside a bulk invalidation.
  std::mutex demotion_gate_;
  std::atomic<uint64_t> bulk_sequence_{0};
  mutable TierCounters counters_;
  DemotionQueue queue_;
  std::thread worker_;
};

}  // namespace

std::unique_ptr<Backend> NewTierBackend(std::unique_ptr<Backend> local, std::unique_ptr<Backend> remote,
                                        const TierOptions& options) {
  return std::make_unique<TierBackend>(std::move(local), std::move(remote), options);
}

namespace {

Status CheckTierShape(const BackendSpec& spec) {
  if (spec.tiers.size() == 2) return Status::Ok();
  return Status::InvalidArgument("backend spec '" + spec.text + "': a tier has exactly two parts (local+remote), got " +
                                 std::to_string(spec.tiers.size()));
}

}  // namespace

BackendScheme TierScheme() {
  return BackendScheme{
      "tier",
      [](const BackendSpec& spec, BackendScheme::CreateFn create_part) -> Result<std::unique_ptr<Backend>> {
        if (Status s = CheckTierShape(spec); !s.ok()) return s;
        Result<std::unique_ptr<Backend>> local = create_part(spec.tiers[0]);
        if (!local.ok()) return local.status();
        Result<std::unique_ptr<Backend>> remote = create_part(spec.tiers[1]);
        if (!remote.ok()) return remote.status();
        return NewTierBackend(std::move(local.value()), std::move(remote.value()));
      },
      [](const BackendSpec& spec, BackendScheme::CheckFn check_part) -> Status {
        if (Status s = CheckTierShape(spec); !s.ok()) return s;
        if (Status s = check_part(spec.tiers[0]); !s.ok()) return s;
        return check_part(spec.tiers[1]);
      }};
}

}  // namespace cleancache
