// MemcachedBackend: see include/cleancache/memcached_backend.h for the
// contract. The rule that keeps it coherent: whenever the remote state of a
// file is uncertain (a set, delete or get failed, or no connection was free
// to send an invalidation), the file's generation is bumped, so whatever the
// cluster still holds for it becomes unreachable.
#include "cleancache/memcached_backend.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstring>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string_view>
#include <unordered_map>

#include "memcached/connection_pool.h"
#include "memcached/generation_table.h"
#include "memcached/page_sealer.h"

namespace cleancache {
namespace {

using memcached::Connection;
using memcached::ConnectionPool;
using memcached::GenerationTable;
using memcached::KeyTable;
using memcached::PageSealer;
using MemcachedKey = char[PageSealer::kKeyChars];

constexpr size_t kGetStripes = 256;
// A file's pages share a get stripe in blocks of this many, so a readahead
// batch takes one or two stripe locks rather than one per page.
constexpr uint64_t kPagesPerStripe = 32;

// What a value is sealed for: pool instance, file generation, file, index.
class Binding {
 public:
  Binding(const std::array<uint8_t, 16>& pool_nonce, uint64_t generation, const FileKey& key) {
    Append(pool_nonce.data(), pool_nonce.size());
    Append(&generation, sizeof generation);
    uint32_t type = key.type();
    uint8_t size = static_cast<uint8_t>(key.size());
    Append(&type, sizeof type);
    Append(&size, sizeof size);
    Append(key.bytes().data(), key.size());
    prefix_ = size_;
  }
  std::span<const uint8_t> ForIndex(uint64_t index) {
    size_ = prefix_;
    Append(&index, sizeof index);
    return {bytes_.data(), size_};
  }

 private:
  void Append(const void* data, size_t n) {
    std::memcpy(bytes_.data() + size_, data, n);
    size_ += n;
  }
  std::array<uint8_t, 16 + 8 + 4 + 1 + FileKey::kMaxBytes + 8> bytes_{};
  size_t size_ = 0;
  size_t prefix_ = 0;
};

struct Pool {
  Pool(const PoolConfig& config, const MemcachedOptions& options, std::atomic<uint64_t>& clock)
      : config(config), sealer(options.encrypt, options.compress), generations(options.max_tracked_files, clock) {
    randombytes_buf(nonce.data(), nonce.size());
  }
  PoolConfig config;
  std::array<uint8_t, 16> nonce{};  // makes keys unique to this pool instance
  PageSealer sealer;
  GenerationTable generations;
  // Private pools: serialise the get-then-delete of a page (StripeLocks).
  std::array<std::mutex, kGetStripes> get_stripes;
};

// Holds the get stripes of pages [first, first + count) of one file, taken in
// stripe order (so two batches cannot deadlock) and released on destruction.
class StripeLocks {
 public:
  StripeLocks(Pool& pool, const FileKey& key, uint64_t first, size_t count) : stripes_(pool.get_stripes) {
    const uint64_t first_block = first / kPagesPerStripe;
    const uint64_t last_block = (first + count - 1) / kPagesPerStripe;
    if (last_block - first_block >= kGetStripes) {
      held_.fill(~uint64_t{0});  // a batch this long may need any stripe
    } else {
      for (uint64_t block = first_block; block <= last_block; ++block) {
        size_t stripe = StripeOf(key, block);
        held_[stripe / 64] |= uint64_t{1} << (stripe % 64);
      }
    }
    ForEachHeld([&](size_t stripe) { stripes_[stripe].lock(); });
  }
  ~StripeLocks() {
    ForEachHeld([&](size_t stripe) { stripes_[stripe].unlock(); });
  }
  StripeLocks(const StripeLocks&) = delete;
  StripeLocks& operator=(const StripeLocks&) = delete;

