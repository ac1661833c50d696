#include "daemon/daemon_config.h"

#include <ini.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "cleancache/backend.h"
#include "cleancache/backend_spec.h"
#include "cleancache/metrics_http.h"

namespace cleancache::daemon {
namespace {

std::string_view Trim(std::string_view s) {
  const auto not_space = s.find_first_not_of(" \t\r");
  if (not_space == std::string_view::npos) return {};
  s.remove_prefix(not_space);
  return s.substr(0, s.find_last_not_of(" \t\r") + 1);
}

template <typename T>
bool ParseNumber(std::string_view text, T* out, int base = 10) {
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, *out, base);
  return ec == std::errc() && p == end && !text.empty();
}

bool ValidTenantName(std::string_view name) {
  uint32_t n = 0;
  if (name.starts_with("uid:")) return ParseNumber(name.substr(4), &n);
  if (name.starts_with("gid:")) return ParseNumber(name.substr(4), &n);
  if (name.starts_with("pid:")) return ParseNumber(name.substr(4), &n);
  if (name.starts_with("cgroup:")) return name.size() > 7 && name[7] == '/';
  return false;
}

bool ValidAllowEntry(std::string_view entry) {
  uint32_t n = 0;
  if (entry == "any") return true;
  if (entry.starts_with("uid:") || entry.starts_with("gid:")) return ParseNumber(entry.substr(4), &n);
  return false;
}

Status ApplyPolicyKey(std::string_view key, std::string_view value, TenantPolicy* policy, const std::string& where) {
  if (key == "weight") {
    if (!ParseNumber(value, &policy->weight) || policy->weight == 0 || policy->weight > 1000000) {
      return Status::InvalidArgument(where + ": weight must be an integer in 1..1000000");
    }
    return Status::Ok();
  }
  if (key == "cap") {
    auto size = ParseSize(value);
    if (!size.ok()) return Status::InvalidArgument(where + ": cap: " + size.status().message());
    policy->cap = *size;
    return Status::Ok();
  }
  return Status::InvalidArgument(where + ": unknown key '" + std::string(key) + "' (valid here: weight, cap)");
}

}  // namespace

const char* TenantByName(TenantBy by) {
  switch (by) {
    case TenantBy::kUid: return "uid";
    case TenantBy::kGid: return "gid";
    case TenantBy::kCgroup: return "cgroup";
    case TenantBy::kProcess: return "process";
  }
  return "?";
}

TenantPolicy DaemonConfig::PolicyFor(const std::string& tenant_name, uint32_t uid) const {
  if (tenant_name.starts_with("shared:")) {
    auto it = shared_pools.find(tenant_name.substr(7));
    return it != shared_pools.end() && it->second.own_tenant ? it->second.policy : default_tenant;
  }
  if (auto it = tenants.find(tenant_name); it != tenants.end()) return it->second;
  if (auto it = tenants.find("uid:" + std::to_string(uid)); it != tenants.end()) return it->second;
  return default_tenant;
}

const char* GovernorPolicyName(GovernorPolicy policy) { return policy == GovernorPolicy::kCurve ? "curve" : "weight"; }

Status ParseGovernorPolicy(std::string_view value, GovernorPolicy* policy, const std::string& where) {
  if (value == "weight") {
    *policy = GovernorPolicy::kWeight;
  } else if (value == "curve") {
    *policy = GovernorPolicy::kCurve;
  } else {
    return Status::InvalidArgument(where + ": policy must be weight or curve");
  }
  return Status::Ok();
}

Status ParseMinShare(std::string_view value, double* share, const std::string& where) {
  // "10%" or "0.1": a fraction of the weighted share, 0..100%.
  std::string text(value);
  const bool percent = !text.empty() && text.back() == '%';
  if (percent) text.pop_back();
  char* end = nullptr;
  const double v = text.empty() ? -1 : std::strtod(text.c_str(), &end);
  const double fraction = percent ? v / 100 : v;
  if (text.empty() || end != text.c_str() + text.size() || !(fraction >= 0 && fraction <= 1)) {
    return Status::InvalidArgument(where + ": min_share must be a fraction in 0..1 or a percentage, e.g. 10%");
  }
  *share = fraction;
  return Status::Ok();
}

