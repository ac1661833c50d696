// Subcommands of the `cleancache` executable. Each lives in its own
// <name>_command.cc (picked up by src/cli/CMakeLists.txt automatically) and
// registers itself on the top-level app. A command reports failure by printing
// a clear message to stderr and throwing CLI::RuntimeError(exit_code), which
// main() turns into the process exit code without printing anything more.
// A command that needs an optional component wraps its file body and its line
// in main.cc in `#ifdef CLEANCACHE_HAVE_<COMPONENT>`.
#pragma once

#include <CLI/CLI.hpp>

void AddBenchCommand(CLI::App& app);
#ifdef CLEANCACHE_HAVE_FUSE
void AddMountCommand(CLI::App& app);  // mount and umount
#endif
void AddStatsCommand(CLI::App& app);
#ifdef CLEANCACHE_HAVE_DAEMON
void AddServeCommand(CLI::App& app);  // cleancached, the tmem: daemon
#endif
