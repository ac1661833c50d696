#include <unistd.h>

#include <bit>
#include <charconv>

#include "cleancache/zcache.h"

namespace cleancache {
namespace {

Result<uint32_t> ParseUint(std::string_view key, std::string_view text, uint32_t lo, uint32_t hi) {
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi)
    return Status::InvalidArgument("zcache: " + std::string(key) + "=" + std::string(text) +
                                   ": expected a whole number from " + std::to_string(lo) + " to " +
                                   std::to_string(hi));
  return v;
}

Result<bool> ParseSwitch(std::string_view key, std::string_view text) {
  if (text == "on" || text == "true" || text == "1" || text == "yes") return true;
  if (text == "off" || text == "false" || text == "0" || text == "no") return false;
  return Status::InvalidArgument("zcache: " + std::string(key) + "=" + std::string(text) + ": expected on or off");
}

// Physical memory of the machine (0 if unknown).
uint64_t MachineMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  return pages > 0 && page_size > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size) : 0;
}

}  // namespace

Result<Codec> ParseCodec(std::string_view name) {
  if (name == "lz4") return Codec::kLz4;
  if (name == "zstd") return Codec::kZstd;
  if (name == "none") return Codec::kNone;
  return Status::InvalidArgument("unknown codec '" + std::string(name) + "' (known: lz4, zstd, none)");
}

const char* CodecName(Codec codec) {
  switch (codec) {
    case Codec::kLz4: return "lz4";
    case Codec::kZstd: return "zstd";
    case Codec::kNone: return "none";
  }
  return "?";
}

Result<ZCacheOptions> ZCacheOptions::FromSpec(const BackendSpec& spec) {
  if (spec.scheme != "zcache") return Status::InvalidArgument("not a zcache spec: " + spec.text);
  Status keys = spec.CheckKeys({"capacity", "codec", "level", "threshold", "incompressible", "same_filled", "shards",
                                "segment", "max_fragmentation"});
  if (!keys.ok()) return keys;
  ZCacheOptions o;
  for (const auto& [key, value] : spec.options) {
    if (key == "capacity") {
      auto size = ParseCapacity(value);  // a size or a share: 25%
      if (!size.ok()) return Status::InvalidArgument("zcache: capacity: " + size.status().message());
      if (*size < (512u << 10))
        return Status::InvalidArgument("zcache: capacity " + value + " is below the minimum of 512K");
      // A capacity is a promise of memory: one the machine cannot keep is a
      // typo (99999T for 99999M), not a wish to be trimmed silently.
      if (const uint64_t ram = MachineMemoryBytes(); ram != 0 && *size > ram) {
        return Status::InvalidArgument("zcache: capacity " + value + " (" + FormatSize(*size) +
                                       ") is more than this machine's memory (" + FormatSize(ram) + ")");
      }
      o.capacity = *size;
    } else if (key == "codec") {
      auto codec = ParseCodec(value);
      if (!codec.ok()) return Status::InvalidArgument("zcache: " + codec.status().message());
      o.codec = *codec;
    } else if (key == "level") {
      auto level = ParseUint(key, value, 0, 22);
      if (!level.ok()) return level.status();
      o.level = static_cast<int>(*level);
    } else if (key == "threshold") {
      std::string_view v = value;
      if (!v.empty() && v.back() == '%') v.remove_suffix(1);
      auto pct = ParseUint(key, v, 10, 100);
      if (!pct.ok()) return pct.status();
      o.threshold_percent = *pct;
    } else if (key == "incompressible") {
      if (value == "raw")
        o.store_incompressible = true;
      else if (value == "reject")
        o.store_incompressible = false;
      else
        return Status::InvalidArgument("zcache: incompressible=" + value + ": expected raw or reject");
    } else if (key == "same_filled") {
      auto on = ParseSwitch(key, value);
      if (!on.ok()) return on.status();
      o.same_filled = *on;
    } else if (key == "shards") {
      auto n = ParseUint(key, value, 1, 256);
      if (!n.ok()) return n.status();
      if (!std::has_single_bit(*n))
        return Status::InvalidArgument("zcache: shards=" + value + ": must be a power of two");
      o.shards = *n;
    } else if (key == "segment") {
      auto size = ParseSize(value);
      if (!size.ok() || *size < (64u << 10) || *size > (16u << 20) || !std::has_single_bit(*size))
        return Status::InvalidArgument("zcache: segment=" + value + ": expected a power of two from 64K to 16M");
      o.segment_bytes = static_cast<uint32_t>(*size);
    } else if (key == "max_fragmentation") {
      std::string_view v = value;
      if (!v.empty() && v.back() == '%') v.remove_suffix(1);
      auto pct = ParseUint(key, v, 5, 90);
      if (!pct.ok()) return pct.status();
      o.max_fragmentation_percent = *pct;
    }
  }
  return o;
}

BackendScheme ZCacheScheme() { return OptionsScheme<ZCacheOptions, &NewZCache>("zcache"); }

}  // namespace cleancache
