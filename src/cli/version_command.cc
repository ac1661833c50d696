// `cleancache version` and the text `--version` prints: the library version,
// the source revision and which optional components this build has.
#include <iostream>
#include <string>

#include "cleancache/backend_spec.h"
#include "cleancache/version.h"
#include "cli/commands.h"

std::string VersionText() {
  std::string text = std::string("cleancache ") + cleancache::Version() + " (revision " + cleancache::BuildRevision() + ")";
  std::string backends;
  for (const cleancache::BackendScheme& scheme : cleancache::BuiltinBackends()) {
    backends += (backends.empty() ? "" : " ") + std::string(scheme.name);
  }
  text += "\nbackends: " + backends;
  std::string components;
#ifdef CLEANCACHE_HAVE_FUSE
  components += " mount";
#endif
#ifdef CLEANCACHE_HAVE_DAEMON
  components += " serve";
#endif
#ifdef CLEANCACHE_HAVE_MRC
  components += " replay";
#endif
  text += "\ncommands: bench stats version" + components;
  return text;
}

void AddVersionCommand(CLI::App& app) {
  CLI::App* version = app.add_subcommand("version", "Print the version, the source revision and the components built");
  version->callback([] { std::cout << VersionText() << "\n"; });
}
