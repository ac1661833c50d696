// Backend specs, the syntax: the one textual way to name and configure a
// backend, used by every command, the C API and the daemon config. This layer
// only parses; which schemes exist and what their keys mean is up to the
// backends (each parses its own keys from a BackendSpec) and the composition
// layer that knows them all (cleancache/backend_spec.h: CreateBackend).
//
// Grammar (all forms):
//   zcache[:key=value,key=value...]            embedded compressed RAM
//   memcached://host:port[,host:port...][?key=value&key=value...]
//   tmem:/path/to/socket[?key=value...]         the cleancached daemon
//   tier:<spec>+<spec>                         local tier, then remote tier
// Keys are validated by the backend's factory: an unknown key, a bad value or
// an unknown scheme is an InvalidArgument naming the culprit and what is valid.
// Sizes accept a plain byte count or a K/M/G/T suffix (binary: 1K = 1024),
// optionally followed by 'B' or 'iB'. Capacities (zcache's `capacity`, the
// daemon's `capacity`) may also be a share of the memory the process may use,
// as zram-generator's and cachefilesd's sizes: `capacity=25%` (ParseCapacity).
// Pure functions, but for the two that read /proc and /sys (ProcessMemoryLimit,
// ParseCapacity of a share); safe from any thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cleancache/backend.h"
#include "cleancache/status.h"

namespace cleancache {

struct BackendSpec {
  std::string text;                                          // the spec as given
  std::string scheme;                                        // "zcache", "memcached", "tmem", "tier"
  std::string location;                                      // memcached: "h:p,h:p"; tmem: socket path; else ""
  std::vector<std::pair<std::string, std::string>> options;  // in order given
  std::vector<BackendSpec> tiers;                            // tier: the parts

  // Value of `key`, or nullptr.
  const std::string* Find(std::string_view key) const;
  // InvalidArgument naming the first key not in `known`.
  Status CheckKeys(std::initializer_list<std::string_view> known) const;
};

Result<BackendSpec> ParseBackendSpec(std::string_view text);

// "64K", "1G", "512MiB", "4096" -> bytes.
Result<uint64_t> ParseSize(std::string_view text);
// 1073741824 -> "1 GiB"; 1536 -> "1.5 KiB".
std::string FormatSize(uint64_t bytes);

// Where the process's memory limit is read (parameters for tests).
struct MemoryLimitPaths {
  std::string proc_cgroup = "/proc/self/cgroup";
  std::string cgroup_root = "/sys/fs/cgroup";
  std::string meminfo = "/proc/meminfo";
};
struct MemoryLimit {
  uint64_t bytes = 0;
  std::string source;  // "machine", "cgroup v2 /a/b", "cgroup v1 /a/b"
};
// The memory a share is of: the tightest memory cgroup limit over the
// process (v2: memory.max of its group and every parent; v1: the memory
// hierarchy's memory.limit_in_bytes, the same way), or the machine's
// MemTotal when no group is limited or below it. The group comes from
// /proc/self/cgroup ("0::/path" for v2, "N:...memory...:/path" for v1; v2
// wins when both are mounted); a group directory that cannot be found
// (another cgroup namespace) is skipped.
Result<MemoryLimit> ProcessMemoryLimit(const MemoryLimitPaths& paths = {});

// A size (ParseSize), or a share of ProcessMemoryLimit: "25%", "12.5%"
// (above 0, at most 100; rounded down to whole 4 KiB pages).
Result<uint64_t> ParseCapacity(std::string_view text, const MemoryLimitPaths& paths = {});

// What a backend component exports so that the composition layer
// (src/backends) can list it in its table of built-in schemes. `create_part`
// and `check_part` create or check a nested spec through the whole table
// (the tier's parts); other backends ignore them.
struct BackendScheme {
  using CreateFn = Result<std::unique_ptr<Backend>> (*)(const BackendSpec& spec);
  using CheckFn = Status (*)(const BackendSpec& spec);
  std::string_view name;  // the spec's scheme
  Result<std::unique_ptr<Backend>> (*create)(const BackendSpec& spec, CreateFn create_part);
  // Every check `create` makes on the spec, without creating anything.
  Status (*check)(const BackendSpec& spec, CheckFn check_part);
};

// The BackendScheme of a backend configured by `Options::FromSpec(spec)` and
// built by `Make(options)` (which returns the backend or a Result of it).
template <typename Options, auto Make>
constexpr BackendScheme OptionsScheme(std::string_view name) {
  return BackendScheme{
      name,
      [](const BackendSpec& spec, BackendScheme::CreateFn) -> Result<std::unique_ptr<Backend>> {
        Result<Options> options = Options::FromSpec(spec);
        if (!options.ok()) return options.status();
        return Make(options.value());
      },
      [](const BackendSpec& spec, BackendScheme::CheckFn) -> Status { return Options::FromSpec(spec).status(); }};
}

}  // namespace cleancache
