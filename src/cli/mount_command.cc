// `cleancache mount BACKING MOUNTPOINT` and `cleancache umount MOUNTPOINT`:
// a directory seen through cleancache (see src/fuse/cached_fs.h). mount
// returns once the filesystem is mounted (the mount process stays in the
// background) or fails with a clear message and nothing mounted; umount
// returns once the mount process has ended and its pool is gone.
#ifdef CLEANCACHE_HAVE_FUSE
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>

#include "cleancache/backend_spec.h"
#include "cli/commands.h"
#include "fuse/mount.h"
#include "fuse/stats_socket.h"

namespace {

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
  std::string trace_max = "64M";
  bool foreground = false;
};

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
  if (args.primary != "kernel") {
    auto bytes = cleancache::ParseSize(args.primary);
    if (!bytes.ok()) Fail("mount", kExitBadInput, "--primary: " + bytes.status().message() + " (kernel or a size)");
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
  ParseTraceArgs(args);
  // A bad spec (syntax, key or value) must fail here, before anything is
  // mounted or forked: exit 2 as in every command.
  if (auto spec = cleancache::ParseAndCheckBackendSpec(args.options.backend_spec); !spec.ok()) {
    Fail("mount", kExitBadInput, "--backend: " + spec.status().message());
  }
}

void RunForeground(const MountOptions& options) {
  cleancache::Status status = cleancache::fuse::RunMount(options, [] {});
  if (!status.ok()) Fail("mount", kExitFailure, status.message());
}

// The child mounts and serves; the parent exits 0 once the child reports
// "mounted" through the pipe, or with the child's failure otherwise. Forking
// before anything else runs keeps the child free of inherited threads.
void RunInBackground(const MountOptions& options) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) Fail("mount", kExitFailure, "pipe failed");
  pid_t child = fork();
  if (child < 0) Fail("mount", kExitFailure, "fork failed");
  if (child == 0) {
    close(pipefd[0]);
    setsid();
    cleancache::Status status = cleancache::fuse::RunMount(options, [&] {
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
    if (!j.is_discarded() && j.contains("pid")) pid = j["pid"].get<pid_t>();
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
                   "Primary page cache: 'kernel' (the kernel page cache) or a size such as 256M (the mount's own "
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
  mount->callback([args] {
    ParseMountArgs(*args);
    if (args->foreground || args->options.debug) {
      RunForeground(args->options);
    } else {
      RunInBackground(args->options);
    }
  });

  auto mountpoint = std::make_shared<std::string>();
  CLI::App* umount = app.add_subcommand("umount", "Unmount a cleancache mount and wait for it to end");
  umount->add_option("mountpoint", *mountpoint, "The mountpoint")->required();
  umount->callback([mountpoint] { Unmount(*mountpoint); });
}
#endif  // CLEANCACHE_HAVE_FUSE
