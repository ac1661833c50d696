#include "cli/stats_view.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <iterator>
#include <utility>

#include "cleancache/spec_parser.h"

namespace {

using nlohmann::json;

const json& Section(const json& j, const char* name) {
  static const json kEmpty = json::object();
  auto it = j.find(name);
  return it != j.end() && it->is_object() ? *it : kEmpty;
}

uint64_t U(const json& section, const char* key) {
  auto it = section.find(key);
  return it != section.end() && it->is_number() ? it->get<uint64_t>() : 0;
}

// A number or null (unknown).
const json* Number(const json& section, const char* key) {
  auto it = section.find(key);
  return it != section.end() && it->is_number() ? &*it : nullptr;
}

std::string Size(uint64_t bytes) { return cleancache::FormatSize(bytes); }

std::string Count(uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string Percent(const json* ratio) {
  return ratio == nullptr ? std::string("-") : fmt::format("{:.1f} %", 100.0 * ratio->get<double>());
}

// Readable names for the detail sections; a key not listed is shown with its
// underscores as blanks.
struct Label {
  const char* key;
  const char* text;
};
constexpr Label kLabels[] = {
    {"requests", "requests"},
    {"bytes", "bytes"},
    {"bytes_from_cleancache", "from cleancache"},
    {"bytes_from_backing", "from the backing"},
    {"pages_from_primary", "pages from the primary cache"},
    {"pages_from_cleancache", "pages from cleancache"},
    {"pages_from_backing", "pages from the backing"},
    {"bytes_bypassed_racy", "read around the cache (file just changed)"},
    {"gets", "gets"},
    {"hits", "hits"},
    {"misses", "misses"},
    {"puts", "puts"},
    {"invalidations", "invalidations"},
    {"pages_stored", "pages stored"},
    {"original_bytes", "stored, uncompressed"},
    {"compressed_bytes", "stored, compressed"},
    {"compression_ratio", "compression ratio"},
    {"memory_used_bytes", "memory used"},
    {"capacity_bytes", "capacity"},
    {"evictions", "evicted pages"},
    {"same_filled_pages", "same-filled pages"},
    {"stored_uncompressed", "pages kept uncompressed"},
    {"rejected_incompressible", "puts refused: incompressible"},
    {"dropped_puts", "puts dropped"},
    {"pool_id", "pool"},
    {"shared_pool", "shared pool"},
    {"keep_on_get", "keeps pages on a hit"},
    {"shared_mappings", "shared mmap allowed"},
    {"resident_bytes", "resident"},
    {"reserved_bytes", "reserved"},
    {"evicted_pages", "evicted pages (put into cleancache)"},
    {"streaming_reads", "streaming reads"},
    {"pages_not_admitted", "pages not admitted"},
    {"window_pages", "doorkeeper window, pages"},
    {"pending", "pending"},
    {"done", "done"},
    {"dropped_queue_full", "dropped: queue full"},
    {"cancelled_by_changes", "cancelled by writes or changes"},
    {"validator_changes", "files changed behind the mount"},
    {"file_invalidations", "file invalidations"},
    {"getxattr_requests", "getxattr requests"},
    {"mode", "mode"},
    {"events", "events"},
    {"own_events", "own events (ignored)"},
    {"overflows", "queue overflows"},
    {"watched_directories", "watched directories"},
    {"unwatched_directories", "directories not watched"},
    {"inode_invalidations", "inode invalidations"},
    {"entry_invalidations", "entry invalidations"},
    {"stale_opens", "stale opens"},
    {"source", "limit from"},
    {"limit_bytes", "limit"},
    {"unreclaimable_bytes", "unreclaimable"},
    {"others_bytes", "used by others"},
    {"reserve_bytes", "kept for the page cache"},
    {"max_bytes", "most cleancache may take"},
    {"cleancache_capacity_bytes", "cleancache capacity now"},
    {"shrinks", "shrinks"},
    {"grows", "grows"},
    {"sample_errors", "sampling errors"},
    {"memory_for_90pct_bytes", "memory for 90% of the best hit ratio"},
    {"memory_for_95pct_bytes", "memory for 95% of the best hit ratio"},
    {"memory_for_99pct_bytes", "memory for 99% of the best hit ratio"},
    {"best_hit_ratio", "best hit ratio (unlimited memory)"},
    {"hit_ratio_now", "hit ratio at this capacity"},
};

std::string LabelOf(const std::string& key) {
  for (const Label& l : kLabels) {
    if (key == l.key) return l.text;
  }
  std::string text = key;
  for (char& c : text) {
    if (c == '_' || c == '.') c = ' ';
  }
  return text;
}

std::string ValueOf(const std::string& key, const json& v) {
  if (v.is_null()) return "-";
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_string()) return v.get<std::string>();
  const bool ratio = key.find("ratio") != std::string::npos;
  if (ratio && key.find("compression") != std::string::npos) return fmt::format("{:.2f}x", v.get<double>());
  if (ratio) return Percent(&v);
  if (v.is_number_float()) return fmt::format("{:.2f}", v.get<double>());
  if (v.is_number_unsigned() && key.find("bytes") != std::string::npos) return Size(v.get<uint64_t>());
  if (v.is_number_integer()) return Count(v.get<uint64_t>());
  return v.dump();
}

// A section's fields in the order of kLabels (the order people read them
// in), then any field it does not list.
void Details(std::string& out, const json& snapshot, const char* name, const char* title) {
  const json& s = Section(snapshot, name);
  if (s.empty()) return;
  out += fmt::format("\n{}\n", title);
  for (const Label& l : kLabels) {
    if (auto it = s.find(l.key); it != s.end()) out += fmt::format("  {:<42} {}\n", l.text, ValueOf(l.key, *it));
  }
  for (const auto& item : s.items()) {
    const std::string& key = item.key();
    const bool listed =
        std::any_of(std::begin(kLabels), std::end(kLabels), [&](const Label& l) { return key == l.key; });
    if (!listed) out += fmt::format("  {:<42} {}\n", LabelOf(key), ValueOf(key, item.value()));
  }
}

}  // namespace

