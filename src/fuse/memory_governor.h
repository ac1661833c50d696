// MemoryGovernor: sizes the mount's cleancache from the memory the mount may
// use, and keeps resizing it while the mount runs.
//
// Why: cleancache's memory is anonymous memory: without swap the kernel can
// only reclaim page cache, so a cleancache sized by hand beside other
// programs in a limited cgroup gets the group OOM-killed once they grow,
// and one sized too small wastes the budget (bench/value, 512 MiB cgroup over
// 1 GiB of data: a hand-set 256 MiB zcache left ~250 MiB to copies the
// kernel kept anyway). The governor gives cleancache what the group can
// spare and takes it back as soon as someone else needs it.
//
// The rule (PlanCapacity): with L the tightest memory limit over the process
// (its cgroup's, v1 or v2, else the machine's MemTotal), U the memory of the
// group the kernel cannot reclaim without swap (anon + shmem; machine: MemTotal
// - MemAvailable) and C cleancache's own real memory (part of U):
//     capacity = clamp(L - (U - C) - reserve, floor, max)
// `reserve` (L/8, within 16 MiB .. 512 MiB) stays for the kernel's page
// cache (the primary, whose hits cost ~1-2 us against tens of us for a hit
// through FUSE) and for kernel memory. Shrinking by 1 MiB or more applies at
// once (the backend evicts down to it); growing only past a hysteresis of
// max(4 MiB, capacity/32), so the size does not flutter with page-cache
// noise. The sample is taken every `interval` (100 ms): a neighbour that
// allocates faster than reserve / interval can still outrun it.
// Thread safety: Tick, Stats and HasRoom may run concurrently; one thread
// runs Tick periodically after Start. Lock order: the governor's mutex, then
// the backend's own locks (usage and set_capacity are called under it);
// the backend never calls back into the governor.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "cleancache/status.h"

namespace cleancache::fuse {

struct MemorySample {
  uint64_t limit_bytes = 0;          // tightest limit over the process (or MemTotal)
  uint64_t unreclaimable_bytes = 0;  // anon + shmem of the group (or MemTotal - MemAvailable)
};

class MemorySource {
 public:
  virtual ~MemorySource() = default;
  virtual Result<MemorySample> Sample() = 0;
  // "cgroup v1 /a/b", "cgroup v2 /a/b" or "machine".
  virtual std::string Describe() const = 0;
  // True when the limit is the machine's memory, not a cgroup's.
  virtual bool machine_wide() const = 0;
};

// The memory cgroup of this process (v2, or v1's memory hierarchy, under
// `cgroup_root`), or the machine when the group has no limit.
Result<std::unique_ptr<MemorySource>> OpenProcessMemorySource(const std::string& cgroup_root = "/sys/fs/cgroup");
// A given cgroup directory: v1 (a memory-hierarchy directory with
// memory.limit_in_bytes) or v2 (with memory.max).
Result<std::unique_ptr<MemorySource>> OpenCgroupMemorySource(const std::string& directory);

struct MemoryPlan {
  uint64_t capacity_bytes = 0;
  uint64_t reserve_bytes = 0;
  uint64_t others_bytes = 0;  // unreclaimable memory that is not cleancache's
};

// See the rule above. `max_bytes`: the most cleancache may hold.
MemoryPlan PlanCapacity(const MemorySample& sample, uint64_t cleancache_real_bytes, uint64_t max_bytes);

// What the governed cleancache holds, as its backend reports it.
struct CleancacheUse {
  uint64_t real_bytes = 0;
  uint64_t evictions = 0;  // pages evicted so far (a counter)
};

struct MemoryGovernorStats {
  std::string source;
  uint64_t limit_bytes = 0;
  uint64_t unreclaimable_bytes = 0;
  uint64_t others_bytes = 0;
  uint64_t reserve_bytes = 0;
  uint64_t max_bytes = 0;
  uint64_t capacity_bytes = 0;  // the capacity set last
  uint64_t shrinks = 0;         // times the capacity went down
  uint64_t grows = 0;           // times it went up
  uint64_t sample_errors = 0;
};

class MemoryGovernor {
 public:
  static constexpr uint64_t kFloorBytes = 1ull << 20;

  // `usage`: what cleancache holds now; `set_capacity`: resizes it.
  // The first Tick always sets the capacity.
  MemoryGovernor(std::unique_ptr<MemorySource> source, uint64_t max_bytes, std::function<CleancacheUse()> usage,
                 std::function<void(uint64_t)> set_capacity);
  ~MemoryGovernor();  // stops the thread
  MemoryGovernor(const MemoryGovernor&) = delete;
  MemoryGovernor& operator=(const MemoryGovernor&) = delete;

  // One sample and, if the plan moved enough, a resize. Returns the capacity.
  uint64_t Tick();
  // Whether cleancache has room: new data would evict nothing. True while
  // its real memory is below 7/8 of the capacity (at least 8 MiB below) and
  // it evicted nothing since the last look: its shards fill unevenly
  // (measured: a 32 MiB zcache of 1 MiB segments in 8 shards evicted from
  // 25 MiB on). Fresh to within 1 ms (the backend is asked at most that
  // often), so a fast scan overshoots by little more than the put queue.
  bool HasRoom() const;
  // Ticks every `interval_ms` on a thread of its own until destroyed.
  void Start(unsigned interval_ms = 100);
  MemoryGovernorStats Stats() const;

 private:
  std::unique_ptr<MemorySource> source_;
  const std::function<CleancacheUse()> usage_;
  const std::function<void(uint64_t)> set_capacity_;
  mutable std::mutex mu_;  // guards stats_ and stop_; held across a Tick
  MemoryGovernorStats stats_;
  bool set_once_ = false;
  std::atomic<uint64_t> capacity_now_{0};
  mutable std::mutex room_mu_;  // one thread refreshes has_room_ at a time
  mutable std::atomic<bool> has_room_{true};
  mutable uint64_t last_evictions_ = 0;  // guarded by room_mu_
  mutable std::atomic<int64_t> room_checked_ns_{0};
  bool stop_ = false;
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace cleancache::fuse
