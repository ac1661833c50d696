// The Cleancache shim. Design of the data path (why it is shaped like this):
//
//  * Pool lookup takes no lock. Pools live in a PoolTable: a fixed array of
//    lazily allocated chunks (64, 128, 256, ... slots) of atomic Pool
//    pointers. A pool object is published once (release store) and never
//    freed or moved while the instance lives, so a reader needs two acquire
//    loads (plain moves on x86) and nothing is ever contended. Ids are handed
//    out in increasing order and never reused, which is what makes "never
//    freed" cheap: an ended pool keeps its slot as a tombstone (state kEnded)
//    holding its final counters, so late calls on its id are harmless misses.
//  * A pool's binding (placeholder -> bound -> ended) is one atomic state
//    word; the backend pointer and backend pool id are written before the
//    release store that makes the pool kBound, so the data path reads them
//    after a single acquire load. Binding and ending happen under the control
//    mutex, which only control calls (register, init, invalidate_fs, stats)
//    take.
//  * Counters are striped: each pool has one 64-byte stripe per CPU slot
//    (power of two >= hardware threads), picked with sched_getcpu() (an rseq
//    read in glibc >= 2.35, about a nanosecond), updated with relaxed
//    fetch_add. Threads on different CPUs never write the same cache line;
//    readers sum the stripes. Totals are the sum over every pool ever created
//    (tombstones included), so they cover ended pools without extra writes.
//
// Counting follows Linux mm/cleancache.c: every get on a live pool counts as a
// success or a failure (a placeholder pool or a wrong-size buffer is a
// failure); puts and invalidates count when they are handed to the backend;
// calls on unknown or ended ids are not counted.
#include "cleancache/cleancache.hpp"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cleancache {
namespace {

enum class PoolState : uint32_t {
  kPlaceholder,  // waiting for a backend: gets miss, puts are dropped
  kBound,        // backend and backend_pool are valid
  kUnbindable,   // the backend refused the pool at registration: behaves as a placeholder
  kEnded,        // InvalidateFs ran: calls are uncounted misses / drops
};

struct alignas(64) CounterStripe {
  std::atomic<uint64_t> succ_gets{0};
  std::atomic<uint64_t> failed_gets{0};
  std::atomic<uint64_t> puts{0};
  std::atomic<uint64_t> invalidates{0};
};

using CounterField = std::atomic<uint64_t> CounterStripe::*;

struct Pool {
  Pool(PoolId pool_id, const PoolConfig& pool_config, uint32_t stripe_count)
      : config(pool_config), stripes(new CounterStripe[stripe_count]), stripe_mask(stripe_count - 1), id(pool_id) {}

  // Hot fields first: one cache line serves a data-path call.
  std::atomic<PoolState> state{PoolState::kPlaceholder};
  Backend* backend = nullptr;      // written before state becomes kBound
  BackendPoolId backend_pool = 0;  // ditto
  PoolConfig config;
  std::unique_ptr<CounterStripe[]> stripes;
  uint32_t stripe_mask;
  PoolId id;

  void Add(CounterField field, uint64_t amount) {
    if (amount == 0) return;
    const unsigned slot = static_cast<unsigned>(sched_getcpu()) & stripe_mask;  // -1 still lands in range
    (stripes[slot].*field).fetch_add(amount, std::memory_order_relaxed);
  }

  PoolCounters Sum() const {
    PoolCounters sum;
    for (uint32_t i = 0; i <= stripe_mask; ++i) {
      sum.succ_gets += stripes[i].succ_gets.load(std::memory_order_relaxed);
      sum.failed_gets += stripes[i].failed_gets.load(std::memory_order_relaxed);
      sum.puts += stripes[i].puts.load(std::memory_order_relaxed);
      sum.invalidates += stripes[i].invalidates.load(std::memory_order_relaxed);
    }
    return sum;
  }
};

// Id -> Pool*, read without locks (see the file comment). Chunk c holds
// kFirstChunk << c slots, so 26 chunks cover every non-negative int32 id.
class PoolTable {
 public:
  static constexpr unsigned kFirstChunkBits = 6;
  static constexpr uint64_t kFirstChunk = uint64_t{1} << kFirstChunkBits;
  static constexpr unsigned kChunks = 32 - kFirstChunkBits;

