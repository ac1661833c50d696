#include "cleancache/tmem_backend.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "tmem/daemon_connection.h"
#include "tmem/protocol.h"
#include "tmem/shared_area.h"

namespace cleancache::daemon {
namespace {

using Clock = std::chrono::steady_clock;

bool ParseU32(const std::string& text, uint32_t* out) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && p == text.data() + text.size() && !text.empty();
}

class TmemBackend final : public Backend {
 public:
  explicit TmemBackend(TmemOptions options) : options_(std::move(options)) {}

  Status ConnectNow() {
    std::lock_guard lock(mutex_);
    return Connect();
  }

  std::string Name() const override { return "tmem(" + options_.socket_path + ")"; }

  Result<BackendPoolId> OpenPool(const PoolConfig& config) override {
    if (Status s = CheckPageSize(config.page_size); !s.ok()) return s;
    if (config.page_size > options_.shared_bytes) {
      return Status::InvalidArgument("page size is larger than the shared area (spec key shm)");
    }
    std::lock_guard lock(mutex_);
    const BackendPoolId id = next_local_id_++;
    LocalPool& pool = pools_[id];
    pool.config = config;
    if (EnsureConnected()) {
      Status s = Bind(pool);
      if (!s.ok() && s.code() != Status::Code::kUnavailable) {
        pools_.erase(id);
        return s;  // the daemon refused: not authorised, bad size, too many pools
      }
    }
    return id;
  }

  void ClosePool(BackendPoolId id) override {
    std::lock_guard lock(mutex_);
    auto it = pools_.find(id);
    if (it == pools_.end()) return;
    if (connection_ && it->second.generation == generation_) {
      std::vector<uint8_t> frame;
      const uint64_t rid = connection_->NextRequestId();
      EncodePoolOnly(&frame, Opcode::kClosePool, rid, it->second.remote);
      if (!connection_->Call(frame, Opcode::kClosePool, rid).ok()) Disconnect();
    }
    pools_.erase(it);
  }

  bool GetPage(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<uint8_t> page) override {
    uint8_t hit = 0;
    return GetPages(pool, key, index, 1, page, {&hit, 1}) == 1;
  }

  void PutPage(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<const uint8_t> page) override {
    PutPages(pool, key, index, 1, page);
  }

  size_t GetPages(BackendPoolId id, const FileKey& key, uint64_t first, size_t count, std::span<uint8_t> pages,
                  std::span<uint8_t> hit) override {
    std::fill_n(hit.begin(), std::min(count, hit.size()), uint8_t{0});
    gets_ += count;
    std::lock_guard lock(mutex_);
    LocalPool* pool = Usable(id, count, pages.size(), hit.size());
    if (pool == nullptr) return 0;
    const uint32_t page_size = pool->config.page_size;
    const size_t batch = BatchPages(page_size);
    size_t hits = 0;
    for (size_t done = 0; done < count;) {
      const uint32_t n = static_cast<uint32_t>(std::min(batch, count - done));
      const uint32_t area_offset = NextAreaOffset(size_t{n} * page_size);
      frame_.clear();
      const uint64_t rid = connection_->NextRequestId();
      EncodePages(&frame_, Opcode::kGetPages, rid, pool->remote, first + done, n, area_offset, key.type(), key.bytes());
      auto reply = connection_->Call(frame_, Opcode::kGetPages, rid, n);
      if (!reply.ok()) {
        Disconnect();
        break;
      }
      if (reply->status != WireStatus::kOk) {
        pool->generation = 0;  // the daemon no longer knows it: rebind next time
        break;
      }
      uint32_t batch_hits = 0;
      if (ParseGetPagesReply(reply->body, n, hit.subspan(done, n), &batch_hits)) {
        std::fill_n(hit.begin() + static_cast<std::ptrdiff_t>(done), n, uint8_t{0});
        Disconnect();
        break;
      }
      const uint8_t* area_pages = area_.bytes().data() + area_offset;
      for (uint32_t i = 0; i < n; ++i) {
        if (hit[done + i] == 0) continue;
        std::memcpy(pages.data() + (done + i) * page_size, area_pages + size_t{i} * page_size, page_size);
      }
      hits += batch_hits;
      done += n;
    }
    hits_ += hits;
    return hits;
  }

