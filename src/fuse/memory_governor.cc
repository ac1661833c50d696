#include "fuse/memory_governor.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

namespace cleancache::fuse {
namespace {

constexpr uint64_t kMinReserve = 16ull << 20;
constexpr uint64_t kMaxReserve = 512ull << 20;
constexpr uint64_t kMinGrowStep = 4ull << 20;
constexpr uint64_t kRoomSlackBytes = 8ull << 20;
constexpr uint64_t kMinShrinkStep = 1ull << 20;  // page-cache noise must not evict pages every tick
// cgroup v1 reports "no limit" as a page-rounded LLONG_MAX; anything this
// large is no limit.
constexpr uint64_t kNoLimit = 1ull << 60;

Result<std::string> ReadText(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IOError("cannot read " + path + ": " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// "key value" lines (memory.stat, /proc/meminfo with its "kB").
Result<uint64_t> Field(const std::string& text, const std::string& key, const std::string& path) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string name;
    uint64_t value;
    if (fields >> name >> value && (name == key || name == key + ":")) {
      std::string unit;
      if (fields >> unit && unit == "kB") value <<= 10;
      return value;
    }
  }
  return Status::NotFound("no " + key + " in " + path);
}

// "max" or a number.
uint64_t ParseLimit(const std::string& text) {
  if (text.rfind("max", 0) == 0) return UINT64_MAX;
  return std::strtoull(text.c_str(), nullptr, 10);
}

class MachineSource : public MemorySource {
 public:
  Result<MemorySample> Sample() override {
    auto text = ReadText("/proc/meminfo");
    if (!text.ok()) return text.status();
    auto total = Field(*text, "MemTotal", "/proc/meminfo");
    auto available = Field(*text, "MemAvailable", "/proc/meminfo");
    if (!total.ok()) return total.status();
    if (!available.ok()) return available.status();
    return MemorySample{*total, *total - std::min(*total, *available)};
  }
  std::string Describe() const override { return "machine"; }
  bool machine_wide() const override { return true; }
};

class CgroupV1Source : public MemorySource {
 public:
  CgroupV1Source(std::string dir, std::string name) : dir_(std::move(dir)), name_(std::move(name)) {}
  Result<MemorySample> Sample() override {
    std::string path = dir_ + "/memory.stat";
    auto text = ReadText(path);
    if (!text.ok()) return text.status();
    // hierarchical_memory_limit: the tightest limit of the group and its
    // ancestors. total_rss: anon (and swap cache); shmem is in "cache".
    auto limit = Field(*text, "hierarchical_memory_limit", path);
    auto rss = Field(*text, "total_rss", path);
    auto shmem = Field(*text, "total_shmem", path);
    if (!limit.ok()) return limit.status();
    if (!rss.ok()) return rss.status();
    return MemorySample{*limit, *rss + (shmem.ok() ? *shmem : 0)};
  }
  std::string Describe() const override { return "cgroup v1 " + name_; }
  bool machine_wide() const override { return false; }

 private:
  std::string dir_, name_;
};

class CgroupV2Source : public MemorySource {
 public:
  // `limit_dirs`: the group and its ancestors that have memory.max.
  CgroupV2Source(std::string dir, std::string name, std::vector<std::string> limit_dirs)
      : dir_(std::move(dir)), name_(std::move(name)), limit_dirs_(std::move(limit_dirs)) {}
  Result<MemorySample> Sample() override {
    uint64_t limit = UINT64_MAX;
    for (const auto& d : limit_dirs_) {
      for (const char* file : {"/memory.max", "/memory.high"}) {
        if (auto text = ReadText(d + file); text.ok()) limit = std::min(limit, ParseLimit(*text));
      }
    }
    std::string path = dir_ + "/memory.stat";
    auto text = ReadText(path);
    if (!text.ok()) return text.status();
    auto anon = Field(*text, "anon", path);
    auto shmem = Field(*text, "shmem", path);
    if (!anon.ok()) return anon.status();
    return MemorySample{limit, *anon + (shmem.ok() ? *shmem : 0)};
  }
  std::string Describe() const override { return "cgroup v2 " + name_; }
  bool machine_wide() const override { return false; }