  PoolTable() = default;
  ~PoolTable() {
    for (auto& chunk : chunks_) delete[] chunk.load(std::memory_order_relaxed);
  }
  PoolTable(const PoolTable&) = delete;
  PoolTable& operator=(const PoolTable&) = delete;

  Pool* Find(PoolId id) const {
    if (id < 0) return nullptr;
    const uint64_t position = static_cast<uint64_t>(id) + kFirstChunk;
    const unsigned chunk = static_cast<unsigned>(std::bit_width(position)) - 1 - kFirstChunkBits;
    const std::atomic<Pool*>* slots = chunks_[chunk].load(std::memory_order_acquire);
    if (slots == nullptr) return nullptr;
    return slots[position - (kFirstChunk << chunk)].load(std::memory_order_acquire);
  }

  // Caller holds the instance's control mutex (single writer).
  void Publish(Pool* pool) {
    const uint64_t position = static_cast<uint64_t>(pool->id) + kFirstChunk;
    const unsigned chunk = static_cast<unsigned>(std::bit_width(position)) - 1 - kFirstChunkBits;
    std::atomic<Pool*>* slots = chunks_[chunk].load(std::memory_order_relaxed);
    if (slots == nullptr) {
      slots = new std::atomic<Pool*>[kFirstChunk << chunk]();
      chunks_[chunk].store(slots, std::memory_order_release);
    }
    slots[position - (kFirstChunk << chunk)].store(pool, std::memory_order_release);
  }

 private:
  std::atomic<std::atomic<Pool*>*> chunks_[kChunks] = {};
};

uint32_t StripeCount() {
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  return static_cast<uint32_t>(std::bit_ceil(std::min(threads, 256u)));
}

// Binds `pool` to a backend pool; caller holds the control mutex.
void Bind(Pool* pool, Backend* backend, BackendPoolId backend_pool) {
  pool->backend = backend;
  pool->backend_pool = backend_pool;
  pool->state.store(PoolState::kBound, std::memory_order_release);
}

// A batch is valid when `pages` is exactly count pages of the pool's size,
// `hit` has a flag per page and the index range does not wrap past 2^64-1.
bool ValidBatch(const Pool& pool, uint64_t first, size_t count, size_t page_bytes, size_t hit_flags) {
  const size_t page_size = pool.config.page_size;
  return count > 0 && page_bytes % page_size == 0 && page_bytes / page_size == count && hit_flags >= count &&
         count - 1 <= std::numeric_limits<uint64_t>::max() - first;
}

}  // namespace

struct Cleancache::Impl {
  mutable std::mutex control;
  std::unique_ptr<Backend> backend;           // guarded by control
  std::atomic<Backend*> registered{nullptr};  // for lock-free has_backend / stats
  std::vector<std::unique_ptr<Pool>> pools;   // guarded by control; index == id
  PoolTable table;
  const uint32_t stripe_count = StripeCount();
};

Cleancache::Cleancache() : impl_(std::make_unique<Impl>()) {}

Cleancache::~Cleancache() {
  // Leave the backend's pools cleanly (a remote backend frees them at once).
  for (auto& pool : impl_->pools) {
    if (pool->state.load(std::memory_order_relaxed) == PoolState::kBound) {
      pool->backend->ClosePool(pool->backend_pool);
    }
  }
}