  void PutPages(BackendPoolId id, const FileKey& key, uint64_t first, size_t count,
                std::span<const uint8_t> pages) override {
    puts_ += count;
    std::lock_guard lock(mutex_);
    LocalPool* pool = Usable(id, count, pages.size(), count);
    if (pool == nullptr) {
      dropped_puts_ += count;
      return;
    }
    const uint32_t page_size = pool->config.page_size;
    const size_t batch = BatchPages(page_size);
    for (size_t done = 0; done < count;) {
      const uint32_t n = static_cast<uint32_t>(std::min(batch, count - done));
      const uint32_t area_offset = NextAreaOffset(size_t{n} * page_size);
      std::memcpy(area_.bytes().data() + area_offset, pages.data() + done * page_size, size_t{n} * page_size);
      frame_.clear();
      const uint64_t rid = connection_->NextRequestId();
      EncodePages(&frame_, Opcode::kPutPages, rid, pool->remote, first + done, n, area_offset, key.type(), key.bytes());
      auto reply = connection_->Call(frame_, Opcode::kPutPages, rid, n);
      if (!reply.ok() || reply->status != WireStatus::kOk) {
        if (!reply.ok())
          Disconnect();
        else
          pool->generation = 0;
        dropped_puts_ += count - done;
        return;
      }
      done += n;
    }
  }

  void InvalidatePage(BackendPoolId id, const FileKey& key, uint64_t index) override {
    Invalidate(id, key, index, true);
  }

  void InvalidateInode(BackendPoolId id, const FileKey& key) override { Invalidate(id, key, 0, false); }

  // The daemon holds the pages, so what is stored, the memory it takes and
  // the evictions come from it: the row of this client's tenant (the reply's
  // "you") in its statistics, asked on a connection of its own so the data
  // connection's one request in flight is not disturbed; a tenant is named
  // by the peer's credentials, the same for both connections. A daemon that
  // does not answer within 1 s leaves those figures 0 and
  // tmem.stats_unavailable 1. Pages of a shared pool that is its own tenant
  // ("shared:UUID") are not in this client's row.
  BackendStats Stats() const override {
    BackendStats stats;
    const bool known = AddTenantFigures(&stats);
    stats.extra["tmem.stats_unavailable"] = known ? 0 : 1;
    stats.dropped_puts = dropped_puts_;
    stats.extra["tmem.gets"] = gets_;
    stats.extra["tmem.hits"] = hits_;
    stats.extra["tmem.puts"] = puts_;
    stats.extra["tmem.connects"] = connects_;
    stats.extra["tmem.disconnects"] = disconnects_;
    stats.extra["tmem.connected"] = connected_ ? 1 : 0;
    stats.extra["tmem.lost_invalidations"] = lost_invalidations_;
    return stats;
  }

 private:
  bool AddTenantFigures(BackendStats* stats) const {
    constexpr uint32_t kStatsTimeoutMs = 1000;  // a stats reader waits at most this for a busy daemon
    auto text = FetchDaemonStats(options_.socket_path, std::min(options_.timeout_ms, kStatsTimeoutMs));
    if (!text.ok()) return false;
    auto json = nlohmann::json::parse(*text, nullptr, false);
    if (!json.is_object() || !json.contains("you") || !json["you"].is_string() || !json.contains("tenants") ||
        !json["tenants"].is_array()) {
      return false;
    }
    const std::string you = json["you"].get<std::string>();
    auto figure = [](const nlohmann::json& row, const char* key) {
      auto it = row.find(key);
      return it != row.end() && it->is_number_unsigned() ? it->get<uint64_t>() : uint64_t{0};
    };
    for (const auto& row : json["tenants"]) {
      if (!row.is_object() || row.value("name", std::string()) != you) continue;
      stats->pages_stored = figure(row, "pages");
      stats->original_bytes = figure(row, "original_bytes");
      stats->compressed_bytes = figure(row, "compressed_bytes");
      stats->real_memory_bytes = figure(row, "real_memory_bytes");
      stats->capacity_bytes = figure(row, "share_bytes");
      stats->evictions = figure(row, "evictions");
      stats->rejected_incompressible = figure(row, "rejected_puts");
      return true;
    }
    return true;  // no row yet: nothing stored for this client, the zeros are real
  }

  struct LocalPool {
    PoolConfig config;
    uint64_t remote = 0;
    uint64_t generation = 0;   // connection generation the remote id belongs to; 0 = unbound
    bool needs_flush = false;  // a shared pool that missed an invalidation
  };