namespace {

// One parse: inih splits `key = value` lines and calls Handle with each; the
// reader feeds it the text a line at a time, which is where the line number
// (for messages), `#` comments after a value and section headers are taken
// care of. Section headers are handled in the reader, not through inih, so
// that an empty or repeated section is still checked where it stands.
struct IniParse {
  std::istringstream in;
  std::string origin;
  DaemonConfig* config = nullptr;
  int line_no = 0;
  std::string raw;  // the current line as read
  TenantPolicy* section_policy = nullptr;
  SharedPoolPolicy* section_shared = nullptr;
  Status error;  // the first error we found; nothing is applied after it
  int error_line = 0;

  std::string Where() const { return origin + ":" + std::to_string(line_no); }
  bool Fail(Status s) {
    if (error.ok()) {
      error = std::move(s);
      error_line = line_no;
    }
    return false;
  }
  Status Section(std::string_view line);
  Status Key(std::string_view key, std::string_view value);
};

Status IniParse::Section(std::string_view line) {
  const std::string where = Where();
  if (line.back() != ']') return Status::InvalidArgument(where + ": section header must end with ']'");
  std::string_view inner = Trim(line.substr(1, line.size() - 2));
  const auto space = inner.find(' ');
  const std::string_view kind = inner.substr(0, space);
  const std::string_view name = space == std::string_view::npos ? std::string_view{} : Trim(inner.substr(space));
  section_policy = nullptr;
  section_shared = nullptr;
  if (kind == "tenant") {
    if (!ValidTenantName(name)) {
      return Status::InvalidArgument(where + ": tenant name must be uid:N, gid:N, pid:N or cgroup:/path");
    }
    auto [it, fresh] = config->tenants.try_emplace(std::string(name));
    if (!fresh) return Status::InvalidArgument(where + ": duplicate section [tenant " + std::string(name) + "]");
    section_policy = &it->second;
  } else if (kind == "shared") {
    auto uuid = Uuid::Parse(name);
    if (!uuid.ok()) return Status::InvalidArgument(where + ": [shared UUID]: " + uuid.status().message());
    auto [it, fresh] = config->shared_pools.try_emplace(uuid->ToString());
    if (!fresh) return Status::InvalidArgument(where + ": duplicate section [shared " + std::string(name) + "]");
    section_shared = &it->second;
    section_policy = &it->second.policy;
  } else {
    return Status::InvalidArgument(where + ": unknown section '" + std::string(kind) + "' (valid: tenant, shared)");
  }
  return Status::Ok();
}

Status IniParse::Key(std::string_view key, std::string_view value) {
  const std::string where = Where();
  if (section_shared != nullptr && key == "allow") {
    section_shared->allow.clear();
    std::istringstream entries{std::string(value)};
    std::string entry;
    while (entries >> entry) {
      if (!entry.empty() && entry.back() == ',') entry.pop_back();
      if (entry.empty()) continue;
      if (!ValidAllowEntry(entry)) {
        return Status::InvalidArgument(where + ": allow entry '" + entry + "' must be uid:N, gid:N or any");
      }
      section_shared->allow.push_back(entry);
    }
    return Status::Ok();
  }
  if (section_policy != nullptr) {
    if (Status s = ApplyPolicyKey(key, value, section_policy, where); !s.ok()) return s;
    if (section_shared != nullptr) section_shared->own_tenant = true;
    return Status::Ok();
  }
  if (key == "socket") {
    if (value.empty() || value.front() != '/')
      return Status::InvalidArgument(where + ": socket must be an absolute path");
    config->socket_path = std::string(value);
  } else if (key == "socket_mode") {
    if (!ParseNumber(value, &config->socket_mode, 8) || config->socket_mode > 0777) {
      return Status::InvalidArgument(where + ": socket_mode must be octal, e.g. 0666");
    }
  } else if (key == "capacity") {
    auto size = ParseCapacity(value);
    if (!size.ok() || *size == 0)
      return Status::InvalidArgument(where + ": capacity must be a size above 0 or a share of memory, e.g. 1G or 25%" +
                                     (size.ok() ? std::string() : " (" + size.status().message() + ")"));
    config->capacity = *size;
  } else if (key == "backend") {
    auto spec = ParseAndCheckBackendSpec(value);
    if (!spec.ok()) return Status::InvalidArgument(where + ": backend: " + spec.status().message());
    if (spec->scheme == "tmem") return Status::InvalidArgument(where + ": backend cannot be tmem (the daemon itself)");
    config->backend = std::string(value);
  } else if (key == "tenant_by") {
    if (value == "uid")
      config->tenant_by = TenantBy::kUid;
    else if (value == "gid")
      config->tenant_by = TenantBy::kGid;
    else if (value == "cgroup")
      config->tenant_by = TenantBy::kCgroup;
    else if (value == "process")
      config->tenant_by = TenantBy::kProcess;
    else
      return Status::InvalidArgument(where + ": tenant_by must be uid, gid, cgroup or process");
  } else if (key == "default_weight" || key == "default_cap") {
    if (Status s = ApplyPolicyKey(key.substr(8), value, &config->default_tenant, where); !s.ok()) return s;
  } else if (key == "max_clients") {
    if (!ParseNumber(value, &config->max_clients) || config->max_clients == 0) {
      return Status::InvalidArgument(where + ": max_clients must be a positive integer");
    }
  } else if (key == "max_shared_bytes") {
    auto size = ParseSize(value);
    if (!size.ok() || *size < 65536 || *size > (1ull << 30)) {
      return Status::InvalidArgument(where + ": max_shared_bytes must be a size in 64K..1G");
    }
    config->max_shared_bytes = *size;
  } else if (key == "max_pools_per_client") {
    if (!ParseNumber(value, &config->max_pools_per_client) || config->max_pools_per_client == 0) {
      return Status::InvalidArgument(where + ": max_pools_per_client must be a positive integer");
    }
  } else if (key == "metrics") {
    std::string host;
    uint16_t port = 0;
    if (!value.empty() && value != "off") {
      if (Status s = ParseLoopbackAddress(value, &host, &port); !s.ok())
        return Status::InvalidArgument(where + ": " + s.message());
      config->metrics = std::string(value);
    } else {
      config->metrics.clear();
    }
  } else if (key == "policy") {
    if (Status s = ParseGovernorPolicy(value, &config->policy, where); !s.ok()) return s;
  } else if (key == "min_share") {
    if (Status s = ParseMinShare(value, &config->min_share, where); !s.ok()) return s;
  } else if (key == "log_level") {
    if (value != "error" && value != "warn" && value != "info" && value != "debug")
      return Status::InvalidArgument(where + ": log_level must be error, warn, info or debug");
    config->log_level = std::string(value);
  } else {
    return Status::InvalidArgument(where + ": unknown key '" + std::string(key) +
                                   "' (valid: socket, socket_mode, capacity, backend, tenant_by, default_weight, "
                                   "default_cap, max_clients, max_shared_bytes, max_pools_per_client, metrics, "
                                   "policy, min_share, log_level)");
  }
  return Status::Ok();
}

// ini_reader: the next line for inih, with its `#` comment and leading
// blanks cut (inih would take an indented line for the continuation of the
// previous value). Section headers are handled here and passed on as blank
// lines. nullptr ends the parse: at the end of the text or at an error.
char* ReadIniLine(char* out, int size, void* stream) {
  auto* p = static_cast<IniParse*>(stream);
  if (!p->error.ok() || !std::getline(p->in, p->raw)) return nullptr;
  ++p->line_no;
  std::string_view line = p->raw;
  if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
  line = Trim(line);
  if (!line.empty() && line.front() == '[') {
    if (Status s = p->Section(line); !s.ok()) return p->Fail(std::move(s)), nullptr;
    line = {};
  }
  // inih's line buffer is INI_MAX_LINE (200) bytes with the NUL; a longer
  // line would be cut and its tail read as a line of its own.
  if (line.size() + 2 > static_cast<size_t>(size)) {
    p->Fail(Status::InvalidArgument(p->Where() + ": line longer than " + std::to_string(size - 2) + " characters"));
    return nullptr;
  }
  if (!line.empty()) std::memcpy(out, line.data(), line.size());  // an empty view's data() may be null
  out[line.size()] = '\n';
  out[line.size() + 1] = '\0';
  return out;
}

int HandleIniPair(void* user, const char* /*section*/, const char* name, const char* value) {
  auto* p = static_cast<IniParse*>(user);
  if (!p->error.ok()) return 0;
  Status s = p->Key(name, value);
  return s.ok() ? 1 : p->Fail(std::move(s));
}

}  // namespace

