// The `cleancache` executable: one subcommand per file, see commands.h.
#include "cli/commands.h"

#include <iostream>
#include <string>

#include "cleancache/version.h"

[[noreturn]] void FailCommand(const char* command, int exit_code, const std::string& message) {
  std::cerr << "cleancache " << command << ": " << message << "\n";
  throw CLI::RuntimeError(exit_code);
}

int main(int argc, char** argv) {
  CLI::App app{"cleancache: a user-space cleancache (second-chance cache for clean file pages)"};
  app.require_subcommand(1);

  AddBenchCommand(app);
#ifdef CLEANCACHE_HAVE_FUSE
  AddMountCommand(app);
#endif
  AddStatsCommand(app);
#ifdef CLEANCACHE_HAVE_MRC
  AddReplayCommand(app);
#endif
#ifdef CLEANCACHE_HAVE_DAEMON
  AddServeCommand(app);
#endif
  AddVersionCommand(app);
  // `--version` on the program and on every subcommand, as users try both.
  const std::string version = VersionText();
  app.set_version_flag("--version", version, "Print the version and exit");
  for (CLI::App* sub : app.get_subcommands({})) sub->set_version_flag("--version", version, "Print the version and exit");

  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    return e.get_exit_code();  // a command's own failure, already reported
  } catch (const CLI::ParseError& e) {
    // --help (0), or a malformed command line: CLI11 prints it; bad input is
    // 2 whatever CLI11's own code for it (commands.h).
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitBadInput;
  }
  return 0;
}
