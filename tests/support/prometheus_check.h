// Test helpers for Prometheus text: an HTTP GET over loopback and a checker
// of the exposition format (0.0.4) that reads the text line by line, so the
// daemon's and the mount's endpoints are validated as a scraper would.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace cleancache::testing {

struct HttpReply {
  int status = 0;  // 0: no answer
  std::string content_type;
  std::string body;
};

// GET http://127.0.0.1:PORT/PATH, HTTP/1.0, the whole answer.
inline HttpReply HttpGet(uint16_t port, const std::string& path) {
  HttpReply reply;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return reply;
  }
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  (void)!::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) response.append(buf, static_cast<size_t>(n));
  ::close(fd);
  const auto head_end = response.find("\r\n\r\n");
  if (head_end == std::string::npos || !response.starts_with("HTTP/1.")) return reply;
  reply.status = std::atoi(response.c_str() + response.find(' ') + 1);
  std::istringstream head(response.substr(0, head_end));
  for (std::string line; std::getline(head, line);) {
    if (line.size() > 13 && strncasecmp(line.c_str(), "content-type:", 13) == 0) {
      reply.content_type = line.substr(line.find_first_not_of(' ', 13));
      if (!reply.content_type.empty() && reply.content_type.back() == '\r') reply.content_type.pop_back();
    }
  }
  reply.body = response.substr(head_end + 4);
  return reply;
}

// The samples of a valid exposition, by series ("name{labels}" as written),
// or the first error found. Checked: every line is a comment, blank or a
// sample; `# HELP` and `# TYPE` name a valid metric, come once per family and
// before its samples, TYPE is a known type; every sample belongs to a family
// declared before it (histogram/summary suffixes aside); names match
// [a-zA-Z_:][a-zA-Z0-9_:]*; labels are name="value" with escapes \\ \" \n
// only; counters end in _total; values parse as numbers; a series appears once.
struct Exposition {
  std::string error;  // empty: valid
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;  // family -> counter/gauge/...
  double Value(const std::string& series) const {
    auto it = samples.find(series);
    return it == samples.end() ? -1 : it->second;
  }
};

inline Exposition CheckExposition(const std::string& text) {
  Exposition e;
  static const std::regex kName("[a-zA-Z_:][a-zA-Z0-9_:]*");
  static const std::regex kLabelName("[a-zA-Z_][a-zA-Z0-9_]*");
  std::set<std::string> helped;
  std::set<std::string> with_samples;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  auto fail = [&](const std::string& why) {
    e.error = "line " + std::to_string(n) + ": " + why + ": '" + line + "'";
    return e;
  };
  if (!text.empty() && text.back() != '\n') {
    e.error = "the text does not end with a newline";
    return e;
  }
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream words(line.substr(1));
      std::string kind, name;
      words >> kind >> name;
      if (kind != "HELP" && kind != "TYPE") continue;  // a plain comment
      if (!std::regex_match(name, kName)) return fail("bad metric name in " + kind);
      if (with_samples.count(name)) return fail(kind + " after the family's samples");
      if (kind == "HELP") {
        if (!helped.insert(name).second) return fail("second HELP");
      } else {
        std::string type, extra;
        words >> type;
        if (words >> extra) return fail("text after the type");
        if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" && type != "untyped") {
          return fail("unknown type");
        }
        if (!e.types.emplace(name, type).second) return fail("second TYPE");
        if (type == "counter" && !name.ends_with("_total")) return fail("counter not named ..._total");
      }
      continue;
    }
    // name{labels} value [timestamp]
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    const std::string name = line.substr(0, i);
    if (!std::regex_match(name, kName)) return fail("bad metric name");
    std::string series = name;
    if (i < line.size() && line[i] == '{') {
      const size_t open = i++;
      std::set<std::string> label_names;
      while (i < line.size() && line[i] != '}') {
        const size_t eq = line.find('=', i);
        if (eq == std::string::npos) return fail("label without '='");
        const std::string label = line.substr(i, eq - i);
        if (!std::regex_match(label, kLabelName)) return fail("bad label name '" + label + "'");
        if (!label_names.insert(label).second) return fail("label twice");
        if (eq + 1 >= line.size() || line[eq + 1] != '"') return fail("label value not quoted");
        i = eq + 2;
        for (; i < line.size() && line[i] != '"'; ++i) {
          if (line[i] == '\\') {
            if (i + 1 >= line.size() || (line[i + 1] != '\\' && line[i + 1] != '"' && line[i + 1] != 'n')) {
              return fail("bad escape in a label value");
            }
            ++i;
          }
        }
        if (i >= line.size()) return fail("unterminated label value");
        ++i;  // closing quote
        if (i < line.size() && line[i] == ',')
          ++i;
        else if (i < line.size() && line[i] != '}')
          return fail("expected ',' or '}' after a label");
      }
      if (i >= line.size()) return fail("unterminated label set");
      ++i;
      series = line.substr(0, i);
      (void)open;
    }
    if (i >= line.size() || line[i] != ' ') return fail("no value");
    std::istringstream rest(line.substr(i + 1));
    std::string value, timestamp, extra;
    rest >> value >> timestamp >> extra;
    if (!extra.empty()) return fail("text after the timestamp");
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    const bool special = value == "NaN" || value == "+Inf" || value == "-Inf";
    if (value.empty() || (!special && *end != '\0')) return fail("value is not a number");
    if (!timestamp.empty() && timestamp.find_first_not_of("-0123456789") != std::string::npos) {
      return fail("timestamp is not an integer");
    }
    std::string family = name;
    if (!e.types.count(family)) {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (family.ends_with(suffix) && e.types.count(family.substr(0, family.size() - strlen(suffix)))) {
          family = family.substr(0, family.size() - strlen(suffix));
        }
      }
    }
    if (!e.types.count(family)) return fail("sample before its # TYPE");
    if (!helped.count(family)) return fail("sample before its # HELP");
    with_samples.insert(family);
    if (e.types[family] == "counter" && v < 0) return fail("negative counter");
    if (!e.samples.emplace(series, v).second) return fail("series twice");
  }
  return e;
}

}  // namespace cleancache::testing
