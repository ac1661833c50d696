// The backend spec parser (grammar in cleancache/backend_spec.h). Every error
// quotes the whole spec and names the part that is wrong.
#include "cleancache/spec_parser.h"

#include <algorithm>
#include <cctype>

namespace cleancache {
namespace {

constexpr std::string_view kGrammar =
    "zcache[:key=value,...], memcached://host:port[,host:port...][?key=value&...], "
    "tmem:/path/to/socket[?key=value&...], tier:<spec>+<spec>";

bool IsSchemeChar(char c) {
  return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_';
}
bool IsKeyChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'; }

class Parser {
 public:
  explicit Parser(std::string_view whole) : whole_(whole) {}

  Status Error(const std::string& problem) const {
    return Status::InvalidArgument("backend spec '" + std::string(whole_) + "': " + problem);
  }

  Result<BackendSpec> Parse(std::string_view text, bool allow_tier) const {
    if (text.empty()) return Error("empty spec (expected one of: " + std::string(kGrammar) + ")");
    const size_t colon = text.find(':');
    const std::string_view scheme = text.substr(0, colon);
    const bool scheme_ok = !scheme.empty() && std::islower(static_cast<unsigned char>(scheme.front())) &&
                           std::all_of(scheme.begin(), scheme.end(), IsSchemeChar);
    if (!scheme_ok) {
      std::string message = "'";
      message.append(scheme).append("' is not a backend scheme (expected one of: ").append(kGrammar).append(")");
      return Error(message);
    }
    BackendSpec spec;
    spec.text = std::string(text);
    spec.scheme = std::string(scheme);
    const std::string_view rest = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
    const bool has_colon = colon != std::string_view::npos;
    Status status;
    if (scheme == "zcache") {
      status = ParseZcache(rest, has_colon, &spec);
    } else if (scheme == "memcached") {
      status = ParseMemcached(rest, &spec);
    } else if (scheme == "tmem") {
      status = ParseTmem(rest, &spec);
    } else if (scheme == "tier") {
      if (!allow_tier)
        return Error("nested tier '" + std::string(text) +
                     "' is not supported: a tier part must be zcache, memcached or tmem");
      status = ParseTier(rest, &spec);
    } else {
      return Error("unknown scheme '" + std::string(scheme) + "' (known schemes: zcache, memcached, tmem, tier)");
    }
    if (!status.ok()) return status;
    return spec;
  }

 private:
  Status ParseZcache(std::string_view rest, bool has_colon, BackendSpec* spec) const {
    if (!has_colon) return Status::Ok();
    if (rest.starts_with("//")) return Error("zcache takes options as zcache:key=value,... and no address");
    if (rest.empty()) return Error("nothing after 'zcache:' (expected zcache:key=value,...)");
    return ParseOptions(rest, ',', "zcache", spec);
  }

  Status ParseMemcached(std::string_view rest, BackendSpec* spec) const {
    if (!rest.starts_with("//")) return Error("expected memcached://host:port[,host:port...][?key=value&...]");
    rest.remove_prefix(2);
    const size_t question = rest.find('?');
    const std::string_view servers = rest.substr(0, question);
    if (servers.empty()) return Error("no memcached server given (expected memcached://host:port)");
    size_t start = 0;
    while (true) {
      const size_t comma = servers.find(',', start);
      const std::string_view server = servers.substr(start, comma == std::string_view::npos ? comma : comma - start);
      if (Status status = CheckServer(server); !status.ok()) return status;
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    spec->location = std::string(servers);
    if (question == std::string_view::npos) return Status::Ok();
    return ParseQuery(rest.substr(question + 1), "memcached", spec);
  }

  Status CheckServer(std::string_view server) const {
    if (server.empty()) return Error("empty memcached server in the server list");
    std::string_view host, port;
    if (server.front() == '[') {  // [ipv6]:port
      const size_t close = server.find(']');
      if (close == std::string_view::npos) return Error("memcached server '" + std::string(server) + "': missing ']'");
      host = server.substr(1, close - 1);
      if (close + 1 >= server.size() || server[close + 1] != ':') {
        return Error("memcached server '" + std::string(server) + "' needs a port ([address]:port)");
      }
      port = server.substr(close + 2);
    } else {
      const size_t colon = server.find(':');
      if (colon == std::string_view::npos) {
        return Error("memcached server '" + std::string(server) + "' needs a port (host:port)");
      }
      host = server.substr(0, colon);
      port = server.substr(colon + 1);
      if (port.find(':') != std::string_view::npos) {
        return Error("memcached server '" + std::string(server) + "': write IPv6 addresses as [address]:port");
      }
    }
    if (host.empty()) return Error("memcached server '" + std::string(server) + "' has an empty host");
    const bool digits = !port.empty() && port.size() <= 5 && std::all_of(port.begin(), port.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c));
    });
    const int number = digits ? std::stoi(std::string(port)) : 0;
    if (number < 1 || number > 65535) {
      return Error("memcached server '" + std::string(server) + "': port '" + std::string(port) +
                   "' is not a number from 1 to 65535");
    }
    return Status::Ok();
  }

