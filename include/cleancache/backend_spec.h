// Backend specs: the one textual way to name and configure a backend, used by
// every command, the C API and the daemon config.
//
// Grammar (all forms):
//   zcache[:key=value,key=value...]            embedded compressed RAM
//   memcached://host:port[,host:port...][?key=value&key=value...]
//   tmem:/path/to/socket[?key=value...]         the cleancached daemon
//   tier:<spec>+<spec>                         local tier, then remote tier
// Keys are validated by the backend's factory: an unknown key, a bad value or
// an unknown scheme is an InvalidArgument naming the culprit and what is valid.
// Sizes accept a plain byte count or a K/M/G/T suffix (binary: 1K = 1024),
// optionally followed by 'B' or 'iB'.
// Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cleancache/backend.h"
#include "cleancache/status.h"

namespace cleancache {

struct BackendSpec {
  std::string text;      // the spec as given
  std::string scheme;    // "zcache", "memcached", "tmem", "tier"
  std::string location;  // memcached: "h:p,h:p"; tmem: socket path; else ""
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

// Builds the backend a parsed spec names (every backend compiled in).
Result<std::unique_ptr<Backend>> CreateBackend(const BackendSpec& spec);
// Every check CreateBackend makes on the spec's keys and values (sizes,
// ranges, a zcache capacity within the machine's memory, ...), without
// creating anything, connecting anywhere or allocating the cache: what a
// command runs on its input before it starts. The same InvalidArgument
// CreateBackend would return.
Status CheckBackendSpec(const BackendSpec& spec);
// Parse + check.
Result<BackendSpec> ParseAndCheckBackendSpec(std::string_view text);
// Parse + create.
Result<std::unique_ptr<Backend>> CreateBackend(std::string_view text);

// The spec used when the user gives none.
inline constexpr std::string_view kDefaultBackendSpec = "zcache";

}  // namespace cleancache
