// BackingWatcher without a mount: a sink records what it hears about a
// temporary directory changed by a child process (the watcher skips its
// own process's changes), in both scopes; Drain() from several threads at
// once beside the watcher's own thread (run under TSan: label concurrency).
#include "fuse/backing_watcher.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fuse/file_validator.h"

namespace cleancache::fuse {
namespace {

class RecordingSink : public ChangeSink {
 public:
  void FileChanged(const FileKey& file) override {
    std::lock_guard lock(mu_);
    files_.insert(file.ToString());
  }
  void EntryChanged(const FileKey& directory, std::string_view name, const FileKey* departed) override {
    std::lock_guard lock(mu_);
    entries_.insert(directory.ToString() + "/" + std::string(name));
    if (departed != nullptr) departed_.insert(departed->ToString());
  }
  void Overflow() override { ++overflows_; }

  bool HasFile(const FileKey& key) {
    std::lock_guard lock(mu_);
    return files_.count(key.ToString()) != 0;
  }
  bool HasEntry(const FileKey& directory, const std::string& name) {
    std::lock_guard lock(mu_);
    return entries_.count(directory.ToString() + "/" + name) != 0;
  }
  bool HasDeparted(const FileKey& key) {
    std::lock_guard lock(mu_);
    return departed_.count(key.ToString()) != 0;
  }

 private:
  std::mutex mu_;
  std::set<std::string> files_, entries_, departed_;
  std::atomic<int> overflows_{0};
};

// Runs `op` in a child process: its changes are not the watcher's own.
void InChild(const std::function<void()>& op) {
  pid_t pid = fork();
  if (pid == 0) {
    op();
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

void Write(const std::string& path, const std::string& data) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size())) _exit(1);
  close(fd);
}

class Watcher : public ::testing::TestWithParam<BackingWatcher::Scope> {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/cc-watch-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    root_ = dir_template;
    root_fd_ = open(root_.c_str(), O_PATH | O_DIRECTORY);
    ASSERT_GE(root_fd_, 0);
    struct stat st;
    ASSERT_EQ(fstat(root_fd_, &st), 0);
    device_ = st.st_dev;
    auto watcher = BackingWatcher::Start(root_fd_, device_, GetParam(), &sink_);
    if (!watcher.ok()) GTEST_SKIP() << "fanotify cannot watch here: " << watcher.status().ToString();
    watcher_ = std::move(*watcher);
  }
  void TearDown() override {
    watcher_.reset();
    if (root_fd_ >= 0) close(root_fd_);
    if (!root_.empty()) std::system(("rm -rf '" + root_ + "'").c_str());
  }
  FileKey Key(const std::string& rel) {
    auto key = FileKey::FromHandleAt(AT_FDCWD, (root_ + "/" + rel).c_str(), false);
    EXPECT_TRUE(key.ok()) << key.status().ToString();
    return DeviceQualified(*key, device_);
  }
  // Waits (bounded) for `done`, draining from this thread too.
  bool Eventually(const std::function<bool()>& done) {
    for (int i = 0; i < 2000; ++i) {
      watcher_->Drain();
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
  }

  std::string root_;
  int root_fd_ = -1;
  dev_t device_ = 0;
  RecordingSink sink_;
  std::unique_ptr<BackingWatcher> watcher_;
};

TEST_P(Watcher, ReportsAnotherProcesssChangesByHandleAndName) {
  Write(root_ + "/f", "one");  // this process: skipped
  FileKey root = Key("");
  FileKey f = Key("f");
  InChild([&] { Write(root_ + "/f", "two, longer"); });
  EXPECT_TRUE(Eventually([&] { return sink_.HasFile(f); })) << "a write by another process";
  InChild([&] { Write(root_ + "/g", "new"); });
  EXPECT_TRUE(Eventually([&] { return sink_.HasEntry(root, "g"); })) << "a name created";
  FileKey g = Key("g");
  InChild([&] {
    if (rename((root_ + "/g").c_str(), (root_ + "/h").c_str()) != 0) _exit(1);
  });
  EXPECT_TRUE(Eventually([&] { return sink_.HasEntry(root, "h") && sink_.HasDeparted(g); }))
      << "a rename names both entries and the file that left the old one";
  InChild([&] { unlink((root_ + "/f").c_str()); });
  EXPECT_TRUE(Eventually([&] { return sink_.HasDeparted(f); })) << "an unlink";
}

// (Other processes' changes elsewhere on the filesystem do reach the sink
// in the filesystem scope; none of this process's may.)
TEST_P(Watcher, OwnChangesAreSkipped) {
  for (int i = 0; i < 50; ++i) Write(root_ + "/own" + std::to_string(i), "x");
  watcher_->Drain();
  WatcherStats stats = watcher_->Stats();
  EXPECT_GE(stats.own_events, 50u);
  FileKey root = Key("");
  for (int i = 0; i < 50; ++i) {
    const std::string name = "own" + std::to_string(i);
    EXPECT_FALSE(sink_.HasFile(Key(name))) << name;
    EXPECT_FALSE(sink_.HasEntry(root, name)) << name;
  }
}

// Drain from several threads while the watcher's thread runs and a child
// makes changes: every change is heard, nothing races (TSan).
TEST_P(Watcher, ConcurrentDrainsHearEveryChange) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> drainers;
  for (int t = 0; t < 3; ++t) {
    drainers.emplace_back([&] {
      while (!stop) watcher_->Drain();
    });
  }
  InChild([&] {
    for (int i = 0; i < 100; ++i) Write(root_ + "/c" + std::to_string(i), "payload " + std::to_string(i));
  });
  FileKey root = Key("");
  bool all = Eventually([&] {
    for (int i = 0; i < 100; ++i) {
      if (!sink_.HasEntry(root, "c" + std::to_string(i))) return false;
    }
    return true;
  });
  stop = true;
  for (auto& d : drainers) d.join();
  EXPECT_TRUE(all);
  EXPECT_EQ(watcher_->Stats().overflows, 0u);
}

std::string ScopeName(const ::testing::TestParamInfo<BackingWatcher::Scope>& info) {
  return info.param == BackingWatcher::Scope::kFilesystem ? "Filesystem" : "Directories";
}

INSTANTIATE_TEST_SUITE_P(Scopes, Watcher,
                         ::testing::Values(BackingWatcher::Scope::kFilesystem, BackingWatcher::Scope::kDirectories),
                         ScopeName);

}  // namespace
}  // namespace cleancache::fuse