 private:
  static size_t StripeOf(const FileKey& key, uint64_t block) {
    return static_cast<size_t>((key.hash() ^ (block * 0x9E3779B97F4A7C15ull)) >> 40) % kGetStripes;
  }
  template <typename Fn>
  void ForEachHeld(Fn fn) const {
    for (size_t word = 0; word < held_.size(); ++word) {
      for (uint64_t bits = held_[word]; bits != 0; bits &= bits - 1) fn(word * 64 + std::countr_zero(bits));
    }
  }
  std::array<std::mutex, kGetStripes>& stripes_;
  std::array<uint64_t, kGetStripes / 64> held_{};
};

struct Counters {
  std::atomic<uint64_t> gets{0}, hits{0}, puts{0}, stored{0}, put_failures{0}, get_failures{0}, delete_failures{0},
      auth_failures{0}, no_connection{0}, generation_bumps{0}, raced_invalidations{0}, sent_bytes{0}, multi_gets{0};
};

class MemcachedBackend final : public Backend {
 public:
  MemcachedBackend(const MemcachedOptions& options, std::unique_ptr<ConnectionPool> connections)
      : options_(options), connections_(std::move(connections)) {
    PageSealer probe(options_.encrypt, options_.compress);
    name_ =
        "memcached(" + connections_->ServerList() + ", " + probe.Description() + (options_.compress ? ", lz4)" : ")");
  }

  std::string Name() const override { return name_; }

  Result<BackendPoolId> OpenPool(const PoolConfig& config) override {
    if (Status s = CheckPageSize(config.page_size); !s.ok()) {
      return Status::InvalidArgument("memcached: " + s.message());
    }
    std::unique_lock lock(pools_mutex_);
    std::shared_ptr<Pool> pool;
    if (config.shared) {
      for (auto& [id, member] : pools_) {
        if (member->config.shared && member->config.uuid == config.uuid) {
          if (Status s = CheckSharedJoin(member->config, config); !s.ok()) {
            return Status::InvalidArgument("memcached: " + s.message());
          }
          pool = member;
          break;
        }
      }
    }
    if (!pool) pool = std::make_shared<Pool>(config, options_, clock_);
    BackendPoolId id = next_pool_id_++;
    pools_.emplace(id, std::move(pool));
    return id;
  }

  void ClosePool(BackendPoolId id) override {
    // The last handle takes the pool's nonce and keys with it: its remote
    // values become unreachable and age out of memcached's LRU.
    std::shared_ptr<Pool> pool;
    std::unique_lock lock(pools_mutex_);
    if (auto it = pools_.find(id); it != pools_.end()) {
      pool = std::move(it->second);
      pools_.erase(it);
    }
  }

  bool GetPage(BackendPoolId id, const FileKey& key, uint64_t index, std::span<uint8_t> page) override {
    uint8_t hit = 0;
    return GetPages(id, key, index, 1, page, {&hit, 1}) == 1;
  }

  size_t GetPages(BackendPoolId id, const FileKey& key, uint64_t first, size_t count, std::span<uint8_t> pages,
                  std::span<uint8_t> hit) override {
    std::fill(hit.begin(), hit.end(), 0);
    counters_.gets += count;
    if (count > 1) ++counters_.multi_gets;
    std::shared_ptr<Pool> pool = Find(id);
    if (!pool || count == 0 || hit.size() < count || pages.size() != count * pool->config.page_size) return 0;
    const uint64_t generation = pool->generations.Get(key.hash());
    ConnectionPool::Lease connection = connections_->Acquire();
    if (!connection) {
      ++counters_.no_connection;
      Bump(*pool, key);  // this miss must stay a miss: the pages may still be out there
      return 0;
    }

    Binding binding(pool->nonce, generation, key);
    KeyTable& keys = connection->keys;
    keys.Resize(count);
    for (size_t i = 0; i < count; ++i) pool->sealer.KeyFor(binding.ForIndex(first + i), keys.name(i));

    size_t hits = 0;
    bool failed = false;
    {
      // Exclusive gets: the stripes make get-then-delete atomic per page.
      std::optional<StripeLocks> stripes;
      if (!KeepsOnGet(pool->config)) stripes.emplace(*pool, key, first, count);
      failed = !FetchAndOpen(*pool, *connection, binding, first, count, pages, hit, hits);
      // A get overlapping an invalidation of this file must not return data.
      if (hits > 0 && pool->generations.Get(key.hash()) != generation) {
        ++counters_.raced_invalidations;
        std::fill(hit.begin(), hit.begin() + static_cast<std::ptrdiff_t>(count), 0);
        hits = 0;
      }
      // After a failed fetch the bump below already makes every copy
      // unreachable, so only a clean fetch needs its hits deleted.
      if (!failed && hits > 0 && !KeepsOnGet(pool->config)) failed = !DeleteTakenPages(*connection, hit.first(count));
    }
    if (failed) {
      // A page we could not read or remove might reappear later: forbid it.
      connection.MarkBroken();
      Bump(*pool, key);
    }
    counters_.hits += hits;
    return hits;
  }

