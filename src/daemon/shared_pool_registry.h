// SharedPoolRegistry: the daemon's shared pools (joined by UUID), and who may
// join them (Xen tmem's shared-pool authorisation).
//
// Accounting: a shared pool's pages are charged to the tenant of the client
// that created it (they live in that tenant's store and count against its
// share and cap, whoever puts them), so a pool opened as shared only to keep
// pages on get (a kernel-mode mount's, under a random UUID) is limited like
// its creator's private pools. A pool whose [shared UUID] section sets
// `weight` or `cap` is its own tenant "shared:UUID" instead. Either way its
// pages leave with its last member.
// Joining is allowed to the peers the config's [shared UUID] `allow` list
// names, or, without such a list, to peers with the creator's uid.
// Thread safety: all methods may be called concurrently.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "cleancache/backend.h"
#include "daemon/daemon_config.h"
#include "daemon/governor.h"
#include "daemon/peer_identity.h"

namespace cleancache::daemon {

struct SharedPool {
  std::string uuid;
  std::shared_ptr<Tenant> tenant;
  std::atomic<BackendPoolId> pool{0};  // replaced by Flush; stale ids are harmless to a backend
  uint32_t page_size = 0;
  bool keep_on_get = true;
  uid_t creator_uid = 0;
  uint32_t members = 0;  // guarded by the registry's mutex
};

class SharedPoolRegistry {
 public:
  SharedPoolRegistry(const LiveConfig& config, Governor& governor) : config_(config), governor_(governor) {}

  // PermissionDenied when the peer may not join; InvalidArgument when the
  // pool exists with another page size or get mode (keep_on_get).
  // `creator_tenant` is called (under the registry's lock) when the pool is
  // created and charged to its creator.
  Result<std::shared_ptr<SharedPool>> Join(const PeerIdentity& peer, const Uuid& uuid, uint32_t page_size,
                                           bool keep_on_get,
                                           const std::function<Result<std::shared_ptr<Tenant>>()>& creator_tenant);
  // A member leaves; the last one ends the pool and its pages.
  void Leave(const std::shared_ptr<SharedPool>& pool);
  // Drops every page of the pool (members stay).
  void Flush(SharedPool& pool);

 private:
  bool Allowed(const DaemonConfig& config, const PeerIdentity& peer, const std::string& uuid,
               const SharedPool* existing) const;

  const LiveConfig& config_;
  Governor& governor_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<SharedPool>> pools_;
};

}  // namespace cleancache::daemon