std::string RenderMountStats(const json& j) {
  const json& mount = Section(j, "mount");
  const json& summary = Section(j, "summary");
  const json& cc = Section(j, "cleancache");
  std::string out = fmt::format("cleancache mount {}  (backing {}, {}, {} primary, pid {})\n",
                                mount.value("mountpoint", std::string("?")), mount.value("backing", std::string("?")),
                                mount.value("backend", std::string("?")), mount.value("primary", std::string("?")),
                                mount.contains("pid") ? mount["pid"].dump() : std::string("?"));
  out += fmt::format("\n  {:<14} {:<12} {} hits, {} misses\n", "hit ratio", Percent(Number(summary, "hit_ratio")),
                     Count(U(cc, "hits")), Count(U(cc, "misses")));
  out += fmt::format("  {:<14} {:<12} read from cleancache instead of the backing ({} read from the backing)\n",
                     "saved", Size(U(summary, "bytes_saved")), Size(U(summary, "bytes_from_backing")));
  const uint64_t used = U(summary, "memory_used_bytes"), capacity = U(summary, "memory_capacity_bytes");
  if (capacity != 0) {
    out += fmt::format("  {:<14} {:<12} of {} ({:.0f} %), {} pages\n", "memory", Size(used), Size(capacity),
                       100.0 * static_cast<double>(used) / static_cast<double>(capacity), Count(U(cc, "pages_stored")));
  } else {
    out += fmt::format("  {:<14} {:<12} (capacity not known to the mount: the backend is remote), {} pages\n", "memory",
                       Size(used), Count(U(cc, "pages_stored")));
  }
  if (const json* ratio = Number(summary, "compression_ratio")) {
    out += fmt::format("  {:<14} {:<12} {} of pages in {}\n", "compression", ValueOf("compression_ratio", *ratio),
                       Size(U(cc, "original_bytes")), Size(U(cc, "compressed_bytes")));
  } else {
    out += fmt::format("  {:<14} {}\n", "compression", "-");
  }
  out += fmt::format("  {:<14} {:<12} pages dropped to make room\n", "evictions", Count(U(summary, "evictions")));
  Details(out, j, "reads", "Reads");
  Details(out, j, "writes", "Writes");
  Details(out, j, "cleancache", "Cleancache");
  Details(out, j, "backend_details", "Backend");
  Details(out, j, "memory", "Memory budget");
  Details(out, j, "primary_cache", "Primary cache");
  Details(out, j, "admission", "Scan admission");
  Details(out, j, "background_puts", "Background puts");
  Details(out, j, "coherency", "Coherency");
  Details(out, j, "watch", "Backing watcher");
  Details(out, j, "sizing", "Sizing (miss-ratio curve)");
  return out;
}