  void PutPage(BackendPoolId id, const FileKey& key, uint64_t index, std::span<const uint8_t> page) override {
    PutPages(id, key, index, 1, page);
  }

  void PutPages(BackendPoolId id, const FileKey& key, uint64_t first, size_t count,
                std::span<const uint8_t> pages) override {
    counters_.puts += count;
    std::shared_ptr<Pool> pool = Find(id);
    if (!pool || pages.size() != count * pool->config.page_size) return;
    const size_t page_size = pool->config.page_size;
    Binding binding(pool->nonce, pool->generations.Get(key.hash()), key);
    ConnectionPool::Lease connection = connections_->Acquire();
    if (!connection) {
      ++counters_.no_connection;
      Bump(*pool, key);  // an older copy of these pages may be out there
      return;
    }
    bool failed = false;
    uint64_t stored = 0, sent_bytes = 0;
    for (size_t i = 0; i < count; ++i) {
      std::span<const uint8_t> b = binding.ForIndex(first + i);
      MemcachedKey name;
      pool->sealer.KeyFor(b, name);
      std::span<const uint8_t> value =
          pool->sealer.Seal(b, pages.subspan(i * page_size, page_size), connection->sealing);
      memcached_return_t rc =
          memcached_set(connection->handle, name, sizeof name, reinterpret_cast<const char*>(value.data()),
                        value.size(), static_cast<time_t>(options_.expire_seconds), 0);
      if (rc == MEMCACHED_SUCCESS) {
        ++stored;
        sent_bytes += value.size();
      } else {
        ++counters_.put_failures;
        failed = true;
      }
    }
    counters_.stored += stored;
    counters_.sent_bytes += sent_bytes;
    if (failed) {
      connection.MarkBroken();
      Bump(*pool, key);
    }
  }

  void InvalidatePage(BackendPoolId id, const FileKey& key, uint64_t index) override {
    std::shared_ptr<Pool> pool = Find(id);
    if (!pool) return;
    Binding binding(pool->nonce, pool->generations.Get(key.hash()), key);
    MemcachedKey name;
    pool->sealer.KeyFor(binding.ForIndex(index), name);
    ConnectionPool::Lease connection = connections_->Acquire();
    memcached_return_t rc =
        connection ? memcached_delete(connection->handle, name, sizeof name, 0) : MEMCACHED_CONNECTION_FAILURE;
    if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND) {
      ++counters_.delete_failures;
      if (connection) connection.MarkBroken();
      Bump(*pool, key);
    }
  }

  void InvalidateInode(BackendPoolId id, const FileKey& key) override {
    if (std::shared_ptr<Pool> pool = Find(id)) Bump(*pool, key);
  }

