// mount.fuse.cleancache: the helper mount(8) runs for `mount -t
// fuse.cleancache BACKING MOUNTPOINT -o OPTS` and for fstab lines of type
// fuse.cleancache:
//   mount.fuse.cleancache BACKING MOUNTPOINT [-sfnv] [-N NS] [-o OPTS] [-t TYPE]
// It runs `cleancache mount BACKING MOUNTPOINT -o OPTS` (which parses every
// option, mounts, and returns once mounted with the mount process in the
// background), found beside this program (the build tree), else in the
// installed bindir, else on PATH. -f (mount's --fake) checks the options
// without mounting; -n (no mtab: there is none, /proc/self/mounts is read)
// and -s (sloppy) are accepted; -v prints the command run. Exit codes are the
// command's: 0, 2 bad input, 1 a mount that fails (src/cli/commands.h).
#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cleancache/version.h"

#ifndef CLEANCACHE_INSTALL_BINDIR
#define CLEANCACHE_INSTALL_BINDIR "/usr/bin"
#endif

namespace {

constexpr int kExitBadInput = 2;

int Usage(const char* message) {
  std::fprintf(stderr,
               "mount.fuse.cleancache: %s\n"
               "usage: mount.fuse.cleancache BACKING MOUNTPOINT [-sfnv] [-o OPTIONS] [-t fuse.cleancache]\n",
               message);
  return kExitBadInput;
}

bool Executable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

// The `cleancache` program: beside this one (the build tree, or a package
// that installs both in one directory), else the installed one, else PATH.
std::string CleancacheProgram() {
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    std::string dir(self, static_cast<size_t>(n));
    dir = dir.substr(0, dir.rfind('/'));
    if (Executable(dir + "/cleancache")) return dir + "/cleancache";
  }
  if (Executable(CLEANCACHE_INSTALL_BINDIR "/cleancache")) return CLEANCACHE_INSTALL_BINDIR "/cleancache";
  return "cleancache";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> positional;
  std::vector<std::string> options;
  bool fake = false, verbose = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--version" || arg == "-V") {
      std::printf("mount.fuse.cleancache %s (revision %s)\n", cleancache::Version(), cleancache::BuildRevision());
      return 0;
    }
    if (arg == "-h" || arg == "--help") {
      std::printf(
          "usage: mount.fuse.cleancache BACKING MOUNTPOINT [-sfnv] [-o OPTIONS] [-t fuse.cleancache]\n"
          "Run by mount(8) for filesystems of type fuse.cleancache; OPTIONS are those of\n"
          "`cleancache mount -o` (see `cleancache mount --help`).\n");
      return 0;
    }
    if (arg.size() > 1 && arg[0] == '-' && arg[1] != '-') {
      // Short options, possibly grouped (-nv), -o and -t with their value
      // attached or next.
      for (size_t j = 1; j < arg.size(); ++j) {
        const char c = arg[j];
        if (c == 'o' || c == 't' || c == 'N') {
          std::string value = arg.substr(j + 1);
          if (value.empty()) {
            if (i + 1 >= argc) return Usage(("-" + std::string(1, c) + " needs a value").c_str());
            value = argv[++i];
          }
          if (c == 'o') options.push_back(value);
          if (c == 't' && value != "fuse.cleancache" && value != "cleancache") {
            return Usage(("-t " + value + ": this helper mounts fuse.cleancache only").c_str());
          }
          if (c == 'N') return Usage("-N (mount in another namespace) is not supported");
          break;
        }
        if (c == 'f') {
          fake = true;
        } else if (c == 'v') {
          verbose = true;
        } else if (c != 'n' && c != 's') {
          return Usage(("unknown option -" + std::string(1, c)).c_str());
        }
      }
      continue;
    }
    positional.push_back(arg);
  }
  if (positional.size() != 2) return Usage("expected BACKING and MOUNTPOINT");

  const std::string program = CleancacheProgram();
  std::vector<std::string> args = {program, "mount", positional[0], positional[1]};
  for (const std::string& o : options) {
    args.push_back("-o");
    args.push_back(o);
  }
  if (fake) args.push_back("--dry-run");
  if (verbose) {
    std::string line;
    for (const std::string& a : args) line += (line.empty() ? "" : " ") + a;
    std::fprintf(stderr, "mount.fuse.cleancache: %s\n", line.c_str());
  }
  std::vector<char*> argv_out;
  argv_out.reserve(args.size() + 1);
  for (std::string& a : args) argv_out.push_back(a.data());
  argv_out.push_back(nullptr);
  execvp(argv_out[0], argv_out.data());
  std::fprintf(stderr, "mount.fuse.cleancache: cannot run %s: %s\n", program.c_str(), std::strerror(errno));
  return 1;
}