Status ParseDaemonConfig(std::string_view text, std::string_view origin, DaemonConfig* config) {
  IniParse parse;
  parse.in.str(std::string(text));
  parse.origin = std::string(origin);
  parse.config = config;
  const int bad_line = ini_parse_stream(ReadIniLine, &parse, HandleIniPair, &parse);
  // inih goes on after a line it cannot parse (a line neither a section nor
  // `key = value`) and reports the first such line: whichever came first.
  if (bad_line > 0 && (parse.error.ok() || bad_line < parse.error_line)) {
    return Status::InvalidArgument(parse.origin + ":" + std::to_string(bad_line) + ": expected 'key = value'");
  }
  if (!parse.error.ok()) return parse.error;
  if (bad_line < 0) return Status::IOError("config parser: out of memory");
  return Status::Ok();
}

BackendSpec StoreSpec(BackendSpec spec, uint64_t capacity) {
  // A zcache lays out its shards and segments for the capacity it is created
  // with: one created at its default 256M and then set to an 8M cap had
  // 1M-segment shards of 1M each, and refused every put.
  BackendSpec* part = spec.scheme == "tier" && !spec.tiers.empty() ? &spec.tiers.front() : &spec;
  if (part->scheme != "zcache") return spec;
  std::erase_if(part->options, [](const auto& option) { return option.first == "capacity"; });
  part->options.emplace_back("capacity", std::to_string(capacity));
  return spec;
}