  // The servers hold the pages, and memcached does not say how much of what
  // it holds is ours: pages_stored, real_memory_bytes, capacity_bytes and
  // evictions are the servers' (curr_items, bytes, limit_maxbytes,
  // evictions; one `stats` round trip each), shared with whatever else uses
  // them; extra "server_wide" 1 says so, "servers_answering" how many
  // answered. Original and compressed sizes stay 0 (not known).
  BackendStats Stats() const override {
    BackendStats stats;
    AddServerFigures(&stats);
    stats.dropped_puts = counters_.put_failures.load();
    const std::pair<const char*, const std::atomic<uint64_t>*> figures[] = {
        {"gets", &counters_.gets},
        {"hits", &counters_.hits},
        {"puts", &counters_.puts},
        {"stored", &counters_.stored},
        {"put_failures", &counters_.put_failures},
        {"get_failures", &counters_.get_failures},
        {"delete_failures", &counters_.delete_failures},
        {"auth_failures", &counters_.auth_failures},
        {"no_connection", &counters_.no_connection},
        {"generation_bumps", &counters_.generation_bumps},
        {"raced_invalidations", &counters_.raced_invalidations},
        {"sent_bytes", &counters_.sent_bytes},
        {"multi_gets", &counters_.multi_gets},
    };
    for (auto [name, value] : figures) stats.extra[name] = value->load();
    std::shared_lock lock(pools_mutex_);
    uint64_t tracked = 0;
    for (auto& [id, pool] : pools_) tracked += pool->generations.tracked_files();
    stats.extra["tracked_files"] = tracked;
    stats.extra["pool_handles"] = pools_.size();
    return stats;
  }

 private:
  void AddServerFigures(BackendStats* stats) const {
    ConnectionPool::Lease connection = connections_->Acquire();
    stats->extra["server_wide"] = 1;
    stats->extra["servers_answering"] = 0;
    if (!connection) return;
    memcached_return_t rc = MEMCACHED_SUCCESS;
    memcached_stat_st* servers = memcached_stat(connection->handle, nullptr, &rc);
    if (servers == nullptr) {
      connection.MarkBroken();
      return;
    }
    uint64_t answering = 0;
    const uint32_t count = memcached_server_count(connection->handle);
    for (uint32_t i = 0; i < count; ++i) {
      const memcached_stat_st& s = servers[i];
      if (s.limit_maxbytes == 0) continue;  // did not answer: its entry stays zeroed
      ++answering;
      stats->pages_stored += s.curr_items;
      stats->real_memory_bytes += s.bytes;
      stats->capacity_bytes += s.limit_maxbytes;
      stats->evictions += s.evictions;
    }
    memcached_stat_free(connection->handle, servers);
    if (rc != MEMCACHED_SUCCESS) connection.MarkBroken();
    stats->extra["servers_answering"] = answering;
  }

  std::shared_ptr<Pool> Find(BackendPoolId id) const {
    std::shared_lock lock(pools_mutex_);
    auto it = pools_.find(id);
    return it == pools_.end() ? nullptr : it->second;
  }

  void Bump(Pool& pool, const FileKey& key) {
    ++counters_.generation_bumps;
    pool.generations.Bump(key.hash());
  }

  // One multi-get round trip; fills hit[] for authentic values. False when a
  // server did not answer properly (some pages may still have been read).
  bool FetchAndOpen(Pool& pool, Connection& connection, Binding& binding, uint64_t first, size_t count,
                    std::span<uint8_t> pages, std::span<uint8_t> hit, size_t& hits) {
    const size_t page_size = pool.config.page_size;
    const KeyTable& keys = connection.keys;
    memcached_st* handle = connection.handle;
    memcached_return_t rc = memcached_mget(handle, keys.pointers(), keys.lengths(), count);
    bool ok = rc == MEMCACHED_SUCCESS;
    if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_SOME_ERRORS) {
      ++counters_.get_failures;
      return false;
    }
    // A server returns its hits in request order, so each result's slot is
    // found by scanning on from the previous one: O(1) per result unless
    // several servers' replies interleave.
    size_t expected_slot = 0;
    // Bounded by the servers' replies: one result per key at most, then END.
    for (size_t results = 0; results <= count; ++results) {
      memcached_result_st* result = memcached_fetch_result(handle, &connection.result, &rc);
      if (!result) break;
      std::string_view name(memcached_result_key_value(result), memcached_result_key_length(result));
      size_t slot = count;
      for (size_t step = 0; step < count; ++step) {
        size_t candidate = expected_slot + step < count ? expected_slot + step : expected_slot + step - count;
        if (keys.view(candidate) == name) {
          slot = candidate;
          break;
        }
      }
      if (slot == count || hit[slot]) continue;
      expected_slot = slot + 1 < count ? slot + 1 : 0;
      std::span<const uint8_t> value(reinterpret_cast<const uint8_t*>(memcached_result_value(result)),
                                     memcached_result_length(result));
      if (pool.sealer.Open(binding.ForIndex(first + slot), value, pages.subspan(slot * page_size, page_size),
                           connection.sealing)) {
        hit[slot] = 1;
        ++hits;
      } else {
        ++counters_.auth_failures;
      }
    }
    if (rc != MEMCACHED_END && rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND) ok = false;
    if (!ok) ++counters_.get_failures;
    return ok;
  }