  size_t BatchPages(uint32_t page_size) const {
    return std::max<size_t>(1, std::min<size_t>(kMaxBatchPages, area_.size() / page_size));
  }

  // Where in the area the next request's pages go: each request takes the
  // bytes after the previous one's, wrapping to 0 when they do not fit.
  // Reusing one spot would make the daemon's CPU write cache lines our CPU
  // has just read, and those cross-CPU invalidations slowed a 32-page get in
  // the daemon from ~45 to ~65 us; lines a whole area ago have mostly left
  // our caches. `bytes` fits the area (BatchPages).
  uint32_t NextAreaOffset(size_t bytes) {
    if (next_area_offset_ + bytes > area_.size()) next_area_offset_ = 0;
    const auto offset = static_cast<uint32_t>(next_area_offset_);
    next_area_offset_ += bytes;
    return offset;
  }

  // The pool, connected and bound, if this call can go to the daemon.
  LocalPool* Usable(BackendPoolId id, size_t count, size_t bytes, size_t flags) {
    auto it = pools_.find(id);
    if (it == pools_.end() || count == 0 || flags < count) return nullptr;
    LocalPool& pool = it->second;
    if (bytes != count * pool.config.page_size) return nullptr;
    if (!EnsureConnected()) return nullptr;
    if (pool.generation != generation_ && !Bind(pool).ok()) return nullptr;
    return &pool;
  }

  void Invalidate(BackendPoolId id, const FileKey& key, uint64_t index, bool one_page) {
    std::lock_guard lock(mutex_);
    auto it = pools_.find(id);
    if (it == pools_.end()) return;
    LocalPool& pool = it->second;
    // A private pool that is not bound in this connection no longer exists in
    // the daemon (its session ended), so there is nothing to invalidate. A
    // shared pool outlives us: remember to flush it when we rejoin.
    if (!EnsureConnected() || (pool.generation != generation_ && !Bind(pool).ok())) {
      if (pool.config.shared) pool.needs_flush = true;
      ++lost_invalidations_;
      return;
    }
    frame_.clear();
    const uint64_t rid = connection_->NextRequestId();
    const Opcode op = one_page ? Opcode::kInvalidatePage : Opcode::kInvalidateInode;
    if (one_page) {
      EncodeInvalidatePage(&frame_, rid, pool.remote, index, key.type(), key.bytes());
    } else {
      EncodeInvalidateInode(&frame_, rid, pool.remote, key.type(), key.bytes());
    }
    auto reply = connection_->Call(frame_, op, rid);
    if (!reply.ok() || reply->status != WireStatus::kOk) {
      if (pool.config.shared) pool.needs_flush = true;
      ++lost_invalidations_;
      if (!reply.ok())
        Disconnect();
      else
        pool.generation = 0;
    }
  }

  // Opens (or joins) `pool` in the current session.
  Status Bind(LocalPool& pool) {
    frame_.clear();
    uint64_t rid = connection_->NextRequestId();
    EncodeOpenPool(&frame_, rid, pool.config.page_size, EncodePoolFlags(pool.config.shared, KeepsOnGet(pool.config)),
                   pool.config.uuid.bytes);
    auto reply = connection_->Call(frame_, Opcode::kOpenPool, rid);
    if (!reply.ok()) {
      Disconnect();
      return Status::Unavailable(reply.status().message());
    }
    if (reply->status != WireStatus::kOk) return WireError(*reply, "cleancached refused the pool");
    uint64_t remote = 0;
    if (ParseOpenPoolReply(reply->body, &remote)) {
      Disconnect();
      return Status::Unavailable("malformed open-pool reply");
    }
    pool.remote = remote;
    pool.generation = generation_;
    if (pool.needs_flush) {
      frame_.clear();
      rid = connection_->NextRequestId();
      EncodePoolOnly(&frame_, Opcode::kFlushPool, rid, remote);
      auto flushed = connection_->Call(frame_, Opcode::kFlushPool, rid);
      if (!flushed.ok() || flushed->status != WireStatus::kOk) {
        if (!flushed.ok()) Disconnect();
        pool.generation = 0;
        return Status::Unavailable("could not flush a shared pool that missed an invalidation");
      }
      pool.needs_flush = false;
    }
    return Status::Ok();
  }

  bool EnsureConnected() {
    if (connection_) return true;
    const auto now = Clock::now();
    if (attempted_ && now - last_attempt_ < std::chrono::milliseconds(options_.reconnect_ms)) return false;
    return Connect().ok();
  }

