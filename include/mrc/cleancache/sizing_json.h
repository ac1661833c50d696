// The "sizing" section of `cleancache stats --json` (a mount's pool and each
// daemon tenant; docs/MRC.md, "Rightsizing"): what the pool's miss-ratio
// curve says about its size. Memory figures are null while nothing was read.
// A pure function; header-only so the layers that print JSON (daemon, fuse)
// share one schema.
#pragma once

#include <nlohmann/json.hpp>

#include "cleancache/observed_backend.h"

namespace cleancache {

inline nlohmann::json SizingJson(const Sizing& s) {
  auto bytes = [](const std::optional<uint64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
  return {{"capacity_bytes", s.capacity_bytes},
          {"reads", s.reads},
          {"best_hit_ratio", s.best_hit_ratio},
          {"hit_ratio_now", s.hit_ratio_now},
          {"memory_for_90pct_bytes", bytes(s.memory_for_90pct_bytes)},
          {"memory_for_95pct_bytes", bytes(s.memory_for_95pct_bytes)},
          {"memory_for_99pct_bytes", bytes(s.memory_for_99pct_bytes)},
          {"bytes_per_page", s.bytes_per_page},
          {"fixed_bytes", s.fixed_bytes},
          {"sampling_rate", s.sampling_rate},
          {"curve_memory_bytes", s.curve_memory_bytes}};
}

}  // namespace cleancache
