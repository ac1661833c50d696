// TestMount: a real cleancache mount for tests. Creates <tmp>/backing and
// <tmp>/mnt, runs `cleancache mount -f` as a child process, waits until the
// mount answers, and in the destructor unmounts (fusermount3 -u -z), reaps
// the child (SIGKILL after a bounded wait) and removes the directories.
#pragma once

#include <sys/types.h>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cleancache::testing {

class TestCgroup;

// Result of running a command: exit code (or -signal) and its stderr.
struct CommandResult {
  int exit_code = -1;
  std::string err;
};
// Runs argv[0] with argv, waiting at most `timeout_s`.
CommandResult RunCommand(const std::vector<std::string>& argv, int timeout_s = 60);
// Runs a shell line, returns its exit code.
int Shell(const std::string& line);

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& data);

class TestMount {
 public:
  // `extra` is appended to `cleancache mount -f BACKING MNT`; the mount
  // process runs in `cgroup` if given.
  explicit TestMount(std::vector<std::string> extra = {}, const TestCgroup* cgroup = nullptr);
  ~TestMount();
  TestMount(const TestMount&) = delete;
  TestMount& operator=(const TestMount&) = delete;

  bool ok() const { return mounted_; }
  const std::string& backing() const { return backing_; }
  const std::string& mnt() const { return mnt_; }
  const std::string& root() const { return root_; }
  std::string B(const std::string& rel) const { return backing_ + "/" + rel; }
  std::string M(const std::string& rel) const { return mnt_ + "/" + rel; }
  nlohmann::json Stats() const;
  // Kernel mode puts pages read in the background: waits until none is
  // queued (the mount's deferred_puts.queued is 0). False after 30 s.
  bool WaitForDeferredPuts() const;
  // Unmounts now (the destructor then only cleans up). True on success.
  bool Unmount();

 private:
  std::string root_, backing_, mnt_;
  pid_t child_ = -1;
  bool mounted_ = false;
};

// The racy window of the mount (see src/fuse/file_validator.h), plus margin:
// files prepared directly in the backing are cached only once this old.
void WaitUntilSettled();

}  // namespace cleancache::testing