 private:
  std::string dir_, name_;
  std::vector<std::string> limit_dirs_;
};

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

std::unique_ptr<MemorySource> V2Source(const std::string& root, const std::string& group) {
  std::vector<std::string> dirs;
  std::string g = group;
  while (true) {
    if (Exists(root + g + "/memory.max")) dirs.push_back(root + g);
    if (g.empty() || g == "/") break;
    g = g.substr(0, g.rfind('/'));
  }
  return std::make_unique<CgroupV2Source>(root + group, group.empty() ? "/" : group, std::move(dirs));
}

// A cgroup source when its group has a limit; the machine otherwise.
Result<std::unique_ptr<MemorySource>> LimitedOrMachine(std::unique_ptr<MemorySource> group) {
  auto sample = group->Sample();
  if (!sample.ok()) return sample.status();
  if (sample->limit_bytes >= kNoLimit) return std::unique_ptr<MemorySource>(std::make_unique<MachineSource>());
  return group;
}

}  // namespace

Result<std::unique_ptr<MemorySource>> OpenCgroupMemorySource(const std::string& directory) {
  if (Exists(directory + "/memory.limit_in_bytes")) {
    return std::unique_ptr<MemorySource>(std::make_unique<CgroupV1Source>(directory, directory));
  }
  if (Exists(directory + "/memory.max")) {
    return std::unique_ptr<MemorySource>(
        std::make_unique<CgroupV2Source>(directory, directory, std::vector<std::string>{directory}));
  }
  return Status::NotFound("'" + directory + "' is not a memory cgroup (no memory.limit_in_bytes or memory.max)");
}

Result<std::unique_ptr<MemorySource>> OpenProcessMemorySource(const std::string& cgroup_root) {
  auto text = ReadText("/proc/self/cgroup");
  if (!text.ok()) return LimitedOrMachine(std::make_unique<MachineSource>());
  std::istringstream lines(*text);
  std::string line, v1_group, v2_group;
  bool have_v2 = false;
  while (std::getline(lines, line)) {
    // "hierarchy-id:controllers:path"
    size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (path == "/") path = "";
    std::istringstream list(controllers);
    std::string c;
    while (std::getline(list, c, ',')) {
      if (c == "memory") v1_group = path.empty() ? "/" : path;
    }
    if (controllers.empty()) {
      have_v2 = true;
      v2_group = path;
    }
  }
  if (!v1_group.empty() && Exists(cgroup_root + "/memory/memory.stat")) {
    std::string group = v1_group == "/" ? "" : v1_group;
    return LimitedOrMachine(std::make_unique<CgroupV1Source>(cgroup_root + "/memory" + group, v1_group));
  }
  if (have_v2) {
    // Unified at the root, or beside v1 hierarchies at .../unified.
    for (const std::string& root : {cgroup_root, cgroup_root + "/unified"}) {
      if (Exists(root + "/cgroup.controllers") && Exists(root + v2_group + "/memory.stat")) {
        return LimitedOrMachine(V2Source(root, v2_group));
      }
    }
  }
  return LimitedOrMachine(std::make_unique<MachineSource>());
}

MemoryPlan PlanCapacity(const MemorySample& sample, uint64_t cleancache_real_bytes, uint64_t max_bytes) {
  MemoryPlan plan;
  uint64_t limit = sample.limit_bytes;
  plan.reserve_bytes = std::clamp(limit / 8, kMinReserve, kMaxReserve);
  plan.others_bytes = sample.unreclaimable_bytes - std::min(sample.unreclaimable_bytes, cleancache_real_bytes);
  uint64_t taken = plan.others_bytes + plan.reserve_bytes;
  uint64_t spare = limit > taken ? limit - taken : 0;
  plan.capacity_bytes = std::max(MemoryGovernor::kFloorBytes, std::min(spare, max_bytes));
  return plan;
}

MemoryGovernor::MemoryGovernor(std::unique_ptr<MemorySource> source, uint64_t max_bytes,
                               std::function<CleancacheUse()> usage, std::function<void(uint64_t)> set_capacity)
    : source_(std::move(source)), usage_(std::move(usage)), set_capacity_(std::move(set_capacity)) {
  stats_.source = source_->Describe();
  stats_.max_bytes = max_bytes;
}

MemoryGovernor::~MemoryGovernor() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

uint64_t MemoryGovernor::Tick() {
  std::lock_guard lock(mu_);
  auto sample = source_->Sample();
  if (!sample.ok()) {
    ++stats_.sample_errors;  // keep the last capacity: a failed read is no evidence of pressure
    return stats_.capacity_bytes;
  }
  const uint64_t real = usage_().real_bytes;
  MemoryPlan plan = PlanCapacity(*sample, real, stats_.max_bytes);
  stats_.limit_bytes = sample->limit_bytes;
  stats_.unreclaimable_bytes = sample->unreclaimable_bytes;
  stats_.others_bytes = plan.others_bytes;
  stats_.reserve_bytes = plan.reserve_bytes;
  uint64_t now = stats_.capacity_bytes;
  uint64_t want = plan.capacity_bytes;
  bool change = !set_once_ || want + kMinShrinkStep <= now || want >= now + std::max(kMinGrowStep, now / 32);
  if (change && want != now) {
    if (set_once_) ++(want < now ? stats_.shrinks : stats_.grows);
    set_capacity_(want);
    stats_.capacity_bytes = want;
  }
  set_once_ = true;
  capacity_now_.store(stats_.capacity_bytes, std::memory_order_relaxed);
  return stats_.capacity_bytes;
}

bool MemoryGovernor::HasRoom() const {
  const int64_t now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  if (now - room_checked_ns_.load(std::memory_order_relaxed) < 1'000'000)
    return has_room_.load(std::memory_order_relaxed);
  std::unique_lock lock(room_mu_, std::try_to_lock);
  if (lock.owns_lock()) {
    const uint64_t capacity = capacity_now_.load(std::memory_order_relaxed);
    const CleancacheUse use = usage_();
    const bool evicted = use.evictions != last_evictions_;
    last_evictions_ = use.evictions;
    has_room_.store(!evicted && use.real_bytes + std::max(kRoomSlackBytes, capacity / 8) < capacity,
                    std::memory_order_relaxed);
    room_checked_ns_.store(now, std::memory_order_relaxed);
  }
  return has_room_.load(std::memory_order_relaxed);
}

void MemoryGovernor::Start(unsigned interval_ms) {
  thread_ = std::thread([this, interval_ms] {
    std::unique_lock lock(mu_);
    while (!stop_) {
      wake_.wait_for(lock, std::chrono::milliseconds(interval_ms));
      if (stop_) break;
      lock.unlock();
      Tick();
      lock.lock();
    }
  });
}

MemoryGovernorStats MemoryGovernor::Stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace cleancache::fuse
