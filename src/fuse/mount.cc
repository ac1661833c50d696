#include "fuse/mount.h"

#include <dirent.h>
#include <fcntl.h>
#include <libmount.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "cleancache/backend_spec.h"
#include "cleancache/cleancache.hpp"
#include "cleancache/metrics_http.h"
#include "fuse/cached_fs.h"
#include "fuse/device_hooks.h"
#include "fuse/file_validator.h"
#include "fuse/fuse_api.h"
#include "fuse/memory_governor.h"
#include "fuse/mount_metrics.h"
#include "fuse/pool_observer.h"
#include "fuse/stats_socket.h"

namespace cleancache::fuse {
namespace {

// A FUSE mount whose server died (kill -9, a crash) stays mounted and
// answers every access with ENOTCONN until it is unmounted.
Status DeadMount(const std::string& path, const char* role) {
  return Status::Busy(std::string(role) + " '" + path +
                      "' is a FUSE mount whose server is gone (killed or crashed): unmount it first with "
                      "`cleancache umount " +
                      path + "` or `fusermount3 -u " + path + "`");
}

Result<std::string> CanonicalDirectory(const std::string& path, const char* role) {
  char* resolved = realpath(path.c_str(), nullptr);
  if (resolved == nullptr) {
    if (errno == ENOTCONN) return DeadMount(path, role);
    return Status::NotFound(std::string(role) + " '" + path + "': " + std::strerror(errno));
  }
  std::string canonical = resolved;
  free(resolved);
  struct stat st;
  if (stat(canonical.c_str(), &st) != 0) {
    if (errno == ENOTCONN) return DeadMount(canonical, role);
    return Status::NotFound(std::string(role) + " '" + path + "': " + std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument(std::string(role) + " '" + path + "' is not a directory");
  }
  return canonical;
}

// Entries of `dir` other than . and .. (stops counting at `limit`).
size_t CountEntries(const std::string& dir, size_t limit) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return 0;
  size_t n = 0;
  while (n < limit) {
    dirent* e = readdir(d);
    if (e == nullptr) break;
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) ++n;
  }
  closedir(d);
  return n;
}

// Ends the session (and the pool) in reverse order of creation.
struct SessionGuard {
  fuse_session* session = nullptr;
  bool mounted = false;
  bool signals = false;
  ~SessionGuard() {
    if (session == nullptr) return;
    if (signals) fuse_remove_signal_handlers(session);
    if (mounted) fuse_session_unmount(session);
    fuse_session_destroy(session);
  }
};

// What the mount's cleancache may hold at most (MountOptions::memory_*).
uint64_t MemoryCeiling(const MountOptions& options, const MemorySource& source, uint64_t limit_bytes) {
  if (options.memory_bytes != 0) return options.memory_bytes;
  if (options.memory_percent != 0) return limit_bytes / 100 * options.memory_percent;
  return source.machine_wide() ? limit_bytes / 4 : limit_bytes;
}

nlohmann::json MemoryJson(const MemoryGovernorStats& m) {
  return {{"source", m.source},
          {"limit_bytes", m.limit_bytes},
          {"unreclaimable_bytes", m.unreclaimable_bytes},
          {"others_bytes", m.others_bytes},
          {"reserve_bytes", m.reserve_bytes},
          {"max_bytes", m.max_bytes},
          {"cleancache_capacity_bytes", m.capacity_bytes},
          {"shrinks", m.shrinks},
          {"grows", m.grows},
          {"sample_errors", m.sample_errors}};
}

// The mount's default backend spends its memory where a miss costs the most:
// zstd (measured on this machine's files: 2.31 pages per page of memory,
// against 1.74 with LZ4; gets ~7 us per page instead of ~1.2, small beside a
// FUSE round trip of tens of us and a miss of hundreds), sized by the
// governor when the spec names no capacity.
struct GovernedMemory {
  std::unique_ptr<MemorySource> source;  // null: the backend holds no local memory
  uint64_t ceiling = 0;
};

Result<GovernedMemory> PrepareGovernedSpec(const MountOptions& options, BackendSpec& spec) {
  if (spec.scheme != "zcache") return GovernedMemory{};
  auto source = OpenProcessMemorySource();
  if (!source.ok()) return source.status();
  auto sample = (*source)->Sample();
  if (!sample.ok()) return sample.status();
  uint64_t ceiling = MemoryCeiling(options, **source, sample->limit_bytes);
  if (const std::string* capacity = spec.Find("capacity")) {
    auto bytes = ParseCapacity(*capacity);
    if (!bytes.ok()) return Status::InvalidArgument("zcache: capacity: " + bytes.status().message());
    ceiling = std::min(ceiling, *bytes);
  } else {
    spec.options.emplace_back("capacity", std::to_string(PlanCapacity(*sample, 0, ceiling).capacity_bytes));
  }
  if (spec.Find("codec") == nullptr) spec.options.emplace_back("codec", "zstd");
  return GovernedMemory{std::move(*source), ceiling};
}

}  // namespace