Status Cleancache::RegisterBackend(std::unique_ptr<Backend> backend) {
  if (backend == nullptr) return Status::InvalidArgument("RegisterBackend: null backend");
  std::lock_guard lock(impl_->control);
  if (impl_->backend != nullptr) {
    return Status::Busy("a backend is already registered (" + impl_->backend->Name() + "); refusing " +
                        backend->Name() + ": one backend per cleancache instance");
  }
  impl_->backend = std::move(backend);
  impl_->registered.store(impl_->backend.get(), std::memory_order_release);
  // Linux's fake pool ids: every pool opened before now gets its real backend
  // pool; shared ones re-join by uuid, so two placeholders with one uuid end
  // up in one backend pool.
  for (auto& pool : impl_->pools) {
    if (pool->state.load(std::memory_order_relaxed) != PoolState::kPlaceholder) continue;
    Result<BackendPoolId> opened = impl_->backend->OpenPool(pool->config);
    if (opened.ok()) {
      Bind(pool.get(), impl_->backend.get(), opened.value());
    } else {
      pool->state.store(PoolState::kUnbindable, std::memory_order_release);
    }
  }
  return Status::Ok();
}

bool Cleancache::has_backend() const { return impl_->registered.load(std::memory_order_acquire) != nullptr; }

PoolId Cleancache::InitFs(uint32_t page_size) {
  Result<PoolId> id = OpenPool(PoolConfig{.page_size = page_size, .shared = false, .uuid = {}, .keep_on_get = {}});
  return id.ok() ? id.value() : kNoPool;
}

PoolId Cleancache::InitSharedFs(const Uuid& uuid, uint32_t page_size) {
  Result<PoolId> id = OpenPool(PoolConfig{.page_size = page_size, .shared = true, .uuid = uuid, .keep_on_get = {}});
  return id.ok() ? id.value() : kNoPool;
}

Result<PoolId> Cleancache::OpenPool(const PoolConfig& config) {
  if (Status s = CheckPageSize(config.page_size); !s.ok()) return s;
  std::lock_guard lock(impl_->control);
  if (impl_->pools.size() >= static_cast<size_t>(std::numeric_limits<PoolId>::max())) {
    return Status::Busy("out of pool ids: ids are never reused and all 2^31-1 have been handed out");
  }
  const PoolId id = static_cast<PoolId>(impl_->pools.size());
  PoolConfig settled = config;  // backends see keep_on_get set, never the default
  settled.keep_on_get = KeepsOnGet(config);
  auto pool = std::make_unique<Pool>(id, settled, impl_->stripe_count);
  if (impl_->backend != nullptr) {
    Result<BackendPoolId> opened = impl_->backend->OpenPool(settled);
    if (!opened.ok()) return opened.status();
    Bind(pool.get(), impl_->backend.get(), opened.value());
  }
  impl_->table.Publish(pool.get());
  impl_->pools.push_back(std::move(pool));
  return id;
}

bool Cleancache::GetPage(PoolId id, const FileKey& key, uint64_t index, std::span<uint8_t> page) {
  Pool* pool = impl_->table.Find(id);
  if (pool == nullptr) return false;
  const PoolState state = pool->state.load(std::memory_order_acquire);
  if (state == PoolState::kEnded) return false;
  const bool hit = state == PoolState::kBound && page.size() == pool->config.page_size &&
                   pool->backend->GetPage(pool->backend_pool, key, index, page);
  pool->Add(hit ? &CounterStripe::succ_gets : &CounterStripe::failed_gets, 1);
  return hit;
}

void Cleancache::PutPage(PoolId id, const FileKey& key, uint64_t index, std::span<const uint8_t> page) {
  Pool* pool = impl_->table.Find(id);
  if (pool == nullptr || pool->state.load(std::memory_order_acquire) != PoolState::kBound) return;
  if (page.size() != pool->config.page_size) return;
  pool->backend->PutPage(pool->backend_pool, key, index, page);
  pool->Add(&CounterStripe::puts, 1);
}

void Cleancache::InvalidatePage(PoolId id, const FileKey& key, uint64_t index) {
  Pool* pool = impl_->table.Find(id);
  if (pool == nullptr || pool->state.load(std::memory_order_acquire) != PoolState::kBound) return;
  pool->backend->InvalidatePage(pool->backend_pool, key, index);
  pool->Add(&CounterStripe::invalidates, 1);
}

