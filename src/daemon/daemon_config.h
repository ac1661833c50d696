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
#include <string>
#include <string_view>
#include <vector>

#include "cleancache/status.h"

namespace cleancache::daemon {

// What makes two clients one tenant (one share, one set of counters).
enum class TenantBy { kUid, kGid, kCgroup, kProcess };
const char* TenantByName(TenantBy by);

struct TenantPolicy {
  uint32_t weight = 1;  // share of capacity = capacity x weight / sum of active weights
  uint64_t cap = 0;     // hard limit on the tenant's real memory; 0 = none
};

struct SharedPoolPolicy {
  // Who may join: "uid:N", "gid:N" or "any". Empty: the creator's uid only.
  std::vector<std::string> allow;
  TenantPolicy policy;  // the pool is accounted as its own tenant "shared:UUID"
};

struct DaemonConfig {
  std::string socket_path = "/run/cleancache/tmem.sock";
  uint32_t socket_mode = 0666;
  uint64_t capacity = 1ull << 30;  // total real memory over all tenants
  std::string backend = "zcache";  // spec of each tenant's store
  TenantBy tenant_by = TenantBy::kUid;
  TenantPolicy default_tenant;
  std::map<std::string, TenantPolicy> tenants;          // by tenant name
  std::map<std::string, SharedPoolPolicy> shared_pools;  // by canonical uuid
  uint32_t max_clients = 256;
  uint64_t max_shared_bytes = 16ull << 20;  // per connection
  uint32_t max_pools_per_client = 64;
  std::string metrics;  // "127.0.0.1:PORT" (loopback only) or "" = off

  // The policy for a tenant: its own section, else its uid's, else default.
  TenantPolicy PolicyFor(const std::string& tenant_name, uint32_t uid) const;
};

// Applies `text` (config file syntax) on top of `*config`.
Status ParseDaemonConfig(std::string_view text, std::string_view origin, DaemonConfig* config);
Status LoadDaemonConfig(const std::string& path, DaemonConfig* config);

// "127.0.0.1:9477" -> host, port; only loopback addresses are accepted.
Status ParseLoopbackAddress(std::string_view text, std::string* host, uint16_t* port);

}  // namespace cleancache::daemon
