// `cleancache mount BACKING MOUNTPOINT` and `cleancache umount MOUNTPOINT`:
// a directory seen through cleancache (see src/fuse/cached_fs.h). mount
// returns once the filesystem is mounted (the mount process stays in the
// background) or fails with a clear message and nothing mounted; umount
// returns once the mount process has ended and its pool is gone.
//
// `-o OPTS` (repeatable; comma-separated, values may be double-quoted:
// -o 'backend="zcache:capacity=256M,codec=lz4"') is how mount(8) and fstab
// pass options (mount.fuse.cleancache, src/cli/mount_helper.cc): kernel and
// FUSE options go to the mount, fstab-only options are ignored, and every
// long option of the command is also a key (primary=256M, watch-backing=off),
// set through the same CLI11 option, so a bad key or value fails as the long
// option does (exit 2).
#ifdef CLEANCACHE_HAVE_FUSE
#include <fcntl.h>
#include <libmount.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "cleancache/backend_spec.h"
#include "cleancache/metrics_http.h"
#include "cli/commands.h"
#include "cli/log_setup.h"
#include "fuse/mount.h"
#include "fuse/stats_socket.h"

namespace {

using cleancache::Status;
using cleancache::fuse::MountOptions;

[[noreturn]] void Fail(const char* command, int exit_code, const std::string& message) {
  FailCommand(command, exit_code, message);
}

struct MountArgs {
  MountOptions options;
  std::string primary = "kernel";
  std::string put_queue = "16M";
  std::string memory = "auto";
  std::string backing_cache = "drop";
  std::string scan_admission = "second-touch";
  std::string watch_backing = "auto";
  std::string shared_uuid;
  std::string log = "auto";
  std::string log_level = "info";
  std::vector<std::string> option_strings;  // each -o
  cleancache::cli::LogSettings log_settings;
  std::string stats_access = "owner";
  std::string metrics;
  std::string trace_max = "64M";
  bool foreground = false;
  bool dry_run = false;
};

// Options for the kernel mount that libfuse 3.14 accepts and passes on
// (`ro`/`rw` set MountOptions::read_only instead).
bool KernelOption(std::string_view name) {
  for (std::string_view known : {"allow_other", "allow_root", "default_permissions", "suid", "nosuid", "dev", "nodev",
                                 "exec", "noexec", "atime", "noatime", "sync", "async", "dirsync"}) {
    if (name == known) return true;
  }
  return false;
}

// Accepted and ignored: access-time variants libfuse refuses (the kernel
// does not update a FUSE file's atime itself; the backing's own mount
// options decide), and what only mount(8), systemd and fstab act on.
bool IgnoredOption(std::string_view name) {
  for (std::string_view known :
       {"relatime", "norelatime", "strictatime", "nostrictatime", "diratime", "nodiratime", "lazytime", "nolazytime",
        "defaults", "auto", "noauto", "user", "nouser", "users", "owner", "group", "nofail", "_netdev", "comment"}) {
    if (name == known) return true;
  }
  return name.starts_with("x-");
}

// The command's own option for an -o key (`watch-backing` or
// `watch_backing`), or null.
CLI::Option* OwnOption(CLI::App& mount, std::string key) {
  for (char& c : key) {
    if (c == '_') c = '-';
  }
  if (key.empty() || key == "help" || key == "version") return nullptr;
  for (CLI::Option* option : mount.get_options()) {
    for (const std::string& name : option->get_lnames()) {
      if (name == key) return option;
    }
  }
  return nullptr;
}

// Applies every -o item, in order, after the command line (an -o value wins
// over the same long option).
void ApplyOptionStrings(CLI::App& mount, MountArgs& args) {
  for (const std::string& text : args.option_strings) {
    // libmount stops silently at an unclosed quote, dropping the rest.
    if (std::count(text.begin(), text.end(), '"') % 2 != 0) {
      Fail("mount", kExitBadInput, "-o '" + text + "': a quote is not closed");
    }
    std::string buffer = text;
    char* cursor = buffer.data();
    char *name = nullptr, *value = nullptr;
    size_t name_size = 0, value_size = 0;
    int rc;
    while ((rc = mnt_optstr_next_option(&cursor, &name, &name_size, &value, &value_size)) == 0) {
      const std::string key(name, name_size);
      std::string val = value != nullptr ? std::string(value, value_size) : std::string();
      if (val.size() >= 2 && val.front() == '"' && val.back() == '"') val = val.substr(1, val.size() - 2);
      const std::string item = value != nullptr ? key + "=" + val : key;
      if (key == "ro" || key == "rw") {
        if (value != nullptr) Fail("mount", kExitBadInput, "-o " + item + ": " + key + " takes no value");
        args.options.read_only = key == "ro";
      } else if (KernelOption(key)) {
        if (value != nullptr) Fail("mount", kExitBadInput, "-o " + item + ": " + key + " takes no value");
        args.options.kernel_options.push_back(key);
      } else if (IgnoredOption(key)) {
        continue;
      } else if (CLI::Option* option = OwnOption(mount, key)) {
        const bool flag = option->get_items_expected_max() == 0;  // --nonempty, --foreground, --debug
        if (flag && value != nullptr) Fail("mount", kExitBadInput, "-o " + item + ": " + key + " takes no value");
        if (!flag && value == nullptr)
          Fail("mount", kExitBadInput, "-o " + key + ": needs a value (" + key + "=VALUE)");
        option->clear();
        option->add_result(flag ? "true" : val);
        option->run_callback();  // CLI11's conversion and checks: the long option's errors
      } else {
        Fail("mount", kExitBadInput,
             "-o " + item +
                 ": unknown option (valid: the long options without '--' as key=value, e.g. primary=256M; "
                 "allow_other, default_permissions, ro, rw, nosuid, nodev, noexec, noatime...; fstab's defaults, "
                 "noauto, nofail, _netdev, x-*)");
      }
    }
    if (rc < 0) Fail("mount", kExitBadInput, "-o '" + text + "': cannot parse");
  }
}

// --trace FILE, --trace-max SIZE: the file is made absolute here (the
// background mount may not run where the command did).
void ParseTraceArgs(MountArgs& args) {
  auto max = cleancache::ParseSize(args.trace_max);
  if (!max.ok()) Fail("mount", kExitBadInput, "--trace-max: " + max.status().message());
  // One header (40 bytes) and one record (24) at the least.
  if (*max < 64) Fail("mount", kExitBadInput, "--trace-max: at least 64 bytes (a header and one record)");
  args.options.trace_max_bytes = *max;
  if (!args.options.trace_path.empty()) {
    args.options.trace_path = std::filesystem::absolute(args.options.trace_path).lexically_normal().string();
  }
}

// The value of a word option, or exit 2 naming the choices.
template <typename T>
T OneOf(const char* option, const std::string& word, std::initializer_list<std::pair<const char*, T>> choices) {
  std::string names;
  for (const auto& [name, value] : choices) {
    if (word == name) return value;
    names += (names.empty() ? "" : ", ") + std::string(name);
  }
  Fail("mount", kExitBadInput, std::string(option) + ": '" + word + "' is not one of " + names);
}

void ParseMountArgs(MountArgs& args) {
  if (Status s = cleancache::cli::ParseLogTarget(args.log, &args.log_settings); !s.ok()) {
    Fail("mount", kExitBadInput, "--log: " + s.message());
  }
  if (Status s = cleancache::cli::ParseLogLevel(args.log_level, &args.log_settings); !s.ok()) {
    Fail("mount", kExitBadInput, "--log-level: " + s.message());
  }
  if (args.primary != "kernel") {
    auto bytes = cleancache::ParseCapacity(args.primary);
    if (!bytes.ok())
      Fail("mount", kExitBadInput, "--primary: " + bytes.status().message() + " (kernel, a size or N% of memory)");
    if (*bytes < 4096) Fail("mount", kExitBadInput, "--primary: at least one page (4096 bytes)");
    args.options.primary_bytes = *bytes;
  }
  if (args.memory != "auto") {
    const std::string& m = args.memory;
    if (!m.empty() && m.back() == '%') {
      char* end = nullptr;
      unsigned long percent = std::strtoul(m.c_str(), &end, 10);
      if (end != m.c_str() + m.size() - 1 || percent < 1 || percent > 100) {
        Fail("mount", kExitBadInput, "--memory: '" + m + "' is not a share from 1% to 100%");
      }
      args.options.memory_percent = static_cast<unsigned>(percent);
    } else {
      auto bytes = cleancache::ParseSize(m);
      if (!bytes.ok()) Fail("mount", kExitBadInput, "--memory: " + bytes.status().message() + " (auto, a size or N%)");
      if (*bytes < (1u << 20)) Fail("mount", kExitBadInput, "--memory: at least 1M");
      args.options.memory_bytes = *bytes;
    }
  }
  args.options.backing_cache = OneOf<cleancache::fuse::BackingCache>(
      "--backing-cache", args.backing_cache,
      {{"drop", cleancache::fuse::BackingCache::kDrop}, {"keep", cleancache::fuse::BackingCache::kKeep}});
  args.options.stream_admission =
      OneOf<bool>("--scan-admission", args.scan_admission, {{"second-touch", true}, {"always", false}});
  using cleancache::fuse::WatchScope;
  args.options.watch_scope = OneOf<WatchScope>("--watch-backing", args.watch_backing,
                                               {{"auto", WatchScope::kAuto},
                                                {"filesystem", WatchScope::kFilesystem},
                                                {"directories", WatchScope::kDirectories},
                                                {"off", WatchScope::kOff}});
  auto queue = cleancache::ParseSize(args.put_queue);
  if (!queue.ok()) Fail("mount", kExitBadInput, "--put-queue: " + queue.status().message());
  args.options.put_queue_bytes = *queue;
  if (!args.shared_uuid.empty()) {
    auto uuid = cleancache::Uuid::Parse(args.shared_uuid);
    if (!uuid.ok()) Fail("mount", kExitBadInput, "--shared-uuid: " + uuid.status().message());
    args.options.shared_uuid = *uuid;
  }
  auto access = cleancache::fuse::StatsAccess::Parse(args.stats_access);
  if (!access.ok()) Fail("mount", kExitBadInput, "--stats-access: " + access.status().message());
  args.options.stats_access = *access;
  if (!args.metrics.empty()) {
    std::string host;
    uint16_t port = 0;
    if (auto s = cleancache::ParseLoopbackAddress(args.metrics, &host, &port); !s.ok()) {
      Fail("mount", kExitBadInput, "--metrics: " + s.message());
    }
    args.options.metrics_address = args.metrics;
  }
  ParseTraceArgs(args);
  // A bad spec (syntax, key or value) must fail here, before anything is
  // mounted or forked: exit 2 as in every command.
  if (auto spec = cleancache::ParseAndCheckBackendSpec(args.options.backend_spec); !spec.ok()) {
    Fail("mount", kExitBadInput, "--backend: " + spec.status().message());
  }
  // Not bad input, but a machine that does not allow it: fail before mounting.
  for (const std::string& option : args.options.kernel_options) {
    if (option != "allow_other") continue;
    if (Status s = cleancache::fuse::CheckAllowOther(getuid()); !s.ok()) Fail("mount", kExitFailure, s.message());
  }
}

// The syslog/journal identifier and the name on every line.
constexpr const char* kLogIdentity = "cleancache-mount";
std::string LoggerName(const MountOptions& options) {
  char* canonical = realpath(options.mountpoint.c_str(), nullptr);
  std::string name = "mount " + (canonical != nullptr ? std::string(canonical) : options.mountpoint);
  free(canonical);
  return name;
}

spdlog::sink_ptr LogSink(cleancache::cli::LogTarget target, const cleancache::cli::LogSettings& settings) {
  auto sink = cleancache::cli::MakeLogSink(target, settings, kLogIdentity);
  if (!sink.ok()) Fail("mount", kExitFailure, "--log: " + sink.status().message());
  return *sink;
}

void RunForeground(const MountOptions& options, const cleancache::cli::LogSettings& settings) {
  auto target = cleancache::cli::ResolveLogTarget(settings.target, false, ::getenv);
  auto log = cleancache::cli::MakeLogger(LoggerName(options), LogSink(target, settings), settings);
  cleancache::Status status = cleancache::fuse::RunMount(options, *log, [] {});
  if (!status.ok()) Fail("mount", kExitFailure, status.message());
}

// The child mounts and serves; the parent exits 0 once the child reports
// "mounted" through the pipe, or with the child's failure otherwise. Forking
// before anything else runs keeps the child free of inherited threads.
// Not libfuse's fuse_daemonize: it forks after the mount, when the memory
// governor's and the stats socket's threads already run and would be lost.
// The child logs to stderr until mounted (the user at the terminal sees
// what goes wrong), then to its background target (auto: journal or syslog)
// when stderr becomes /dev/null.
void RunInBackground(const MountOptions& options, const cleancache::cli::LogSettings& settings) {
  using cleancache::cli::LogTarget;
  const LogTarget background = cleancache::cli::ResolveLogTarget(settings.target, true, ::getenv);
  // An explicit target is opened here, so that a log file that cannot be
  // opened fails the command before anything is mounted.
  spdlog::sink_ptr background_sink = settings.target == LogTarget::kAuto ? nullptr : LogSink(background, settings);
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) Fail("mount", kExitFailure, "pipe failed");
  pid_t child = fork();
  if (child < 0) Fail("mount", kExitFailure, "fork failed");
  if (child == 0) {
    close(pipefd[0]);
    setsid();
    auto log = cleancache::cli::MakeLogger(
        LoggerName(options), background_sink ? background_sink : LogSink(LogTarget::kStderr, settings), settings);
    cleancache::Status status = cleancache::fuse::RunMount(options, *log, [&] {
      if (!background_sink) cleancache::cli::SwitchSink(*log, LogSink(background, settings));
      char ok = 1;
      (void)!write(pipefd[1], &ok, 1);
      close(pipefd[1]);
      int null = open("/dev/null", O_RDWR);
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
      if (null > 2) close(null);
      (void)!chdir("/");
    });
    // Before "mounted", stderr is the terminal's: the user sees it there.
    if (!status.ok()) std::cerr << "cleancache mount: " << status.message() << "\n";
    _exit(status.ok() ? 0 : kExitFailure);
  }
  close(pipefd[1]);
  char ok = 0;
  ssize_t n;
  do {
    n = read(pipefd[0], &ok, 1);
  } while (n < 0 && errno == EINTR);
  close(pipefd[0]);
  if (n == 1) return;
  int status = 0;
  waitpid(child, &status, 0);
  throw CLI::RuntimeError(WIFEXITED(status) && WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) : kExitFailure);
}

