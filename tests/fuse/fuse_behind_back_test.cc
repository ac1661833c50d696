// Changes made directly in the backing, behind the mount's back, are seen
// by the next read through the mount at the default options, in both
// modes (src/fuse/backing_watcher.h). A seeded random sequence of changes
// (replace by rename, truncate, same-size rewrite within the same second,
// rewrite with the mtime restored, append, delete and recreate, rename away
// and put a new file in place, a new directory entry) each followed at once
// by reads through the mount (open, read, close; then stat) of files the
// kernel and cleancache hold pages of. Every read must return what the
// backing holds: zero stale reads.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "fuse/test_mount.h"

namespace cleancache::testing {
namespace {

// Content that differs in every byte position from one version to the next.
std::string Content(std::mt19937_64& rng, size_t size) {
  std::string s(size, '\0');
  for (auto& c : s) c = static_cast<char>('a' + rng() % 26);
  return s;
}

void WriteInPlace(const std::string& path, const std::string& data) {
  int fd = open(path.c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  close(fd);
}

// (--primary, --watch-backing scope): the directories scope is what a mount
// that is not root gets; forced here under root.
using Params = std::tuple<std::string, std::string>;

class BehindTheBack : public ::testing::TestWithParam<Params> {
 protected:
  std::vector<std::string> Options() const {
    return {"--primary", std::get<0>(GetParam()), "--watch-backing", std::get<1>(GetParam())};
  }
};

std::string ParamName(const ::testing::TestParamInfo<Params>& info) {
  std::string scope = std::get<1>(info.param);
  scope[0] = static_cast<char>(std::toupper(scope[0]));
  return (std::get<0>(info.param) == "kernel" ? "KernelPrimary" : "OwnPrimary") + scope;
}

TEST_P(BehindTheBack, RandomChangesAreNeverReadStale) {
  if (geteuid() != 0) GTEST_SKIP() << "the backing is watched with fanotify, which needs root";
  TestMount mount(Options());
  ASSERT_TRUE(mount.ok());
  std::mt19937_64 rng(20261207);
  constexpr int kFiles = 4;
  std::map<std::string, std::string> truth;  // name -> content in the backing
  for (int i = 0; i < kFiles; ++i) {
    std::string name = "f" + std::to_string(i);
    truth[name] = Content(rng, 3 * 4096 + 100 * i);
    WriteFile(mount.B(name), truth[name]);
  }
  WaitUntilSettled();  // so that the first versions are cached (not racy)
  // Warm: pages in the kernel's cache (kernel mode) or the mount's primary,
  // and in cleancache.
  for (auto& [name, data] : truth) {
    ASSERT_EQ(ReadFile(mount.M(name)), data);
    ASSERT_EQ(ReadFile(mount.M(name)), data);
  }
  int stale = 0;
  for (int step = 0; step < 300; ++step) {
    std::string name = "f" + std::to_string(rng() % kFiles);
    std::string& data = truth[name];
    std::string path = mount.B(name);
    int change = static_cast<int>(rng() % 7);
    switch (change) {
      case 0: {  // replace by rename
        data = Content(rng, 4096 + rng() % (5 * 4096));
        WriteFile(path + ".tmp", data);
        ASSERT_EQ(rename((path + ".tmp").c_str(), path.c_str()), 0);
        break;
      }
      case 1: {  // truncate
        size_t size = data.empty() ? 0 : rng() % data.size();
        ASSERT_EQ(truncate(path.c_str(), static_cast<off_t>(size)), 0);
        data.resize(size);
        break;
      }
      case 2: {  // same-size rewrite in place, within the same second
        data = Content(rng, data.size());
        WriteInPlace(path, data);
        break;
      }
      case 3: {  // rewrite in place, then the old mtime put back (touch -d)
        struct stat before;
        ASSERT_EQ(stat(path.c_str(), &before), 0);
        data = Content(rng, data.size());
        WriteInPlace(path, data);
        timespec times[2] = {before.st_atim, before.st_mtim};
        ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
        break;
      }
      case 4: {  // append
        std::string more = Content(rng, 1 + rng() % 9000);
        int fd = open(path.c_str(), O_WRONLY | O_APPEND);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(write(fd, more.data(), more.size()), static_cast<ssize_t>(more.size()));
        close(fd);
        data += more;
        break;
      }
      case 5: {  // delete and recreate
        ASSERT_EQ(unlink(path.c_str()), 0);
        data = Content(rng, 4096 + rng() % 8192);
        WriteFile(path, data);
        break;
      }
      case 6: {  // rename away (the old file lives on elsewhere), new file in place
        ASSERT_EQ(rename(path.c_str(), (path + ".old").c_str()), 0);
        data = Content(rng, 2 * 4096 + rng() % 4096);
        WriteFile(path, data);
        break;
      }
    }
    // Right after the change: read through the mount, then its size.
    std::string seen = ReadFile(mount.M(name));
    if (seen != data) {
      ++stale;
      ADD_FAILURE() << "step " << step << " change " << change << " on " << name << ": read " << seen.size()
                    << " bytes, backing holds " << data.size();
    }
    struct stat st;
    ASSERT_EQ(stat(mount.M(name).c_str(), &st), 0);
    if (static_cast<size_t>(st.st_size) != data.size()) {
      ++stale;
      ADD_FAILURE() << "step " << step << " change " << change << " on " << name << ": size " << st.st_size
                    << ", backing holds " << data.size();
    }
    // Read it again, so that this version is what the caches hold next.
    if (rng() % 2 == 0) {
      EXPECT_EQ(ReadFile(mount.M(name)), data);
    }
  }
  EXPECT_EQ(stale, 0);
  auto stats = mount.Stats();
  EXPECT_EQ(stats["watch"]["mode"], std::get<1>(GetParam()));
  EXPECT_GT(stats["watch"]["inode_invalidations"].get<uint64_t>(), 0u);
  EXPECT_GT(stats["watch"]["entry_invalidations"].get<uint64_t>(), 0u);
}

// A name created in the backing after the kernel cached it as absent.
TEST_P(BehindTheBack, NewEntryIsSeenAtOnce) {
  if (geteuid() != 0) GTEST_SKIP() << "the backing is watched with fanotify, which needs root";
  TestMount mount(Options());
  ASSERT_TRUE(mount.ok());
  struct stat st;
  ASSERT_NE(stat(mount.M("new").c_str(), &st), 0);  // a negative entry, cached for --timeout
  WriteFile(mount.B("new"), "fresh");
  EXPECT_EQ(ReadFile(mount.M("new")), "fresh");
  ASSERT_EQ(mkdir(mount.B("dir").c_str(), 0755), 0);
  WriteFile(mount.B("dir/inner"), "x");
  EXPECT_EQ(ReadFile(mount.M("dir/inner")), "x");
  // A change in a subdirectory the kernel knows (watched in either scope).
  WriteFile(mount.B("dir/inner.new"), "y2");
  ASSERT_EQ(rename(mount.B("dir/inner.new").c_str(), mount.B("dir/inner").c_str()), 0);
  EXPECT_EQ(ReadFile(mount.M("dir/inner")), "y2");
}

// Changes made through the mount are not re-reported to it.
TEST_P(BehindTheBack, OwnChangesAreSkipped) {
  if (geteuid() != 0) GTEST_SKIP() << "the backing is watched with fanotify, which needs root";
  TestMount mount(Options());
  ASSERT_TRUE(mount.ok());
  for (int i = 0; i < 20; ++i) WriteFile(mount.M("f" + std::to_string(i)), std::string(5000, 'a'));
  for (int i = 0; i < 20; ++i) ASSERT_EQ(rename(mount.M("f" + std::to_string(i)).c_str(), mount.M("g").c_str()), 0);
  // Read something through the mount so that its Open drains the queue.
  EXPECT_EQ(ReadFile(mount.M("g")), std::string(5000, 'a'));
  auto watch = mount.Stats()["watch"];
  EXPECT_GT(watch["own_events"].get<uint64_t>(), 0u);
  EXPECT_EQ(watch["inode_invalidations"].get<uint64_t>(), 0u);
  EXPECT_EQ(watch["entry_invalidations"].get<uint64_t>(), 0u);
}

// A file unlinked through the mount can still be reopened through
// /proc/self/fd, as on a local filesystem (no ESTALE for it).
TEST_P(BehindTheBack, FileUnlinkedThroughTheMountReopensByDescriptor) {
  TestMount mount(Options());
  ASSERT_TRUE(mount.ok());
  WriteFile(mount.M("doomed"), "still readable");
  int fd = open(mount.M("doomed").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(unlink(mount.M("doomed").c_str()), 0);
  EXPECT_EQ(ReadFile("/proc/self/fd/" + std::to_string(fd)), "still readable");
  close(fd);
  EXPECT_EQ(mount.Stats()["watch"]["stale_opens"].get<uint64_t>(), 0u);
}

// A backing on a FUSE (or network) filesystem: the watcher hears only
// changes made through this machine's kernel, and says so.
TEST(BehindTheBackRemote, AFuseBackingIsWatchedForLocalChangesOnlyAndSaysSo) {
  if (geteuid() != 0) GTEST_SKIP() << "fanotify with file handles on FUSE needs root here";
  TestMount inner;
  ASSERT_TRUE(inner.ok());
  const std::string outer = inner.root() + "/outer";
  ASSERT_EQ(mkdir(outer.c_str(), 0755), 0);
  auto r = RunCommand({CLEANCACHE_CLI_PATH, "mount", inner.mnt(), outer}, 30);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct LazyUnmount {  // also when an assertion below fails
    std::string path;
    ~LazyUnmount() { RunCommand({"fusermount3", "-u", "-z", path}); }
  } lazy_unmount{outer};
  EXPECT_NE(r.err.find("only changes made through this machine's kernel"), std::string::npos) << r.err;
  const std::string json = inner.root() + "/stats.json";
  EXPECT_EQ(Shell(std::string(CLEANCACHE_CLI_PATH) + " stats --json '" + outer + "' > '" + json + "'"), 0);
  auto stats = nlohmann::json::parse(ReadFile(json), nullptr, false);
  EXPECT_NE(stats["watch"]["mode"].get<std::string>().find("local changes only: the backing is fuse"),
            std::string::npos)
      << stats["watch"]["mode"];
  WriteFile(inner.M("f"), "through the inner mount");
  EXPECT_EQ(ReadFile(outer + "/f"), "through the inner mount");
  EXPECT_EQ(RunCommand({CLEANCACHE_CLI_PATH, "umount", outer}).exit_code, 0);
}

INSTANTIATE_TEST_SUITE_P(Modes, BehindTheBack,
                         ::testing::Combine(::testing::Values("kernel", "1M"),
                                            ::testing::Values("filesystem", "directories")),
                         ParamName);

}  // namespace
}  // namespace cleancache::testing