  Status Connect() {
    attempted_ = true;
    last_attempt_ = Clock::now();
    if (area_.size() == 0) {
      auto area = SharedArea::Create(options_.shared_bytes);
      if (!area.ok()) return area.status();
      area_ = std::move(*area);
    }
    auto conn = DaemonConnection::Connect(options_.socket_path, options_.timeout_ms, &area_,
                                          std::chrono::microseconds(options_.spin_us));
    if (!conn.ok()) return conn.status();
    connection_ = std::move(*conn);
    ++generation_;
    ++connects_;
    connected_ = true;
    return Status::Ok();
  }

  // Also drops the shared area: the daemon may still be running the request
  // we gave up on (it was slow, not gone), reading or writing its pages in
  // the area until it notices the closed socket. Reusing the area would let
  // a late get overwrite pages of a later reply before we copy them out, and
  // a late put store bytes of a later request under its own key. The next
  // connection gets a new area; the old one is freed when the daemon lets go.
  void Disconnect() {
    connection_.reset();
    area_ = SharedArea{};
    next_area_offset_ = 0;
    connected_ = false;
    ++disconnects_;
  }

  const TmemOptions options_;
  std::mutex mutex_;
  std::unique_ptr<DaemonConnection> connection_;
  SharedArea area_;
  std::vector<uint8_t> frame_;
  size_t next_area_offset_ = 0;
  uint64_t generation_ = 0;
  bool attempted_ = false;
  Clock::time_point last_attempt_{};
  std::map<BackendPoolId, LocalPool> pools_;
  BackendPoolId next_local_id_ = 1;

  std::atomic<uint64_t> gets_{0}, hits_{0}, puts_{0}, dropped_puts_{0};
  std::atomic<uint64_t> connects_{0}, disconnects_{0}, lost_invalidations_{0};
  std::atomic<bool> connected_{false};
};

}  // namespace

Result<TmemOptions> TmemOptions::FromSpec(const BackendSpec& spec) {
  if (Status s = spec.CheckKeys({"timeout_ms", "shm", "reconnect_ms", "connect", "spin_us"}); !s.ok()) return s;
  TmemOptions options;
  options.socket_path = spec.location;
  if (options.socket_path.empty() || options.socket_path.front() != '/') {
    return Status::InvalidArgument("tmem: needs an absolute socket path, e.g. tmem:/run/cleancache/tmem.sock");
  }
  if (const std::string* v = spec.Find("timeout_ms")) {
    if (!ParseU32(*v, &options.timeout_ms) || options.timeout_ms == 0 || options.timeout_ms > 600000) {
      return Status::InvalidArgument("tmem: timeout_ms must be an integer in 1..600000");
    }
  }
  if (const std::string* v = spec.Find("reconnect_ms")) {
    if (!ParseU32(*v, &options.reconnect_ms) || options.reconnect_ms > 600000) {
      return Status::InvalidArgument("tmem: reconnect_ms must be an integer in 0..600000");
    }
  }
  if (const std::string* v = spec.Find("spin_us")) {
    if (!ParseU32(*v, &options.spin_us) || options.spin_us > 10000) {
      return Status::InvalidArgument("tmem: spin_us must be an integer in 0..10000");
    }
  }
  if (const std::string* v = spec.Find("shm")) {
    auto size = ParseSize(*v);
    if (!size.ok() || *size < 65536 || *size > (256ull << 20)) {
      return Status::InvalidArgument("tmem: shm must be a size in 64K..256M");
    }
    options.shared_bytes = *size;
  }
  if (const std::string* v = spec.Find("connect")) {
    if (*v == "now")
      options.connect_now = true;
    else if (*v == "lazy")
      options.connect_now = false;
    else
      return Status::InvalidArgument("tmem: connect must be now or lazy");
  }
  return options;
}

Result<std::unique_ptr<Backend>> NewTmemBackend(const TmemOptions& options) {
  auto backend = std::make_unique<TmemBackend>(options);
  if (options.connect_now) {
    if (Status s = backend->ConnectNow(); !s.ok()) return s;
  }
  return std::unique_ptr<Backend>(std::move(backend));
}

BackendScheme TmemScheme() { return OptionsScheme<TmemOptions, &NewTmemBackend>("tmem"); }

}  // namespace cleancache::daemon
