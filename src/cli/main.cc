// The `cleancache` executable: one subcommand per file, see commands.h.
#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"cleancache: a user-space cleancache (second-chance cache for clean file pages)"};
  app.require_subcommand(1);

  AddBenchCommand(app);
#ifdef CLEANCACHE_HAVE_FUSE
  AddMountCommand(app);
#endif
  AddStatsCommand(app);
#ifdef CLEANCACHE_HAVE_DAEMON
  AddServeCommand(app);
#endif

  CLI11_PARSE(app, argc, argv);
  return 0;
}