bool ProcessAlive(pid_t pid) { return kill(pid, 0) == 0 || errno == EPERM; }

void Unmount(const std::string& mountpoint) {
  // The mount process's pid, to wait for its pool to be gone.
  pid_t pid = 0;
  if (auto text = cleancache::fuse::FetchMountStats(mountpoint); text.ok()) {
    auto j = nlohmann::json::parse(*text, nullptr, false);
    // docs/STATS.md: mount.pid (schema 1).
    if (j.is_object() && j.contains("mount") && j["mount"].is_object() && j["mount"].contains("pid")) {
      pid = j["mount"]["pid"].get<pid_t>();
    }
  }
  pid_t child = fork();
  if (child < 0) Fail("umount", kExitFailure, "fork failed");
  if (child == 0) {
    execlp("fusermount3", "fusermount3", "-u", mountpoint.c_str(), static_cast<char*>(nullptr));
    std::cerr << "cleancache umount: cannot run fusermount3\n";
    _exit(127);
  }
  int status = 0;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    Fail("umount", kExitFailure, "fusermount3 -u '" + mountpoint + "' failed (message above)");
  }
  if (pid <= 0) return;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (ProcessAlive(pid) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (ProcessAlive(pid))
    Fail("umount", kExitFailure, "unmounted, but mount process " + std::to_string(pid) + " is still running");
}

}  // namespace