Status CheckDaemonConfig(const DaemonConfig& config) {
  auto spec = ParseBackendSpec(config.backend);
  if (!spec.ok()) return Status::InvalidArgument("backend: " + spec.status().message());
  auto check = [&](const std::string& what, uint64_t cap) {
    const uint64_t bytes = cap == 0 ? config.capacity : std::min(cap, config.capacity);
    Status s = CheckBackendSpec(StoreSpec(*spec, bytes));
    return s.ok() ? s : Status::InvalidArgument(what + " " + FormatSize(bytes) + ": " + s.message());
  };
  if (Status s = check("capacity", 0); !s.ok()) return s;
  if (Status s = check("default_cap", config.default_tenant.cap); !s.ok()) return s;
  for (const auto& [name, policy] : config.tenants) {
    if (Status s = check("[tenant " + name + "] cap", policy.cap); !s.ok()) return s;
  }
  for (const auto& [uuid, shared] : config.shared_pools) {
    if (Status s = check("[shared " + uuid + "] cap", shared.policy.cap); !s.ok()) return s;
  }
  return Status::Ok();
}

namespace {

std::string PolicyText(const TenantPolicy& p) {
  return "weight " + std::to_string(p.weight) + ", cap " + (p.cap == 0 ? std::string("none") : FormatSize(p.cap));
}

std::string SharedText(const SharedPoolPolicy& p) {
  std::string allow;
  for (const auto& a : p.allow) allow += (allow.empty() ? "" : " ") + a;
  return "allow [" + allow + "]" + (p.own_tenant ? ", " + PolicyText(p.policy) : ", charged to its creator");
}

template <typename Map, typename Text>
void DiffSections(const std::string& kind, const Map& before, const Map& after, Text text,
                  std::vector<std::string>* out) {
  std::set<std::string> names;
  for (const auto& [name, v] : before) names.insert(name);
  for (const auto& [name, v] : after) names.insert(name);
  for (const std::string& name : names) {
    auto b = before.find(name);
    auto a = after.find(name);
    const std::string section = "[" + kind + " " + name + "] ";
    if (b == before.end())
      out->push_back(section + "added: " + text(a->second));
    else if (a == after.end())
      out->push_back(section + "removed (was " + text(b->second) + ")");
    else if (text(a->second) != text(b->second))
      out->push_back(section + text(b->second) + " -> " + text(a->second));
  }
}

}  // namespace

