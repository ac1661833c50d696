// CpuContention: whether more threads on this host want to run than there are
// CPUs, i.e. whether some runnable thread is waiting for a CPU. Pollers
// (FrameSocket) ask before they poll: polling only pays with CPU nobody else
// wants. A poller also keeps its CPU from going idle, which is when the kernel
// pulls waiting threads over from a busy CPU, so a sched_yield cannot see
// them (it only offers this CPU's queue): with four clients on two CPUs,
// polling cut the total get throughput by ~10% before this check.
//
// The source is the count of runnable threads in /proc/loadavg (4th field,
// "R/T"), compared with the online CPUs. One sample serves the whole process
// for kSampleInterval; whichever caller finds it stale takes the next one (a
// pread of an open descriptor, a few microseconds). Without /proc, the answer
// is "contended" (pollers then sleep at once, as if polling were off).
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace cleancache::daemon {

class CpuContention {
 public:
  static constexpr std::chrono::milliseconds kSampleInterval{1};

  // True when, at the last sample, runnable threads outnumbered the CPUs.
  static bool Now();

  // The runnable-thread count of a /proc/loadavg line ("0.5 0.4 0.3 2/130
  // 4242"), or nothing if it does not parse. Pure; exposed for tests.
  static std::optional<uint32_t> ParseRunnable(std::string_view loadavg);
};

}  // namespace cleancache::daemon
