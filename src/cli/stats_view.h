// What `cleancache stats` shows people: pure functions from the JSON a mount
// or a daemon sends (docs/STATS.md) to text, so they are tested with
// hand-made snapshots. Fields they do not know are shown under readable
// names rather than dropped; fields missing (an older mount) are skipped.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

// The one-shot view of a mount: the headline figures first (hit ratio,
// bytes served from cleancache instead of the backing, memory used of the
// capacity, compression, evictions), then the details by section, then the
// miss-ratio sizing when the snapshot has it.
std::string RenderMountStats(const nlohmann::json& snapshot);

// `--watch`: the column header, and one line of per-second rates between two
// snapshots `seconds` apart (mount or daemon snapshots, not mixed).
std::string WatchHeader(const nlohmann::json& snapshot);
std::string WatchLine(const nlohmann::json& before, const nlohmann::json& after, double seconds);