void AddMountCommand(CLI::App& app) {
  auto args = std::make_shared<MountArgs>();
  CLI::App* mount = app.add_subcommand("mount", "Mount BACKING at MOUNTPOINT with a second-chance page cache");
  mount->add_option("backing", args->options.backing, "Directory whose pages are cached")->required();
  mount->add_option("mountpoint", args->options.mountpoint, "Empty directory to mount on")->required();
  mount
      ->add_option("--backend", args->options.backend_spec,
                   "Backend spec (zcache[:capacity=1G,...], memcached://..., ...)")
      ->capture_default_str();
  mount
      ->add_option("--primary", args->primary,
                   "Primary page cache: 'kernel' (the kernel page cache) or a size such as 256M or 5% of the memory "
                   "limit (the mount's own "
                   "cache; files are opened direct_io, MAP_SHARED fails with ENODEV)")
      ->capture_default_str();
  mount
      ->add_option("--put-queue", args->put_queue,
                   "Kernel primary: pages read wait in a queue of this size to be put into cleancache by a "
                   "background thread when a CPU is idle (new ones are dropped while it is full); 0 puts them "
                   "on the reading thread")
      ->capture_default_str();
  mount
      ->add_option("--memory", args->memory,
                   "Most memory the mount's cleancache may hold: 'auto' (all a memory cgroup can spare, or a quarter "
                   "of the machine's memory), a size such as 2G, or a share of the limit such as 50%; it gives memory "
                   "back at once when the cgroup needs it")
      ->capture_default_str();
  mount
      ->add_option("--backing-cache", args->backing_cache,
                   "'drop': reads of the backing files leave no copy in their page cache (the mount caches them); "
                   "'keep': plain reads")
      ->capture_default_str();
  mount
      ->add_option("--scan-admission", args->scan_admission,
                   "Pages of long sequential reads: 'second-touch' caches them while cleancache has room or when "
                   "read again soon (a scan cannot flush the cache), 'always' caches every page read")
      ->capture_default_str();
  mount->add_option("--shared-uuid", args->shared_uuid,
                    "Join the shared pool with this UUID (mounts of the same data)");
  mount
      ->add_option("--watch-backing", args->watch_backing,
                   "Changes made behind the mount's back are seen by the next open: 'filesystem' watches the "
                   "backing's whole filesystem (fanotify; root), 'directories' each directory looked up (any user, "
                   "Linux 5.13+), 'auto' the first that works; 'off', or a mount that cannot watch, sees such "
                   "changes after --timeout")
      ->capture_default_str();
  mount
      ->add_option("--stats-access", args->stats_access,
                   "Who may read `cleancache stats` of this mount besides root: 'owner' (who runs the mount), "
                   "'all', or a group (name or number) whose members may too")
      ->capture_default_str();
  mount->add_option("--metrics", args->metrics,
                    "Serve Prometheus text at http://ADDRESS/metrics, ADDRESS a loopback 127.x.y.z:PORT "
                    "(off by default)");
  mount->add_option("--timeout", args->options.timeout_seconds, "Kernel attribute/entry cache timeout in seconds")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  mount->add_option("--threads", args->options.max_threads, "Maximum FUSE worker threads (0 = libfuse default)");
  mount->add_flag("--nonempty", args->options.allow_nonempty,
                  "Mount even if the mountpoint has entries (the mount hides them until unmounted)");
  mount->add_option("--trace", args->options.trace_path,
                    "Record the pool's page accesses to FILE (cleancache replay reads it; docs/MRC.md)");
  mount->add_option("--trace-max", args->trace_max, "Stop recording the trace at this size (default 64M)");
  mount->add_flag("-f,--foreground", args->foreground, "Stay in the foreground until unmounted");
  mount->add_flag("--debug", args->options.debug, "Log every FUSE request (implies --foreground)");
  mount->add_flag("--dry-run", args->dry_run,
                  "Check every option and the backend spec, then exit without mounting (mount -f, --fake)");
  mount
      ->add_option("--log", args->log,
                   "Where the mount logs: stderr, syslog, journal, file:PATH, or auto (the journal under systemd, "
                   "else stderr until mounted and syslog once in the background)")
      ->capture_default_str();
  mount->add_option("--log-level", args->log_level, "Least severe level logged: error, warn, info or debug")
      ->capture_default_str();
  mount
      ->add_option("-o", args->option_strings,
                   "Mount options, comma-separated (repeatable; quote values with commas): allow_other, "
                   "default_permissions, ro, rw, nosuid, nodev, noexec, noatime...; fstab's defaults, noauto, nofail, "
                   "_netdev, x-* (ignored); and every long option above as key=value, e.g. primary=256M")
      ->allow_extra_args(false);
  mount->callback([mount, args] {
    ApplyOptionStrings(*mount, *args);
    ParseMountArgs(*args);
    if (args->dry_run) return;
    if (args->foreground || args->options.debug) {
      RunForeground(args->options, args->log_settings);
    } else {
      RunInBackground(args->options, args->log_settings);
    }
  });

  auto mountpoint = std::make_shared<std::string>();
  CLI::App* umount = app.add_subcommand("umount", "Unmount a cleancache mount and wait for it to end");
  umount->add_option("mountpoint", *mountpoint, "The mountpoint")->required();
  umount->callback([mountpoint] { Unmount(*mountpoint); });
}
#endif  // CLEANCACHE_HAVE_FUSE
