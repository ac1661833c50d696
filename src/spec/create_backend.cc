// CreateBackend: the one place that turns a spec into a backend. Each backend
// component adds a branch here, guarded by its CLEANCACHE_HAVE_<COMPONENT>.
#include <string>

#include "cleancache/backend_spec.h"

#ifdef CLEANCACHE_HAVE_ZCACHE
#include "cleancache/zcache.h"
#endif
#ifdef CLEANCACHE_HAVE_MEMCACHED
#include "cleancache/memcached_backend.h"
#endif
#ifdef CLEANCACHE_HAVE_TIER
#include "cleancache/tier_backend.h"
#endif
#ifdef CLEANCACHE_HAVE_DAEMON
#include "daemon/tmem_backend.h"
#endif

namespace cleancache {
namespace {

// Schemes compiled into this library, for error messages.
std::string BuiltSchemes() {
  std::string list;
  auto add = [&list](const char* scheme) { list += (list.empty() ? "" : ", ") + std::string(scheme); };
#ifdef CLEANCACHE_HAVE_ZCACHE
  add("zcache");
#endif
#ifdef CLEANCACHE_HAVE_MEMCACHED
  add("memcached");
#endif
#ifdef CLEANCACHE_HAVE_DAEMON
  add("tmem");
#endif
#ifdef CLEANCACHE_HAVE_TIER
  add("tier");
#endif
  (void)add;
  return list.empty() ? "none" : list;
}

}  // namespace

Result<std::unique_ptr<Backend>> CreateBackend(const BackendSpec& spec) {
#ifdef CLEANCACHE_HAVE_ZCACHE
  if (spec.scheme == "zcache") {
    Result<ZCacheOptions> options = ZCacheOptions::FromSpec(spec);
    if (!options.ok()) return options.status();
    return NewZCache(options.value());
  }
#endif
#ifdef CLEANCACHE_HAVE_MEMCACHED
  if (spec.scheme == "memcached") {
    Result<MemcachedOptions> options = MemcachedOptions::FromSpec(spec);
    if (!options.ok()) return options.status();
    return NewMemcachedBackend(options.value());
  }
#endif
#ifdef CLEANCACHE_HAVE_TIER
  if (spec.scheme == "tier") {
    if (spec.tiers.size() != 2) {
      return Status::InvalidArgument("backend spec '" + spec.text + "': a tier has exactly two parts (local+remote), got " +
                                     std::to_string(spec.tiers.size()));
    }
    Result<std::unique_ptr<Backend>> local = CreateBackend(spec.tiers[0]);
    if (!local.ok()) return local.status();
    Result<std::unique_ptr<Backend>> remote = CreateBackend(spec.tiers[1]);
    if (!remote.ok()) return remote.status();
    return NewTierBackend(std::move(local.value()), std::move(remote.value()));
  }
#endif
#ifdef CLEANCACHE_HAVE_DAEMON
  if (spec.scheme == "tmem") {
    Result<daemon::TmemOptions> options = daemon::TmemOptions::FromSpec(spec);
    if (!options.ok()) return options.status();
    return daemon::NewTmemBackend(options.value());
  }
#endif
  const bool in_grammar =
      spec.scheme == "zcache" || spec.scheme == "memcached" || spec.scheme == "tmem" || spec.scheme == "tier";
  if (in_grammar) {
    return Status::InvalidArgument("backend spec '" + spec.text + "': the " + spec.scheme +
                                   " backend is not built into this library (built in: " + BuiltSchemes() + ")");
  }
  return Status::InvalidArgument("backend spec '" + spec.text + "': unknown scheme '" + spec.scheme +
                                 "' (known schemes: " + BuiltSchemes() + ")");
}

Status CheckBackendSpec(const BackendSpec& spec) {
#ifdef CLEANCACHE_HAVE_ZCACHE
  if (spec.scheme == "zcache") return ZCacheOptions::FromSpec(spec).status();
#endif
#ifdef CLEANCACHE_HAVE_MEMCACHED
  if (spec.scheme == "memcached") return MemcachedOptions::FromSpec(spec).status();
#endif
#ifdef CLEANCACHE_HAVE_TIER
  if (spec.scheme == "tier") {
    if (spec.tiers.size() != 2) return CreateBackend(spec).status();  // the one message for it
    if (Status s = CheckBackendSpec(spec.tiers[0]); !s.ok()) return s;
    return CheckBackendSpec(spec.tiers[1]);
  }
#endif
#ifdef CLEANCACHE_HAVE_DAEMON
  if (spec.scheme == "tmem") return daemon::TmemOptions::FromSpec(spec).status();
#endif
  return CreateBackend(spec).status();  // a scheme not built in: CreateBackend names it without creating
}

Result<BackendSpec> ParseAndCheckBackendSpec(std::string_view text) {
  Result<BackendSpec> spec = ParseBackendSpec(text);
  if (!spec.ok()) return spec.status();
  if (Status s = CheckBackendSpec(spec.value()); !s.ok()) return s;
  return spec;
}

Result<std::unique_ptr<Backend>> CreateBackend(std::string_view text) {
  Result<BackendSpec> spec = ParseBackendSpec(text);
  if (!spec.ok()) return spec.status();
  return CreateBackend(spec.value());
}

}  // namespace cleancache