ConfigReload MergeReload(const DaemonConfig& running, const DaemonConfig& file) {
  ConfigReload r;
  r.config = running;
  auto applied = [&r](const std::string& key, const std::string& before, const std::string& after) {
    if (before != after) r.applied.push_back(key + " " + before + " -> " + after);
  };
  auto fixed = [&r](const std::string& key, const std::string& before, const std::string& after) {
    if (before != after)
      r.need_restart.push_back(key + " " + before + " -> " + after + " (needs a restart; kept " + before + ")");
  };
  applied("default_weight", std::to_string(running.default_tenant.weight), std::to_string(file.default_tenant.weight));
  applied("default_cap", std::to_string(running.default_tenant.cap), std::to_string(file.default_tenant.cap));
  applied("max_clients", std::to_string(running.max_clients), std::to_string(file.max_clients));
  applied("max_shared_bytes", std::to_string(running.max_shared_bytes), std::to_string(file.max_shared_bytes));
  applied("max_pools_per_client", std::to_string(running.max_pools_per_client),
          std::to_string(file.max_pools_per_client));
  applied("log_level", running.log_level, file.log_level);
  DiffSections("tenant", running.tenants, file.tenants, PolicyText, &r.applied);
  DiffSections("shared", running.shared_pools, file.shared_pools, SharedText, &r.applied);
  r.config.default_tenant = file.default_tenant;
  r.config.max_clients = file.max_clients;
  r.config.max_shared_bytes = file.max_shared_bytes;
  r.config.max_pools_per_client = file.max_pools_per_client;
  r.config.log_level = file.log_level;
  r.config.tenants = file.tenants;
  r.config.shared_pools = file.shared_pools;
  fixed("socket", running.socket_path, file.socket_path);
  fixed("socket_mode", std::to_string(running.socket_mode), std::to_string(file.socket_mode));
  fixed("capacity", std::to_string(running.capacity), std::to_string(file.capacity));
  fixed("backend", running.backend, file.backend);
  fixed("tenant_by", TenantByName(running.tenant_by), TenantByName(file.tenant_by));
  fixed("policy", GovernorPolicyName(running.policy), GovernorPolicyName(file.policy));
  fixed("min_share", std::to_string(running.min_share), std::to_string(file.min_share));
  fixed("metrics", running.metrics.empty() ? "off" : running.metrics, file.metrics.empty() ? "off" : file.metrics);
  return r;
}

Status LoadDaemonConfig(const std::string& path, DaemonConfig* config) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read config file '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  return ParseDaemonConfig(text.str(), path, config);
}

}  // namespace cleancache::daemon
