// Subcommands of the `cleancache` executable. Each lives in its own
// <name>_command.cc (picked up by src/cli/CMakeLists.txt automatically) and
// registers itself on the top-level app. A command reports failure by printing
// a clear message to stderr and throwing CLI::RuntimeError(exit_code), which
// main() turns into the process exit code without printing anything more.
//
// Exit codes, the same in every subcommand:
//   0  success
//   1  a runtime failure: the input was valid, but the work failed (a daemon
//      that cannot be reached or started, a mount that fails, a data mismatch)
//   2  bad input: a bad backend spec (syntax, key or value), a bad option
//      value, a missing or unknown argument or option (CLI11's parse errors
//      included), a bad config file
// Input is checked in full before anything is started, mounted or created.
// A command that needs an optional component wraps its file body and its line
// in main.cc in `#ifdef CLEANCACHE_HAVE_<COMPONENT>`.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadInput = 2;

// Prints "cleancache COMMAND: MESSAGE" to stderr and exits with `exit_code`.
[[noreturn]] void FailCommand(const char* command, int exit_code, const std::string& message);

void AddBenchCommand(CLI::App& app);
#ifdef CLEANCACHE_HAVE_FUSE
void AddMountCommand(CLI::App& app);  // mount and umount
#endif
void AddStatsCommand(CLI::App& app);
void AddVersionCommand(CLI::App& app);  // `cleancache version`
// "cleancache VERSION (revision REV)" and the components built, what
// `--version` and `cleancache version` print.
std::string VersionText();
#ifdef CLEANCACHE_HAVE_MRC
void AddReplayCommand(CLI::App& app);  // trace replay vs miss-ratio curve (src/mrc)
#endif
#ifdef CLEANCACHE_HAVE_DAEMON
void AddServeCommand(CLI::App& app);  // cleancached, the tmem: daemon
#endif
