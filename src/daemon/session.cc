#include "daemon/session.h"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>

#include "cleancache/file_key.h"

namespace cleancache::daemon {
namespace {

void ErrorReply(std::vector<uint8_t>* reply, const Request& r, WireStatus status, const std::string& message) {
  FrameWriter w(reply, r.header.opcode, r.header.request_id, status);
  w.Bytes({reinterpret_cast<const uint8_t*>(message.data()), std::min<size_t>(message.size(), 1024)}).Finish();
}

void EmptyReply(std::vector<uint8_t>* reply, const Request& r) {
  FrameWriter(reply, r.header.opcode, r.header.request_id).Finish();
}

WireStatus ToWire(const Status& s) {
  switch (s.code()) {
    case Status::Code::kPermissionDenied: return WireStatus::kPermissionDenied;
    case Status::Code::kNotFound: return WireStatus::kNotFound;
    case Status::Code::kBusy: return WireStatus::kBusy;
    case Status::Code::kInvalidArgument: return WireStatus::kInvalidArgument;
    default: return WireStatus::kUnavailable;
  }
}

}  // namespace

Session::Session(DaemonContext& context, PeerIdentity peer, uint64_t session_id)
    : context_(context), peer_(std::move(peer)), session_id_(session_id) {}

Session::~Session() {
  for (auto& [id, pool] : pools_) ClosePool(pool);
  if (tenant_) --tenant_->connections;
}

void Session::ClosePool(Pool& pool) {
  if (pool.shared) {
    context_.shared_pools.Leave(pool.shared);
  } else {
    pool.tenant->store().ClosePool(pool.backend_pool);
  }
}

Result<std::shared_ptr<Tenant>> Session::OwnTenant() {
  if (tenant_) return tenant_;
  const auto config = context_.config.Get();
  const std::string name = TenantName(peer_, config->tenant_by);
  auto tenant = context_.governor.Acquire(name, config->PolicyFor(name, peer_.uid), peer_.uid);
  if (!tenant.ok()) return tenant.status();
  tenant_ = *tenant;
  ++tenant_->connections;
  return tenant_;
}

std::map<uint64_t, Session::Pool>::iterator Session::FindPool(const Request& r, std::vector<uint8_t>* reply) {
  auto it = pools_.find(r.pool);
  if (it == pools_.end()) ErrorReply(reply, r, WireStatus::kNotFound, "no such pool in this session");
  return it;
}

bool Session::Handle(const Request& r, int passed_fd, std::vector<uint8_t>* reply, std::string* error) {
  if (r.header.opcode == Opcode::kHello) return HandleHello(r, passed_fd, reply, error);
  if (passed_fd >= 0) ::close(passed_fd);
  if (!greeted_) {
    *error = "first request is not Hello";
    return false;
  }
  switch (r.header.opcode) {
    case Opcode::kOpenPool: HandleOpenPool(r, reply); return true;
    case Opcode::kClosePool:
    case Opcode::kFlushPool: {
      auto it = FindPool(r, reply);
      if (it == pools_.end()) return true;
      Pool& pool = it->second;
      if (r.header.opcode == Opcode::kClosePool) {
        ClosePool(pool);
        pools_.erase(it);
      } else if (pool.shared) {
        context_.shared_pools.Flush(*pool.shared);
      } else {
        PoolConfig config;
        config.page_size = pool.page_size;
        pool.tenant->store().ClosePool(pool.backend_pool);
        auto fresh = pool.tenant->store().OpenPool(config);
        if (!fresh.ok()) {
          pools_.erase(it);
          ErrorReply(reply, r, ToWire(fresh.status()), fresh.status().message());
          return true;
        }
        pool.backend_pool = *fresh;
      }
      EmptyReply(reply, r);
      return true;
    }
    case Opcode::kGetPages:
    case Opcode::kPutPages: return HandlePages(r, reply, error);
    case Opcode::kInvalidatePage:
    case Opcode::kInvalidateInode: {
      auto it = FindPool(r, reply);
      if (it == pools_.end()) return true;
      auto key = FileKey::FromBytes(r.key.type, r.key.view());
      if (!key.ok()) {
        *error = "invalid file key";
        return false;
      }
      Pool& pool = it->second;
      if (r.header.opcode == Opcode::kInvalidatePage) {
        pool.tenant->store().InvalidatePage(pool.backend_id(), *key, r.index);
      } else {
        pool.tenant->store().InvalidateInode(pool.backend_id(), *key);
      }
      ++pool.tenant->counters.invalidations;
      EmptyReply(reply, r);
      return true;
    }
    case Opcode::kStats: {
      // The daemon's statistics plus "you": the tenant this client counts
      // as, so a client finds its own row (the tmem backend's Stats()).
      nlohmann::json stats =
          context_.stats_json ? nlohmann::json::parse(context_.stats_json(), nullptr, false) : nlohmann::json::object();
      if (stats.is_object()) stats["you"] = TenantName(peer_, context_.config.Get()->tenant_by);
      const std::string json = stats.dump();
      if (json.size() > kMaxResponseBody) {
        ErrorReply(reply, r, WireStatus::kUnavailable, "statistics too large for one frame");
        return true;
      }
      FrameWriter w(reply, r.header.opcode, r.header.request_id);
      w.Bytes({reinterpret_cast<const uint8_t*>(json.data()), json.size()}).Finish();
      return true;
    }
    case Opcode::kPing: EmptyReply(reply, r); return true;
    case Opcode::kHello: break;
  }
  *error = "unhandled opcode";
  return false;
}

bool Session::HandleHello(const Request& r, int passed_fd, std::vector<uint8_t>* reply, std::string* error) {
  if (greeted_) {
    if (passed_fd >= 0) ::close(passed_fd);
    *error = "second Hello on one connection";
    return false;
  }
  const uint64_t max_shared_bytes = context_.config.Get()->max_shared_bytes;
  if (r.shared_bytes > max_shared_bytes) {
    if (passed_fd >= 0) ::close(passed_fd);
    ErrorReply(reply, r, WireStatus::kInvalidArgument,
               "shared area of " + std::to_string(r.shared_bytes) + " bytes is above the daemon's limit of " +
                   std::to_string(max_shared_bytes));
    *error = "shared area above the limit";
    return false;
  }
  if (r.shared_bytes > 0) {
    if (passed_fd < 0) {
      *error = "Hello announced a shared area but passed no descriptor";
      return false;
    }
    auto area = SharedArea::Map(passed_fd, r.shared_bytes);
    if (!area.ok()) {
      ErrorReply(reply, r, WireStatus::kInvalidArgument, area.status().message());
      *error = area.status().message();
      return false;
    }
    area_ = std::move(*area);
  } else if (passed_fd >= 0) {
    ::close(passed_fd);
  }
  greeted_ = true;
  FrameWriter w(reply, r.header.opcode, r.header.request_id);
  w.U64(context_.epoch).U64(session_id_).U64(area_.size()).U32(kMaxBatchPages).U32(0).Finish();
  return true;
}

void Session::HandleOpenPool(const Request& r, std::vector<uint8_t>* reply) {
  const uint32_t max_pools = context_.config.Get()->max_pools_per_client;
  if (pools_.size() >= max_pools) {
    ErrorReply(reply, r, WireStatus::kBusy, "pool limit reached (" + std::to_string(max_pools) + " per client)");
    return;
  }
  Pool pool;
  pool.page_size = r.page_size;
  if ((r.pool_flags & kPoolFlagShared) != 0) {
    Uuid uuid;
    uuid.bytes = r.uuid;
    auto shared = context_.shared_pools.Join(peer_, uuid, r.page_size, PoolFlagsKeepOnGet(r.pool_flags),
                                             [this] { return OwnTenant(); });
    if (!shared.ok()) {
      ErrorReply(reply, r, ToWire(shared.status()), shared.status().message());
      return;
    }
    pool.shared = *shared;
    pool.tenant = pool.shared->tenant;
  } else {
    auto tenant = OwnTenant();
    if (!tenant.ok()) {
      ErrorReply(reply, r, ToWire(tenant.status()), tenant.status().message());
      return;
    }
    // A private pool is charged to the client's own tenant, whether or not
    // it keeps pages on get.
    PoolConfig config;
    config.page_size = r.page_size;
    config.keep_on_get = PoolFlagsKeepOnGet(r.pool_flags);
    auto id = (*tenant)->store().OpenPool(config);
    if (!id.ok()) {
      ErrorReply(reply, r, ToWire(id.status()), id.status().message());
      return;
    }
    pool.tenant = *tenant;
    pool.backend_pool = *id;
  }
  const uint64_t wire_id = context_.next_pool_id.fetch_add(1);
  pools_.emplace(wire_id, std::move(pool));
  FrameWriter w(reply, r.header.opcode, r.header.request_id);
  w.U64(wire_id).Finish();
}

bool Session::HandlePages(const Request& r, std::vector<uint8_t>* reply, std::string* error) {
  auto it = FindPool(r, reply);
  if (it == pools_.end()) {
    if (r.header.opcode == Opcode::kPutPages) context_.refused_puts += r.count;
    return true;
  }
  Pool& pool = it->second;
  const uint64_t bytes = uint64_t{r.count} * pool.page_size;
  std::span<uint8_t> pages = area_.Slice(r.area_offset, bytes);
  if (pages.empty()) {
    *error = area_.size() == 0 ? "page request without a shared area" : "page range outside the shared area";
    return false;
  }
  auto key = FileKey::FromBytes(r.key.type, r.key.view());
  if (!key.ok()) {
    *error = "invalid file key";
    return false;
  }
  Tenant& requester = tenant_ ? *tenant_ : *pool.tenant;
  if (r.header.opcode == Opcode::kPutPages) {
    pool.tenant->store().PutPages(pool.backend_id(), *key, r.index, r.count, pages);
    context_.governor.AfterPut(*pool.tenant, r.count);
    EmptyReply(reply, r);
    return true;
  }
  std::array<uint8_t, kMaxBatchPages> hit{};
  const size_t hits =
      pool.tenant->store().GetPages(pool.backend_id(), *key, r.index, r.count, pages, {hit.data(), r.count});
  requester.counters.hits += hits;
  requester.counters.misses += r.count - hits;
  FrameWriter w(reply, r.header.opcode, r.header.request_id);
  w.U32(static_cast<uint32_t>(hits)).U32(r.count).Bytes({hit.data(), r.count}).Finish();
  return true;
}

}  // namespace cleancache::daemon
