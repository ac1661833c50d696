// DaemonConfig: everything `cleancache serve` can be told, and the parser of
// its config file (format documented in docs/DAEMON.md).
//
// File format: lines of `key = value`; `#` starts a comment; sections
// `[tenant NAME]` (NAME = uid:N, gid:N, cgroup:/path or pid:N) and
// `[shared UUID]` hold per-tenant and per-shared-pool settings. Unknown keys,
// bad values and duplicate sections are errors naming the file and line.
// A plain value type; the parse functions are pure (Load reads one file).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "cleancache/backend_spec.h"
#include "cleancache/status.h"

namespace cleancache::daemon {

// What makes two clients one tenant (one share, one set of counters).
enum class TenantBy { kUid, kGid, kCgroup, kProcess };
const char* TenantByName(TenantBy by);

// How the governor shares the capacity (governor.h): `weight` by weighted
// shares (Xen tmem's rule), `curve` by the tenants' miss-ratio curves.
enum class GovernorPolicy { kWeight, kCurve };

struct TenantPolicy {
  uint32_t weight = 1;  // share of capacity = capacity x weight / sum of active weights
  uint64_t cap = 0;     // hard limit on the tenant's real memory; 0 = none
};

struct SharedPoolPolicy {
  // Who may join: "uid:N", "gid:N" or "any". Empty: the creator's uid only.
  std::vector<std::string> allow;
  // With `weight` or `cap` in its section (own_tenant), the pool is its own
  // tenant "shared:UUID" with this policy; otherwise its pages are charged to
  // the tenant of the client that created it (docs/DAEMON.md).
  TenantPolicy policy;
  bool own_tenant = false;
};

struct DaemonConfig {
  std::string socket_path = "/run/cleancache/tmem.sock";
  uint32_t socket_mode = 0666;
  uint64_t capacity = 1ull << 30;  // total real memory over all tenants
  std::string backend = "zcache";  // spec of each tenant's store
  TenantBy tenant_by = TenantBy::kUid;
  TenantPolicy default_tenant;
  std::map<std::string, TenantPolicy> tenants;           // by tenant name
  std::map<std::string, SharedPoolPolicy> shared_pools;  // by canonical uuid
  uint32_t max_clients = 256;
  uint64_t max_shared_bytes = 16ull << 20;  // per connection
  uint32_t max_pools_per_client = 64;
  std::string metrics;             // "127.0.0.1:PORT" (loopback only) or "" = off
  std::string log_level = "info";  // error, warn, info or debug (reloadable)
  GovernorPolicy policy = GovernorPolicy::kWeight;
  double min_share = 0.10;  // curve policy: fraction of the weighted share always kept

  // The policy for a tenant: its own section, else its uid's, else default.
  // "shared:UUID": its [shared UUID] section's, else default.
  TenantPolicy PolicyFor(const std::string& tenant_name, uint32_t uid) const;
};

// What a reload (SIGHUP) may change in a running daemon: tenant and shared
// sections, default_weight, default_cap, max_clients, max_shared_bytes,
// max_pools_per_client and log_level. The rest (socket, socket_mode, capacity, backend,
// tenant_by, metrics) is fixed for the daemon's life.
struct ConfigReload {
  DaemonConfig config;                    // `running` with the reloadable settings of `file`
  std::vector<std::string> applied;       // "max_clients 256 -> 16", "[tenant uid:0] added", ...
  std::vector<std::string> need_restart;  // "capacity 1 GiB -> 2 GiB (needs a restart; kept)"
};
ConfigReload MergeReload(const DaemonConfig& running, const DaemonConfig& file);

// The config a running daemon goes by, replaced whole on a reload and read by
// connection threads. Thread safety: all methods may be called concurrently.
class LiveConfig {
 public:
  explicit LiveConfig(DaemonConfig config) : current_(std::make_shared<const DaemonConfig>(std::move(config))) {}
  std::shared_ptr<const DaemonConfig> Get() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  void Set(DaemonConfig config) {
    auto fresh = std::make_shared<const DaemonConfig>(std::move(config));
    std::lock_guard lock(mutex_);
    current_ = std::move(fresh);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const DaemonConfig> current_;
};

const char* GovernorPolicyName(GovernorPolicy policy);
// `policy` and `min_share` values; `where` prefixes the message.
Status ParseGovernorPolicy(std::string_view value, GovernorPolicy* policy, const std::string& where);
Status ParseMinShare(std::string_view value, double* share, const std::string& where);

// Applies `text` (config file syntax) on top of `*config`.
Status ParseDaemonConfig(std::string_view text, std::string_view origin, DaemonConfig* config);
Status LoadDaemonConfig(const std::string& path, DaemonConfig* config);
// The checks that need the whole config: a store of the backend spec can be
// made at the capacity and at every cap (e.g. a zcache capacity within the
// machine's memory, caps of at least 512K). What `serve` runs before starting
// and a reload before applying.
Status CheckDaemonConfig(const DaemonConfig& config);

// The spec of a tenant's store of `capacity` bytes: `spec` with the capacity
// of its zcache part (a tier's local part) set to it, overriding any given.
BackendSpec StoreSpec(BackendSpec spec, uint64_t capacity);

}  // namespace cleancache::daemon
