// SharedPoolRegistry: the daemon's shared pools (joined by UUID), and who may
// join them (Xen tmem's shared-pool authorisation).
//
// A shared pool is accounted as its own tenant, "shared:UUID", with its own
// store, so its pages belong to no single client and leave with its last
// member. Joining is allowed to the peers the config's [shared UUID] `allow`
// list names, or, without such a list, to peers with the creator's uid.
// Thread safety: all methods may be called concurrently.
#pragma once

#include <sys/types.h>

#include <atomic>
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
  uid_t creator_uid = 0;
  uint32_t members = 0;  // guarded by the registry's mutex
};

class SharedPoolRegistry {
 public:
  SharedPoolRegistry(const DaemonConfig& config, Governor& governor) : config_(config), governor_(governor) {}

  // PermissionDenied when the peer may not join; InvalidArgument when the
  // pool exists with another page size.
  Result<std::shared_ptr<SharedPool>> Join(const PeerIdentity& peer, const Uuid& uuid, uint32_t page_size);
  // A member leaves; the last one ends the pool and its pages.
  void Leave(const std::shared_ptr<SharedPool>& pool);
  // Drops every page of the pool (members stay).
  void Flush(SharedPool& pool);

 private:
  bool Allowed(const PeerIdentity& peer, const std::string& uuid, const SharedPool* existing) const;

  const DaemonConfig& config_;
  Governor& governor_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<SharedPool>> pools_;
};

}  // namespace cleancache::daemon