bool IsMountPoint(const std::string& canonical_path) {
  libmnt_table* table = mnt_new_table_from_file("/proc/self/mountinfo");
  if (table == nullptr) return false;
  // The path is canonical already: no cache (which would resolve it again).
  libmnt_fs* fs = mnt_table_find_target(table, canonical_path.c_str(), MNT_ITER_BACKWARD);
  mnt_unref_table(table);
  return fs != nullptr;
}

Status CheckAllowOther(uid_t uid, const std::string& fuse_conf) {
  if (uid == 0) return Status::Ok();
  std::ifstream in(fuse_conf);
  std::string line;
  while (std::getline(in, line)) {
    // fusermount3 reads each line up to a '#', blanks around the word ignored.
    line = line.substr(0, line.find('#'));
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    const size_t last = line.find_last_not_of(" \t");
    if (line.substr(first, last - first + 1) == "user_allow_other") return Status::Ok();
  }
  return Status::PermissionDenied("allow_other: a user other than root may use it only if " + fuse_conf +
                                  " has a line 'user_allow_other' (as root: echo user_allow_other >> " + fuse_conf +
                                  ")");
}

Status RunMount(const MountOptions& requested, spdlog::logger& log, const std::function<void()>& on_mounted) {
  MountOptions options = requested;
  auto backing = CanonicalDirectory(options.backing, "backing directory");
  if (!backing.ok()) return backing.status();
  auto mountpoint = CanonicalDirectory(options.mountpoint, "mountpoint");
  if (!mountpoint.ok()) return mountpoint.status();
  options.backing = *backing;
  options.mountpoint = *mountpoint;
  if (IsMountPoint(options.mountpoint)) {
    return Status::Busy("mountpoint '" + options.mountpoint + "' is busy: something is already mounted there");
  }
  if (options.mountpoint == options.backing) {
    return Status::InvalidArgument("the mountpoint must differ from the backing directory");
  }
  // A mount hides what the directory held; only on request (as fuse's
  // `nonempty` and rclone's --allow-non-empty).
  if (!options.allow_nonempty && CountEntries(options.mountpoint, 1) != 0) {
    return Status::InvalidArgument(
        "mountpoint '" + options.mountpoint +
        "' is not empty: the mount would hide its files (pass --nonempty to mount over them)");
  }

  auto spec = ParseBackendSpec(options.backend_spec);
  if (!spec.ok()) return spec.status();
  auto memory = PrepareGovernedSpec(options, *spec);
  if (!memory.ok()) return memory.status();
  auto created = CreateBackend(*spec);
  if (!created.ok()) return created.status();
  auto backend = ObservePool(std::move(*created), options, memory->source ? memory->ceiling : 0);
  if (!backend.ok()) return backend.status();
  ObservedBackend* observed = backend->get();  // the pool's curve and trace
  Backend* store = backend->get();             // owned by `cache`, which outlives `governor`
  Cleancache cache;
  if (Status s = cache.RegisterBackend(std::move(*backend)); !s.ok()) return s;
  std::unique_ptr<MemoryGovernor> governor;
  if (memory->source) {
    governor = std::make_unique<MemoryGovernor>(
        std::move(memory->source), memory->ceiling,
        [store] {
          BackendStats st = store->Stats();
          return CleancacheUse{st.real_memory_bytes, st.evictions};
        },
        [store](uint64_t bytes) { store->SetCapacity(bytes); });
    governor->Tick();
    governor->Start();
  }
  PoolConfig config;
  config.page_size = CachedFs::kPageSize;
  if (options.shared_uuid) {
    config.shared = true;
    config.uuid = *options.shared_uuid;
  } else if (options.primary_bytes == 0) {
    // Kernel mode: the kernel page cache is the primary and never tells us
    // when it drops a page, so a page served from cleancache must stay there
    // (an exclusive get would force a decompress + recompress per re-read).
    config.keep_on_get = true;
  }
  auto pool = cache.OpenPool(config);
  if (!pool.ok()) return pool.status();

  int root_fd = open(options.backing.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) return Status::IOError("backing directory '" + options.backing + "': " + std::strerror(errno));
  auto root_identity = FileKey::ForDescriptor(root_fd);
  if (!root_identity.ok()) {
    close(root_fd);
    return root_identity.status();
  }
  struct stat root_stat;
  fstat(root_fd, &root_stat);
  // The doorkeeper remembers 4x the pages the cleancache may hold at most
  // (a scan repeated within that is admitted on its second pass): 1 byte per
  // key, ~0.1% of the memory it guards.
  if (governor) {
    options.stream_window_pages =
        std::clamp<uint64_t>(governor->Stats().max_bytes / CachedFs::kPageSize * 4, 1u << 16, 1u << 22);
  }
  auto fs = std::make_unique<CachedFs>(options, cache, *pool, root_fd,
                                       DeviceQualified(*root_identity, root_stat.st_dev), governor.get());

  // The port the metrics server got (it may have been asked for port 0),
  // set once it listens; the snapshot tells it (mount.metrics_address).
  std::atomic<uint16_t> metrics_port{0};
  auto snapshot = [&fs, &governor, &metrics_port, observed, &options] {
    nlohmann::json j = fs->StatsJson();
    if (governor) j["memory"] = MemoryJson(governor->Stats());
    AddObservation(j, *observed, options);
    if (uint16_t port = metrics_port.load(); port != 0) {
      j["mount"]["metrics_address"] =
          options.metrics_address.substr(0, options.metrics_address.rfind(':') + 1) + std::to_string(port);
    }
    return j;
  };
  auto stats = StatsServer::Start(
      options.mountpoint, [&snapshot] { return snapshot().dump(); }, options.stats_access);
  if (!stats.ok()) {
    cache.InvalidateFs(*pool);
    return stats.status();
  }
  std::unique_ptr<MetricsHttpServer> metrics;
  if (!options.metrics_address.empty()) {
    auto started =
        MetricsHttpServer::Start(options.metrics_address, [&snapshot] { return MountMetricsText(snapshot()); });
    if (!started.ok()) {
      stats->reset();
      cache.InvalidateFs(*pool);
      return started.status();
    }
    metrics = std::move(*started);
    metrics_port = metrics->port();
  }

  std::string kernel_options = "fsname=cleancache:" + options.backing + ",subtype=cleancache,default_permissions";
  if (getuid() == 0) kernel_options += ",allow_other";
  if (options.read_only) kernel_options += ",ro";
  for (const std::string& option : options.kernel_options) kernel_options += "," + option;
  std::vector<std::string> arg_text = {"cleancache", "-o", kernel_options};
  if (options.debug) arg_text.push_back("-d");
  std::vector<char*> argv;
  argv.reserve(arg_text.size());
  for (auto& a : arg_text) argv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());

  Status result;
  {
    SessionGuard guard;
    guard.session = fuse_session_new(&args, options.read_only ? &CachedFs::ReadOnlyOps() : &CachedFs::Ops(),
                                     sizeof(fuse_lowlevel_ops), fs.get());
    fuse_opt_free_args(&args);
    if (guard.session == nullptr) {
      result = Status::InvalidArgument("cannot create the FUSE session (see libfuse's message above)");
    } else if (fuse_set_signal_handlers(guard.session) != 0) {
      result = Status::IOError("cannot install signal handlers");
    } else {
      guard.signals = true;
      if (fuse_session_mount(guard.session, options.mountpoint.c_str()) != 0) {
        result = Status::IOError("cannot mount on '" + options.mountpoint + "' (see libfuse's message above)");
      } else {
        guard.mounted = true;
        result = InstallDeviceHooks(guard.session);
      }
      if (result.ok() && options.watch_scope != WatchScope::kOff) {
        if (Status s = fs->WatchBacking(guard.session); !s.ok()) {
          log.warn("{} the backing ({}): changes it does not report are seen after --timeout ({} s)",
                   fs->watching() ? "watching only part of" : "not watching", s.ToString(), options.timeout_seconds);
        }
      }
      if (result.ok()) {
        on_mounted();
        log.info("mounted {} on {} (backend {}{})", options.backing, options.mountpoint, spec->text,
                 options.read_only ? ", read-only" : "");
        fuse_loop_config* loop = fuse_loop_cfg_create();
        fuse_loop_cfg_set_clone_fd(loop, 1);
        if (options.max_threads != 0) fuse_loop_cfg_set_max_threads(loop, options.max_threads);
        int rc = fuse_session_loop_mt(guard.session, loop);
        fuse_loop_cfg_destroy(loop);
        if (rc < 0) result = Status::IOError(std::string("FUSE loop: ") + std::strerror(-rc));
        if (result.ok()) {
          log.info("unmounted {}", options.mountpoint);
        } else {
          log.error("{}", result.message());
        }
      }
      fs->StopWatching();  // before the session it notifies goes away
    }
  }
  metrics.reset();
  stats->reset();
  governor.reset();
  fs.reset();
  cache.InvalidateFs(*pool);
  if (Status s = observed->CloseTrace(); !s.ok() && result.ok()) result = s;
  return result;
}

}  // namespace cleancache::fuse
