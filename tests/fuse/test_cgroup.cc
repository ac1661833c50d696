#include "fuse/test_cgroup.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace cleancache::testing {
namespace {

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

bool WriteValue(const std::string& path, const std::string& value) {
  std::ofstream out(path);
  out << value;
  out.flush();
  return static_cast<bool>(out);
}

}  // namespace

TestCgroup::TestCgroup(uint64_t limit_bytes) {
#if defined(__SANITIZE_THREAD__)
  return;
#endif
  if (geteuid() != 0) return;
  std::string name = "cc-test-" + std::to_string(getpid()) + "-" +
                     std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  // v1's memory hierarchy, else v2 (its memory controller enabled below the root).
  std::string root, limit_file;
  if (Exists("/sys/fs/cgroup/memory/memory.limit_in_bytes") || Exists("/sys/fs/cgroup/memory/memory.stat")) {
    root = "/sys/fs/cgroup/memory/", limit_file = "/memory.limit_in_bytes", version_ = 1;
  } else if (Exists("/sys/fs/cgroup/cgroup.controllers")) {
    WriteValue("/sys/fs/cgroup/cgroup.subtree_control", "+memory");
    root = "/sys/fs/cgroup/", limit_file = "/memory.max", version_ = 2;
  } else {
    return;
  }
  std::string dir = root + name;
  if (mkdir(dir.c_str(), 0755) != 0) return;
  if (!WriteValue(dir + limit_file, std::to_string(limit_bytes))) {
    rmdir(dir.c_str());
    return;
  }
  if (version_ == 2) WriteValue(dir + "/memory.swap.max", "0");
  dir_ = dir;
}

TestCgroup::~TestCgroup() {
  if (dir_.empty()) return;
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::ifstream procs(dir_ + "/cgroup.procs");
    pid_t pid;
    bool any = false;
    while (procs >> pid) {
      kill(pid, SIGKILL);
      any = true;
    }
    if (!any && rmdir(dir_.c_str()) == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

bool TestCgroup::Join(pid_t pid) const {
  return ok() && WriteValue(dir_ + "/cgroup.procs", std::to_string(pid == 0 ? getpid() : pid));
}

uint64_t TestCgroup::OomKills() const {
  std::ifstream in(dir_ + (version_ == 1 ? "/memory.oom_control" : "/memory.events"));
  std::string key;
  uint64_t value;
  while (in >> key >> value) {
    if (key == "oom_kill") return value;
  }
  return 0;
}

pid_t StartMemoryHog(const TestCgroup& group, uint64_t bytes, uint64_t step_bytes, unsigned step_pause_us, int ready) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  if (!group.Join()) _exit(2);
  char* p = static_cast<char*>(mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (p == MAP_FAILED) _exit(3);
  for (uint64_t done = 0; done < bytes; done += step_bytes) {
    std::memset(p + done, 0x5a, std::min(step_bytes, bytes - done));
    if (step_pause_us != 0) usleep(step_pause_us);
  }
  char c = 1;
  (void)!write(ready, &c, 1);
  pause();
  _exit(0);
}

}  // namespace cleancache::testing
