// Logging of the long-running commands (`cleancache mount`, `cleancache
// serve`): a level and a target, chosen by --log-level and --log (and the
// daemon's config file). Command-line errors are not logged here: they go to
// stderr for the user at the terminal (commands.h).
//
// Targets: stderr; syslog (the local syslog daemon, or journald's syslog
// socket); journal (sd-journal, with the level as the entry's PRIORITY);
// file:PATH (appended, one timestamped line each: the testable target); auto
// = the journal when systemd started the process (JOURNAL_STREAM or
// INVOCATION_ID in the environment), syslog once the process runs in the
// background, stderr otherwise. Every line carries its level and the
// process's identity ("cleancache-mount /mnt/data", "cleancached").
//
// Loggers are made here and passed down explicitly; nothing is registered in
// spdlog's global registry. A background mount starts with stderr (errors
// before "mounted" reach the terminal) and switches to its background target
// once mounted (SwitchSink), when its stderr goes to /dev/null.
#pragma once

#include <spdlog/logger.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "cleancache/status.h"

namespace cleancache::cli {

enum class LogTarget { kAuto, kStderr, kSyslog, kJournal, kFile };

struct LogSettings {
  LogTarget target = LogTarget::kAuto;
  std::string file;  // kFile: the path
  spdlog::level::level_enum level = spdlog::level::info;
};

// "stderr", "syslog", "journal", "auto" or "file:PATH" (PATH absolute, or
// relative to the working directory at start). InvalidArgument names the choices.
Status ParseLogTarget(std::string_view text, LogSettings* settings);
// "error", "warn", "info" or "debug".
Status ParseLogLevel(std::string_view text, LogSettings* settings);
const char* LogTargetName(LogTarget target);

// What `requested` means for a process in the background or not, with the
// environment read through `getenv` (a parameter for tests). Never kAuto.
using GetEnv = std::function<const char*(const char*)>;
LogTarget ResolveLogTarget(LogTarget requested, bool background, const GetEnv& getenv);

// A sink for a resolved target. `identity` is the syslog/journal identifier.
// A file that cannot be opened is an IOError naming it.
Result<spdlog::sink_ptr> MakeLogSink(LogTarget resolved, const LogSettings& settings, const std::string& identity);

// A logger named `name` (shown on every line) writing to `sink`, at
// `settings.level`, flushing every line. Its sink can be replaced later with
// SwitchSink (from any thread: lines logged meanwhile go to one or the other).
std::shared_ptr<spdlog::logger> MakeLogger(const std::string& name, spdlog::sink_ptr sink, const LogSettings& settings);
void SwitchSink(spdlog::logger& logger, spdlog::sink_ptr sink);

}  // namespace cleancache::cli
