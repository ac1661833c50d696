// `cleancache stats --socket PATH`: fetches a daemon's statistics and renders
// them as a table (global line + one row per tenant) or as pretty JSON.
#pragma once

#include <string>

#include "cleancache/status.h"

namespace cleancache::daemon {

Result<std::string> RenderDaemonStats(const std::string& socket_path, bool json, uint32_t timeout_ms = 5000);

}  // namespace cleancache::daemon