namespace {

// The counters a watch line is made of, from either kind of snapshot.
struct Totals {
  uint64_t hits = 0, misses = 0, puts = 0, evictions = 0;
  uint64_t bytes_from_cleancache = 0, bytes_from_backing = 0, read_bytes = 0;
  uint64_t memory = 0;
  bool mount = false;
};

Totals TotalsOf(const json& j) {
  Totals t;
  if (j.contains("daemon")) {
    const json& d = Section(j, "daemon");
    t.hits = U(d, "hits");
    t.misses = U(d, "misses");
    t.puts = U(d, "puts");
    t.evictions = U(d, "evictions");
    t.memory = U(d, "real_memory_bytes");
    return t;
  }
  const json& cc = Section(j, "cleancache");
  const json& reads = Section(j, "reads");
  t.mount = true;
  t.hits = U(cc, "hits");
  t.misses = U(cc, "misses");
  t.puts = U(cc, "puts");
  t.evictions = U(cc, "evictions");
  t.memory = U(cc, "memory_used_bytes");
  t.bytes_from_cleancache = U(reads, "bytes_from_cleancache");
  t.bytes_from_backing = U(reads, "bytes_from_backing");
  t.read_bytes = U(reads, "bytes");
  return t;
}

// Counters only grow; a smaller value (a restarted daemon) counts as 0.
double Rate(uint64_t before, uint64_t after, double seconds) {
  return after < before || seconds <= 0 ? 0.0 : static_cast<double>(after - before) / seconds;
}

std::string Clock() {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  return fmt::format("{:02}:{:02}:{:02}", local.tm_hour, local.tm_min, local.tm_sec);
}

}  // namespace

std::string WatchHeader(const json& snapshot) {
  if (TotalsOf(snapshot).mount) {
    return fmt::format("{:<8} {:>9} {:>9} {:>6} {:>10} {:>10} {:>10} {:>9} {:>10}\n", "time", "hits/s", "misses/s",
                       "hit%", "read MB/s", "cc MB/s", "back MB/s", "evict/s", "memory");
  }
  return fmt::format("{:<8} {:>9} {:>9} {:>6} {:>9} {:>9} {:>10}\n", "time", "hits/s", "misses/s", "hit%", "puts/s",
                     "evict/s", "memory");
}

std::string WatchLine(const json& before, const json& after, double seconds) {
  const Totals a = TotalsOf(before), b = TotalsOf(after);
  const double hits = Rate(a.hits, b.hits, seconds), misses = Rate(a.misses, b.misses, seconds);
  const std::string ratio = hits + misses == 0 ? "-" : fmt::format("{:.1f}", 100.0 * hits / (hits + misses));
  constexpr double kMB = 1e6;
  if (b.mount) {
    return fmt::format("{:<8} {:>9.0f} {:>9.0f} {:>6} {:>10.1f} {:>10.1f} {:>10.1f} {:>9.0f} {:>10}\n", Clock(), hits,
                       misses, ratio, Rate(a.read_bytes, b.read_bytes, seconds) / kMB,
                       Rate(a.bytes_from_cleancache, b.bytes_from_cleancache, seconds) / kMB,
                       Rate(a.bytes_from_backing, b.bytes_from_backing, seconds) / kMB,
                       Rate(a.evictions, b.evictions, seconds), Size(b.memory));
  }
  return fmt::format("{:<8} {:>9.0f} {:>9.0f} {:>6} {:>9.0f} {:>9.0f} {:>10}\n", Clock(), hits, misses, ratio,
                     Rate(a.puts, b.puts, seconds), Rate(a.evictions, b.evictions, seconds), Size(b.memory));
}
