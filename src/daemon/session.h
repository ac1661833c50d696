// Session: the daemon's side of one client connection. Turns validated
// requests (protocol.h) into calls on the client's tenant store or on shared
// pools, and owns everything the connection holds: its shared area, its pools
// and its tenant reference. Destroying a session (the client closed, died, or
// broke the protocol) closes its private pools, freeing their pages, and
// leaves its shared pools.
//
// Isolation: pool ids on the wire are looked up in this session's own table
// only, so no client can name another's private pool; ids come from one
// daemon-wide counter and are never reused while the daemon runs.
// Memory per session is bounded: the shared area (<= max_shared_bytes), the
// pool table (<= max_pools_per_client) and one reply buffer.
// Not thread-safe: one connection thread drives a session.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "daemon/daemon_config.h"
#include "daemon/governor.h"
#include "daemon/peer_identity.h"
#include "daemon/shared_pool_registry.h"
#include "tmem/protocol.h"
#include "tmem/shared_area.h"

namespace cleancache::daemon {

// What every session of one daemon shares.
struct DaemonContext {
  const LiveConfig& config;
  Governor& governor;
  SharedPoolRegistry& shared_pools;
  uint64_t epoch = 0;
  std::atomic<uint64_t>& next_pool_id;
  std::function<std::string()> stats_json;
  // Puts the daemon could not give to any store (the pool is not open in the
  // session, e.g. after the store refused to reopen a flushed pool).
  std::atomic<uint64_t>& refused_puts;
};

class Session {
 public:
  Session(DaemonContext& context, PeerIdentity peer, uint64_t session_id);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const PeerIdentity& peer() const { return peer_; }

  // Handles one request and appends the reply frame to `reply`. `passed_fd`
  // is the descriptor that came with the request (or -1); the session takes
  // it. Returns false (with `*error`) when the client broke the protocol and
  // the connection must close; refusals the client can handle (unknown pool,
  // not authorised) are error replies instead.
  bool Handle(const Request& request, int passed_fd, std::vector<uint8_t>* reply, std::string* error);

 private:
  struct Pool {
    std::shared_ptr<Tenant> tenant;  // private: the session's tenant; shared: the pool's
    std::shared_ptr<SharedPool> shared;
    BackendPoolId backend_pool = 0;
    uint32_t page_size = 0;
    BackendPoolId backend_id() const { return shared ? shared->pool.load() : backend_pool; }
  };

  bool HandleHello(const Request& r, int passed_fd, std::vector<uint8_t>* reply, std::string* error);
  void HandleOpenPool(const Request& r, std::vector<uint8_t>* reply);
  bool HandlePages(const Request& r, std::vector<uint8_t>* reply, std::string* error);
  void ClosePool(Pool& pool);
  // The session's pool `r.pool`, or end() after appending a NotFound reply.
  std::map<uint64_t, Pool>::iterator FindPool(const Request& r, std::vector<uint8_t>* reply);
  Result<std::shared_ptr<Tenant>> OwnTenant();

  DaemonContext& context_;
  const PeerIdentity peer_;
  const uint64_t session_id_;
  bool greeted_ = false;
  SharedArea area_;
  std::shared_ptr<Tenant> tenant_;  // acquired with the first private pool
  std::map<uint64_t, Pool> pools_;
};

}  // namespace cleancache::daemon