void Cleancache::InvalidateInode(PoolId id, const FileKey& key) {
  Pool* pool = impl_->table.Find(id);
  if (pool == nullptr || pool->state.load(std::memory_order_acquire) != PoolState::kBound) return;
  pool->backend->InvalidateInode(pool->backend_pool, key);
  pool->Add(&CounterStripe::invalidates, 1);
}

void Cleancache::InvalidateFs(PoolId id) {
  std::lock_guard lock(impl_->control);
  Pool* pool = impl_->table.Find(id);
  if (pool == nullptr) return;
  const PoolState state = pool->state.load(std::memory_order_relaxed);
  if (state == PoolState::kEnded) return;
  if (state == PoolState::kBound) pool->backend->ClosePool(pool->backend_pool);
  pool->state.store(PoolState::kEnded, std::memory_order_release);
}

size_t Cleancache::GetPages(PoolId id, const FileKey& key, uint64_t first, size_t count, std::span<uint8_t> pages,
                            std::span<uint8_t> hit) {
  std::fill_n(hit.begin(), std::min(count, hit.size()), uint8_t{0});
  Pool* pool = impl_->table.Find(id);
  if (pool == nullptr) return 0;
  const PoolState state = pool->state.load(std::memory_order_acquire);
  if (state == PoolState::kEnded) return 0;
  size_t hits = 0;
  if (state == PoolState::kBound && ValidBatch(*pool, first, count, pages.size(), hit.size())) {
    hits = pool->backend->GetPages(pool->backend_pool, key, first, count, pages, hit.first(count));
  }
  pool->Add(&CounterStripe::succ_gets, hits);
  pool->Add(&CounterStripe::failed_gets, count - hits);
  return hits;
}

void Cleancache::PutPages(PoolId id, const FileKey& key, uint64_t first, size_t count, std::span<const uint8_t> pages) {
  Pool* pool = impl_->table.Find(id);
  if (pool == nullptr || pool->state.load(std::memory_order_acquire) != PoolState::kBound) return;
  if (!ValidBatch(*pool, first, count, pages.size(), count)) return;
  pool->backend->PutPages(pool->backend_pool, key, first, count, pages);
  pool->Add(&CounterStripe::puts, count);
}

Result<PoolInfo> Cleancache::Info(PoolId id) const {
  Pool* pool = impl_->table.Find(id);
  if (pool == nullptr) return Status::NotFound("no pool with id " + std::to_string(id));
  const PoolState state = pool->state.load(std::memory_order_acquire);
  if (state == PoolState::kEnded) {
    return Status::NotFound("pool " + std::to_string(id) + " has ended (InvalidateFs)");
  }
  PoolInfo info;
  info.id = id;
  info.page_size = pool->config.page_size;
  info.shared = pool->config.shared;
  info.keep_on_get = KeepsOnGet(pool->config);
  info.bound = state == PoolState::kBound;
  info.uuid = pool->config.uuid;
  return info;
}

PoolCounters Cleancache::Counters(PoolId id) const {
  Pool* pool = impl_->table.Find(id);
  return pool == nullptr ? PoolCounters{} : pool->Sum();
}

PoolCounters Cleancache::TotalCounters() const {
  std::lock_guard lock(impl_->control);
  PoolCounters total;
  for (const auto& pool : impl_->pools) {
    PoolCounters one = pool->Sum();
    total.succ_gets += one.succ_gets;
    total.failed_gets += one.failed_gets;
    total.puts += one.puts;
    total.invalidates += one.invalidates;
  }
  return total;
}

BackendStats Cleancache::BackendStatistics() const {
  Backend* backend = impl_->registered.load(std::memory_order_acquire);
  return backend == nullptr ? BackendStats{} : backend->Stats();
}

std::string Cleancache::BackendName() const {
  Backend* backend = impl_->registered.load(std::memory_order_acquire);
  return backend == nullptr ? std::string() : backend->Name();
}

}  // namespace cleancache