  // Removes the pages a private-pool get took, in one round trip instead of
  // one per page: the deletes are buffered on the connection's delete handle,
  // leave in one write per server, and their replies are then read back.
  // libmemcached hands the reply of each buffered request to its fetch loop:
  // DELETED comes back as a result, NOT_FOUND is skipped, an error or a
  // timeout ends the loop. So the batch succeeded exactly when there are as
  // many results as deletes sent; anything else -- a send failure, an error,
  // a lost or late reply, even a NOT_FOUND (it cannot be told from a lost
  // reply here, and costs no more than a bump) -- fails it, and the caller
  // bumps the file's generation. The handle carries nothing but these
  // batches, and a failed one gets the connection reset, so no reply of an
  // earlier batch can be counted for this one.
  bool DeleteTakenPages(Connection& connection, std::span<const uint8_t> hit) {
    // Past ~500 requests in flight to a server (its IO_MSG_WATERMARK)
    // libmemcached reads and drops their replies to make room, which would
    // fail the count; longer batches go out in rounds of this many.
    constexpr size_t kDeletesPerRound = 256;
    memcached_st* handle = connection.delete_handle;
    const KeyTable& keys = connection.keys;
    size_t next = 0;
    while (next < hit.size()) {
      size_t sent = 0;
      for (; next < hit.size() && sent < kDeletesPerRound; ++next) {
        if (!hit[next]) continue;
        if (memcached_delete(handle, keys.pointers()[next], PageSealer::kKeyChars, 0) != MEMCACHED_BUFFERED) {
          return CountDeleteFailure();
        }
        ++sent;
      }
      if (sent == 0) break;
      if (memcached_flush_buffers(handle) != MEMCACHED_SUCCESS) return CountDeleteFailure();
      size_t deleted = 0;
      memcached_return_t rc;
      while (deleted < sent && memcached_fetch_result(handle, &connection.delete_result, &rc)) ++deleted;
      if (deleted != sent) return CountDeleteFailure();
    }
    return true;
  }

  bool CountDeleteFailure() {
    ++counters_.delete_failures;
    return false;
  }

  const MemcachedOptions options_;
  std::unique_ptr<ConnectionPool> connections_;
  std::string name_;
  std::atomic<uint64_t> clock_{0};
  mutable std::shared_mutex pools_mutex_;
  std::unordered_map<BackendPoolId, std::shared_ptr<Pool>> pools_;
  BackendPoolId next_pool_id_ = 1;
  mutable Counters counters_;
};

}  // namespace

Result<std::unique_ptr<Backend>> NewMemcachedBackend(const MemcachedOptions& options) {
  if (options.servers.empty()) return Status::InvalidArgument("memcached: no server given");
  auto connections = ConnectionPool::Create(options);
  if (!connections.ok()) return connections.status();
  if (options.check_servers && (*connections)->CountAnsweringServers() == 0) {
    return Status::IOError("memcached: no server answered at " + (*connections)->ServerList() +
                           " (is memcached running there? check=0 skips this test)");
  }
  return std::unique_ptr<Backend>(std::make_unique<MemcachedBackend>(options, std::move(*connections)));
}

}  // namespace cleancache
