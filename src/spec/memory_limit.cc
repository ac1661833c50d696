// Shares of memory ("capacity=25%"): what the share is of (the process's
// memory cgroup limit, or the machine's memory) and the parsing of one.
#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

#include "cleancache/spec_parser.h"

namespace cleancache {
namespace {

constexpr uint64_t kPage = 4096;
// cgroup v1 reports "no limit" as a page-rounded LLONG_MAX; anything this
// large is no limit.
constexpr uint64_t kNoLimit = uint64_t{1} << 62;

bool ReadText(const std::string& path, std::string* text) {
  std::ifstream in(path);
  if (!in) return false;
  std::ostringstream out;
  out << in.rdbuf();
  *text = out.str();
  return true;
}

bool Exists(const std::string& path) {
  std::ifstream in(path);
  return static_cast<bool>(in);
}

// A limit file's value: bytes, or kNoLimit for "max" or no file.
uint64_t ReadLimit(const std::string& path) {
  std::string text;
  if (!ReadText(path, &text)) return kNoLimit;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return kNoLimit;  // "max"
  return value;
}

// The tightest `file` over `group` and its parents, under `root`.
uint64_t TightestLimit(const std::string& root, std::string group, const char* file) {
  uint64_t tightest = kNoLimit;
  for (;;) {
    const std::string dir = group == "/" ? root : root + group;
    tightest = std::min(tightest, ReadLimit(dir + "/" + file));
    if (group == "/" || group.empty()) break;
    const size_t slash = group.rfind('/');
    group = slash == 0 ? "/" : group.substr(0, slash);
  }
  return tightest;
}

bool HasMemoryController(std::string_view controllers) {
  size_t start = 0;
  while (start <= controllers.size()) {
    size_t comma = controllers.find(',', start);
    if (comma == std::string_view::npos) comma = controllers.size();
    if (controllers.substr(start, comma - start) == "memory") return true;
    start = comma + 1;
  }
  return false;
}

}  // namespace

Result<MemoryLimit> ProcessMemoryLimit(const MemoryLimitPaths& paths) {
  std::string meminfo;
  if (!ReadText(paths.meminfo, &meminfo)) return Status::IOError("cannot read " + paths.meminfo);
  MemoryLimit limit;
  const size_t at = meminfo.find("MemTotal:");
  if (at == std::string::npos) return Status::IOError(paths.meminfo + " has no MemTotal");
  std::istringstream fields(meminfo.substr(at + 9));
  uint64_t kib = 0;
  if (!(fields >> kib) || kib == 0) return Status::IOError(paths.meminfo + ": bad MemTotal");
  limit.bytes = kib * 1024;
  limit.source = "machine";

  std::string cgroups;
  if (!ReadText(paths.proc_cgroup, &cgroups)) return limit;  // no cgroups: the machine
  std::string v1_group, v2_group;
  std::istringstream lines(cgroups);
  for (std::string line; std::getline(lines, line);) {
    // "hierarchy-id:controllers:path"
    const size_t first = line.find(':');
    const size_t second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string group = line.substr(second + 1);
    if (line.compare(0, first, "0") == 0 && controllers.empty()) v2_group = group;
    if (HasMemoryController(controllers)) v1_group = group;
  }
  uint64_t group_limit = kNoLimit;
  std::string source;
  if (!v2_group.empty()) {
    for (const std::string& root : {paths.cgroup_root, paths.cgroup_root + "/unified"}) {
      if (!Exists(root + "/cgroup.controllers")) continue;
      group_limit = TightestLimit(root, v2_group, "memory.max");
      source = "cgroup v2 " + v2_group;
      break;
    }
  }
  if (group_limit >= kNoLimit && !v1_group.empty() && Exists(paths.cgroup_root + "/memory")) {
    group_limit = TightestLimit(paths.cgroup_root + "/memory", v1_group, "memory.limit_in_bytes");
    source = "cgroup v1 " + v1_group;
  }
  if (group_limit < limit.bytes) {
    limit.bytes = group_limit;
    limit.source = source;
  }
  return limit;
}

Result<uint64_t> ParseCapacity(std::string_view text, const MemoryLimitPaths& paths) {
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty() || text.back() != '%') return ParseSize(text);
  const std::string_view number = text.substr(0, text.size() - 1);
  double percent = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), percent);
  if (ec != std::errc() || end != number.data() + number.size() || !(percent > 0) || percent > 100) {
    return Status::InvalidArgument("bad share '" + std::string(text) +
                                   "': expected a percentage above 0 and at most 100, e.g. 25% (of the memory "
                                   "cgroup's limit, or of the machine's memory)");
  }
  auto limit = ProcessMemoryLimit(paths);
  if (!limit.ok()) return Status::IOError("share '" + std::string(text) + "': " + limit.status().message());
  const auto share = static_cast<uint64_t>(static_cast<long double>(limit->bytes) * percent / 100);
  return share / kPage * kPage;
}

}  // namespace cleancache
