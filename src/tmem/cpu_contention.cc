#include "tmem/cpu_contention.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <thread>

namespace cleancache::daemon {
namespace {

using Clock = std::chrono::steady_clock;

struct Sampler {
  Sampler() : fd(::open("/proc/loadavg", O_RDONLY | O_CLOEXEC)), cpus(std::thread::hardware_concurrency()) {}
  ~Sampler() {
    if (fd >= 0) ::close(fd);
  }
  // True if runnable threads outnumber the CPUs (or that cannot be known).
  bool Sample() const {
    if (fd < 0 || cpus == 0) return true;
    char text[128];
    const ssize_t n = ::pread(fd, text, sizeof(text) - 1, 0);
    if (n <= 0) return true;
    const auto runnable = CpuContention::ParseRunnable({text, static_cast<size_t>(n)});
    return !runnable || *runnable > cpus;
  }

  const int fd;
  const uint32_t cpus;
  std::atomic<int64_t> next_sample_ns{0};
  std::atomic<bool> contended{true};
};

Sampler& TheSampler() {
  static Sampler sampler;
  return sampler;
}

}  // namespace

bool CpuContention::Now() {
  Sampler& s = TheSampler();
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
  int64_t due = s.next_sample_ns.load(std::memory_order_relaxed);
  if (now >= due && s.next_sample_ns.compare_exchange_strong(
                        due, now + std::chrono::duration_cast<std::chrono::nanoseconds>(kSampleInterval).count(),
                        std::memory_order_relaxed)) {
    s.contended.store(s.Sample(), std::memory_order_relaxed);
  }
  return s.contended.load(std::memory_order_relaxed);
}

std::optional<uint32_t> CpuContention::ParseRunnable(std::string_view loadavg) {
  // Skip the three load averages to the "R/T" field.
  size_t at = 0;
  for (int field = 0; field < 3; ++field) {
    at = loadavg.find(' ', at);
    if (at == std::string_view::npos) return std::nullopt;
    ++at;
  }
  const size_t slash = loadavg.find('/', at);
  if (slash == std::string_view::npos) return std::nullopt;
  uint32_t runnable = 0;
  const auto [end, ec] = std::from_chars(loadavg.data() + at, loadavg.data() + slash, runnable);
  if (ec != std::errc() || end != loadavg.data() + slash) return std::nullopt;
  return runnable;
}

}  // namespace cleancache::daemon
