// The mount's pool under observation: its backend wrapped in an
// ObservedBackend (the always-on miss-ratio curve behind the "sizing"
// section of `cleancache stats`, and `--trace FILE`). Two calls, so the
// mount's setup only gains a line each.
#pragma once

#include <memory>

#include <nlohmann/json.hpp>

#include "cleancache/observed_backend.h"
#include "cleancache/status.h"
#include "fuse/mount_options.h"

namespace cleancache::fuse {

// Wraps `backend`; with options.trace_path opens (truncates) the trace,
// bounded by options.trace_max_bytes (IOError naming the file). Reaching the
// bound logs one line on stderr. `capacity`: the most the backend may hold
// (0: read from its stats when asked).
Result<std::unique_ptr<ObservedBackend>> ObservePool(std::unique_ptr<Backend> backend, const MountOptions& options,
                                                     uint64_t capacity);

// Adds "sizing" (cleancache/sizing_json.h) and, when tracing, "trace"
// ({path, records, dropped, max_bytes, limit_reached}) to a stats object.
void AddObservation(nlohmann::json& stats, const ObservedBackend& observed, const MountOptions& options);

}  // namespace cleancache::fuse
