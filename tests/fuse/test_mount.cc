#include "fuse/test_mount.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "fuse/file_validator.h"
#include "fuse/mount.h"
#include "fuse/stats_socket.h"
#include "fuse/test_cgroup.h"

namespace cleancache::testing {
namespace {

using Clock = std::chrono::steady_clock;

bool WaitChild(pid_t pid, int* status, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Clock::now() < deadline) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

}  // namespace

CommandResult RunCommand(const std::vector<std::string>& argv, int timeout_s) {
  char err_template[] = "/tmp/cc-cmd-err-XXXXXX";
  int err_fd = mkstemp(err_template);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(err_fd, 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  CommandResult result;
  int status = 0;
  if (!WaitChild(pid, &status, timeout_s * 1000)) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  close(err_fd);
  result.err = ReadFile(err_template);
  unlink(err_template);
  return result;
}

int Shell(const std::string& line) {
  int status = system(line.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

TestMount::TestMount(std::vector<std::string> extra, const TestCgroup* cgroup) {
  char dir_template[] = "/tmp/cc-fuse-XXXXXX";
  root_ = mkdtemp(dir_template);
  backing_ = root_ + "/backing";
  mnt_ = root_ + "/mnt";
  mkdir(backing_.c_str(), 0755);
  mkdir(mnt_.c_str(), 0755);
  std::vector<std::string> argv = {CLEANCACHE_CLI_PATH, "mount", "-f", backing_, mnt_};
  argv.insert(argv.end(), extra.begin(), extra.end());
  child_ = fork();
  if (child_ == 0) {
    if (cgroup != nullptr && !cgroup->Join()) _exit(126);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  auto deadline = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < deadline) {
    if (fuse::FetchMountStats(mnt_).ok() && fuse::IsMountPoint(mnt_)) {
      mounted_ = true;
      return;
    }
    int status;
    if (waitpid(child_, &status, WNOHANG) == child_) {
      child_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool TestMount::Unmount() {
  if (!mounted_) return true;
  mounted_ = false;
  bool clean = RunCommand({"fusermount3", "-u", mnt_}).exit_code == 0;
  if (!clean) RunCommand({"fusermount3", "-u", "-z", mnt_});
  int status = 0;
  if (child_ > 0) {
    if (!WaitChild(child_, &status, 20000)) {
      kill(child_, SIGKILL);
      waitpid(child_, &status, 0);
      clean = false;
    }
    child_ = -1;
  }
  return clean && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TestMount::~TestMount() {
  Unmount();
  if (child_ > 0) {
    kill(child_, SIGKILL);
    waitpid(child_, nullptr, 0);
  }
  if (fuse::IsMountPoint(mnt_)) RunCommand({"fusermount3", "-u", "-z", mnt_});
  Shell("rm -rf '" + root_ + "'");
}

nlohmann::json TestMount::Stats() const {
  auto text = fuse::FetchMountStats(mnt_);
  if (!text.ok()) return nlohmann::json::object();
  return nlohmann::json::parse(*text, nullptr, false);
}

bool TestMount::WaitForDeferredPuts() const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    nlohmann::json stats = Stats();
    if (stats.contains("background_puts") && stats["background_puts"]["pending"].get<uint64_t>() == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

void WaitUntilSettled() { std::this_thread::sleep_for(std::chrono::nanoseconds(fuse::kRacyWindowNs + 20'000'000)); }

}  // namespace cleancache::testing
