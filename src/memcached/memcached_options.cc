// Parsing of "memcached://host:port[,...][?key=value&...]".
#include <charconv>
#include <string>
#include <string_view>

#include "cleancache/memcached_backend.h"

namespace cleancache {
namespace {

Result<uint64_t> ParseNumber(std::string_view what, std::string_view text, uint64_t min, uint64_t max) {
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return Status::InvalidArgument("memcached: " + std::string(what) + " must be a whole number from " +
                                   std::to_string(min) + " to " + std::to_string(max) + ", got '" + std::string(text) +
                                   "'");
  }
  return value;
}

Result<bool> ParseFlag(std::string_view what, std::string_view text) {
  if (text == "1" || text == "on" || text == "true" || text == "yes") return true;
  if (text == "0" || text == "off" || text == "false" || text == "no") return false;
  return Status::InvalidArgument("memcached: " + std::string(what) + " must be 0 or 1, got '" + std::string(text) +
                                 "'");
}

// "host:port" or "[v6addr]:port" (weights come from the `weights` option).
Result<MemcachedServer> ParseServer(std::string_view text) {
  MemcachedServer server;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Status::InvalidArgument("memcached: bad server '" + std::string(text) + "', expected [address]:port");
    }
    server.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return Status::InvalidArgument("memcached: bad server '" + std::string(text) + "', expected host:port");
    }
    server.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  auto port = ParseNumber("port of '" + std::string(text) + "'", port_text, 1, 65535);
  if (!port.ok()) return port.status();
  server.port = static_cast<uint16_t>(*port);
  return server;
}

}  // namespace

Result<MemcachedOptions> MemcachedOptions::FromSpec(const BackendSpec& spec) {
  if (spec.scheme != "memcached") {
    return Status::InvalidArgument("memcached: not a memcached spec: '" + spec.text + "'");
  }
  Status keys = spec.CheckKeys({"timeout", "connect_timeout", "retry", "failure_limit", "connections", "ttl",
                                "insecure_plaintext", "compress", "max_files", "check", "weights"});
  if (!keys.ok()) return keys;

  MemcachedOptions options;
  std::string_view location = spec.location;
  while (!location.empty()) {
    size_t comma = location.find(',');
    auto server = ParseServer(location.substr(0, comma));
    if (!server.ok()) return server.status();
    options.servers.push_back(std::move(*server));
    if (comma == std::string_view::npos) break;
    location.remove_prefix(comma + 1);
    if (location.empty()) return Status::InvalidArgument("memcached: empty server after ',' in '" + spec.text + "'");
  }
  if (options.servers.empty()) {
    return Status::InvalidArgument("memcached: no server in '" + spec.text + "', expected memcached://host:port");
  }

  struct NumberKey {
    const char* key;
    uint64_t min, max;
    uint32_t* target;
  };
  const NumberKey numbers[] = {
      {"timeout", 1, 60000, &options.timeout_ms},     {"connect_timeout", 1, 60000, &options.connect_timeout_ms},
      {"retry", 1, 3600, &options.retry_seconds},     {"failure_limit", 1, 1000, &options.failure_limit},
      {"connections", 1, 1024, &options.connections}, {"ttl", 0, 30 * 24 * 3600, &options.expire_seconds},
  };
  for (const NumberKey& number : numbers) {
    if (const std::string* text = spec.Find(number.key)) {
      auto value = ParseNumber(number.key, *text, number.min, number.max);
      if (!value.ok()) return value.status();
      *number.target = static_cast<uint32_t>(*value);
    }
  }
  if (const std::string* text = spec.Find("weights")) {
    std::string_view list = *text;
    for (size_t i = 0;; ++i) {
      size_t comma = list.find(',');
      if (i == options.servers.size()) {
        return Status::InvalidArgument("memcached: weights lists more entries than the " +
                                       std::to_string(options.servers.size()) + " server(s) in '" + spec.text + "'");
      }
      auto weight = ParseNumber("weight", list.substr(0, comma), 1, 1000);
      if (!weight.ok()) return weight.status();
      options.servers[i].weight = static_cast<uint32_t>(*weight);
      if (comma == std::string_view::npos) {
        if (i + 1 != options.servers.size()) {
          return Status::InvalidArgument("memcached: weights needs one entry per server (" +
                                         std::to_string(options.servers.size()) + "), got " + std::to_string(i + 1));
        }
        break;
      }
      list.remove_prefix(comma + 1);
    }
  }
  if (const std::string* text = spec.Find("max_files")) {
    auto value = ParseNumber("max_files", *text, 16, uint64_t{1} << 32);
    if (!value.ok()) return value.status();
    options.max_tracked_files = *value;
  }
  if (const std::string* text = spec.Find("insecure_plaintext")) {
    auto plaintext = ParseFlag("insecure_plaintext", *text);
    if (!plaintext.ok()) return plaintext.status();
    options.encrypt = !*plaintext;
  }
  if (const std::string* text = spec.Find("check")) {
    auto check = ParseFlag("check", *text);
    if (!check.ok()) return check.status();
    options.check_servers = *check;
  }
  if (const std::string* text = spec.Find("compress")) {
    if (*text == "lz4") {
      options.compress = true;
    } else if (*text == "none") {
      options.compress = false;
    } else {
      return Status::InvalidArgument("memcached: compress must be lz4 or none, got '" + *text + "'");
    }
  }
  return options;
}

BackendScheme MemcachedScheme() { return OptionsScheme<MemcachedOptions, &NewMemcachedBackend>("memcached"); }

}  // namespace cleancache