  Status ParseTmem(std::string_view rest, BackendSpec* spec) const {
    const size_t question = rest.find('?');
    const std::string_view path = rest.substr(0, question);
    if (path.empty()) return Error("tmem needs the daemon's socket path (expected tmem:/path/to/socket)");
    if (path.front() != '/') {
      return Error("tmem socket path '" + std::string(path) + "' must be absolute (expected tmem:/path/to/socket)");
    }
    spec->location = std::string(path);
    if (question == std::string_view::npos) return Status::Ok();
    return ParseQuery(rest.substr(question + 1), "tmem", spec);
  }

  // A '+' starts a new part when what follows it looks like the start of a
  // spec (a scheme followed by ':', '+' or the end) or is empty; otherwise it
  // belongs to the current part (e.g. a '+' inside a socket path).
  static bool StartsPart(std::string_view after) {
    size_t i = 0;
    while (i < after.size() && IsSchemeChar(after[i])) ++i;
    if (i == 0) return after.empty() || after.front() == '+';
    return i == after.size() || after[i] == ':' || after[i] == '+';
  }

  Status ParseTier(std::string_view rest, BackendSpec* spec) const {
    std::vector<std::string_view> parts;
    size_t start = 0;
    for (size_t i = 0; i < rest.size(); ++i) {
      if (rest[i] == '+' && StartsPart(rest.substr(i + 1))) {
        parts.push_back(rest.substr(start, i - start));
        start = i + 1;
      }
    }
    parts.push_back(rest.substr(start));
    if (parts.size() < 2) {
      return Error("tier needs at least two specs joined by '+' (expected tier:<spec>+<spec>)");
    }
    for (size_t i = 0; i < parts.size(); ++i) {
      if (parts[i].empty()) return Error("tier part " + std::to_string(i + 1) + " is empty");
      Result<BackendSpec> part = Parse(parts[i], /*allow_tier=*/false);
      if (!part.ok()) return part.status();
      spec->tiers.push_back(std::move(part.value()));
    }
    return Status::Ok();
  }

  Status ParseQuery(std::string_view query, std::string_view scheme, BackendSpec* spec) const {
    if (query.empty()) return Error("nothing after '?' (expected key=value&...)");
    return ParseOptions(query, '&', scheme, spec);
  }

  Status ParseOptions(std::string_view list, char separator, std::string_view scheme, BackendSpec* spec) const {
    size_t start = 0;
    while (true) {
      const size_t end = list.find(separator, start);
      const std::string_view item = list.substr(start, end == std::string_view::npos ? end : end - start);
      if (item.empty()) {
        return Error(std::string("empty option (a stray '") + separator + "') in the " + std::string(scheme) +
                     " options");
      }
      const size_t equals = item.find('=');
      if (equals == std::string_view::npos) {
        return Error("option '" + std::string(item) + "' has no value (expected key=value)");
      }
      const std::string_view key = item.substr(0, equals);
      const std::string_view value = item.substr(equals + 1);
      if (key.empty()) return Error("option '" + std::string(item) + "' has no key (expected key=value)");
      if (!std::all_of(key.begin(), key.end(), IsKeyChar)) {
        return Error("option key '" + std::string(key) + "' may only hold letters, digits, '_', '-' and '.'");
      }
      if (value.empty()) return Error("option '" + std::string(key) + "' has an empty value");
      if (spec->Find(key) != nullptr) return Error("option '" + std::string(key) + "' is given twice");
      spec->options.emplace_back(std::string(key), std::string(value));
      if (end == std::string_view::npos) return Status::Ok();
      start = end + 1;
    }
  }

  std::string_view whole_;
};

}  // namespace

const std::string* BackendSpec::Find(std::string_view key) const {
  for (const auto& [name, value] : options) {
    if (name == key) return &value;
  }
  return nullptr;
}

Status BackendSpec::CheckKeys(std::initializer_list<std::string_view> known) const {
  for (const auto& [name, value] : options) {
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    std::string valid;
    for (std::string_view k : known) valid += (valid.empty() ? "" : ", ") + std::string(k);
    return Status::InvalidArgument("backend spec '" + text + "': unknown option '" + name + "' for " + scheme +
                                   " (valid: " + (valid.empty() ? "none" : valid) + ")");
  }
  return Status::Ok();
}

Result<BackendSpec> ParseBackendSpec(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  Parser parser(text);
  for (size_t i = 0; i < text.size(); ++i) {
    if (std::isspace(static_cast<unsigned char>(text[i])) || std::iscntrl(static_cast<unsigned char>(text[i]))) {
      return parser.Error("whitespace or control character at position " + std::to_string(i + 1));
    }
  }
  return parser.Parse(text, /*allow_tier=*/true);
}

}  // namespace cleancache
