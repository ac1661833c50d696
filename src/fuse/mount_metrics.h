// The mount's Prometheus text (`cleancache mount --metrics ADDRESS`), made
// from the same snapshot `cleancache stats --json` prints (docs/STATS.md), so
// the two never disagree. Metric names and meanings: docs/STATS.md,
// "Prometheus metrics". A pure function of its input.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace cleancache::fuse {

std::string MountMetricsText(const nlohmann::json& snapshot);

}  // namespace cleancache::fuse
