// The mount's stats and metrics from outside: who may read them
// (--stats-access, checked with SO_PEERCRED), the Prometheus endpoint
// (--metrics) scraped and checked line by line, the refusal of bad
// addresses, and `stats --watch` ending with its mount or on Ctrl-C.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <string>
#include <thread>

#include "fuse/as_user.h"
#include "fuse/mount.h"
#include "fuse/stats_socket.h"
#include "fuse/test_mount.h"
#include "support/prometheus_check.h"

namespace cleancache {
namespace {

using testing::AsNobody;
using testing::Caller;
using testing::CheckExposition;
using testing::HttpGet;
using testing::ReadFile;
using testing::RunAs;
using testing::RunCommand;
using testing::Shell;
using testing::TestMount;
using testing::WriteFile;

// Exit code of a child that fetched the stats as `caller`: 0 read them,
// 13 refused (EACCES), anything else another failure.
int FetchAs(const Caller& caller, const std::string& mnt) {
  return RunAs(caller, [&mnt] {
    auto text = fuse::FetchMountStats(mnt);
    if (text.ok()) return true;
    errno = text.status().code() == Status::Code::kPermissionDenied ? EACCES : EIO;
    return false;
  });
}

// Others reach the mountpoint through the test's private directory.
void OpenToOthers(const TestMount& mount) { chmod(mount.root().c_str(), 0755); }

TEST(FuseStatsAccess, OwnerAndRootOnlyByDefault) {
  if (getuid() != 0) GTEST_SKIP() << "needs root to act as another user";
  TestMount mount;
  ASSERT_TRUE(mount.ok());
  OpenToOthers(mount);
  EXPECT_EQ(FetchAs(Caller{}, mount.mnt()), EACCES);
  EXPECT_TRUE(fuse::FetchMountStats(mount.mnt()).ok());  // root (and the owner: the same uid here)
  // The CLI says why, exit 1.
  const std::string err = mount.root() + "/err";
  EXPECT_EQ(Shell("setpriv --reuid=65534 --regid=65534 --clear-groups " + std::string(CLEANCACHE_CLI_PATH) +
                  " stats '" + mount.mnt() + "' 2>'" + err + "' >/dev/null"),
            1);
  EXPECT_NE(ReadFile(err).find("permission denied"), std::string::npos) << ReadFile(err);
}

TEST(FuseStatsAccess, AllOrAGroupWidensIt) {
  if (getuid() != 0) GTEST_SKIP() << "needs root to act as another user";
  {
    TestMount mount({"--stats-access", "all"});
    ASSERT_TRUE(mount.ok());
    OpenToOthers(mount);
    EXPECT_EQ(FetchAs(Caller{}, mount.mnt()), 0);
  }
  constexpr gid_t kGroup = 4242;  // a number: no group database entry needed
  TestMount mount({"--stats-access", std::to_string(kGroup)});
  ASSERT_TRUE(mount.ok());
  OpenToOthers(mount);
  EXPECT_EQ(FetchAs(Caller{}, mount.mnt()), EACCES);
  Caller primary;
  primary.gid = kGroup;
  EXPECT_EQ(FetchAs(primary, mount.mnt()), 0);
  Caller supplementary;
  supplementary.groups = {100, kGroup};
  EXPECT_EQ(FetchAs(supplementary, mount.mnt()), 0);
}

TEST(FuseMetrics, EndpointIsValidExpositionAndCountersMove) {
  TestMount mount({"--metrics", "127.0.0.1:0"});
  ASSERT_TRUE(mount.ok());
  const std::string address = mount.Stats()["mount"].value("metrics_address", std::string());
  ASSERT_TRUE(address.starts_with("127.0.0.1:")) << mount.Stats()["mount"].dump();
  const uint16_t port = static_cast<uint16_t>(std::stoi(address.substr(10)));
  auto reply = HttpGet(port, "/metrics");
  ASSERT_EQ(reply.status, 200);
  auto before = CheckExposition(reply.body);
  ASSERT_TRUE(before.error.empty()) << before.error << "\n" << reply.body;
  for (const char* counter : {"cleancache_hits_total", "cleancache_misses_total", "cleancache_evictions_total",
                              "cleancache_backing_read_bytes_total", "cleancache_read_bytes_total"}) {
    EXPECT_EQ(before.types[counter], "counter") << counter;
  }
  EXPECT_EQ(before.types["cleancache_memory_used_bytes"], "gauge");
  EXPECT_EQ(before.types["cleancache_build_info"], "gauge");
  EXPECT_EQ(before.Value("cleancache_mount_info{mountpoint=\"" + mount.mnt() + "\",backing=\"" + mount.backing() +
                         "\",backend=\"" + mount.Stats()["mount"]["backend"].get<std::string>() + "\"}"),
            1)
      << reply.body;
  // Traffic: a file written behind the mount, read through it.
  WriteFile(mount.B("f"), std::string(1 << 20, 'x'));
  testing::WaitUntilSettled();
  EXPECT_EQ(ReadFile(mount.M("f")).size(), 1u << 20);
  ASSERT_TRUE(mount.WaitForDeferredPuts());
  auto after = CheckExposition(HttpGet(port, "/metrics").body);
  ASSERT_TRUE(after.error.empty()) << after.error;
  EXPECT_GE(after.Value("cleancache_read_bytes_total"), before.Value("cleancache_read_bytes_total") + (1 << 20));
  EXPECT_GE(after.Value("cleancache_backing_read_bytes_total"),
            before.Value("cleancache_backing_read_bytes_total") + (1 << 20));
  EXPECT_GT(after.Value("cleancache_misses_total"), before.Value("cleancache_misses_total"));
  EXPECT_GT(after.Value("cleancache_puts_total"), before.Value("cleancache_puts_total"));
  EXPECT_GT(after.Value("cleancache_pages_stored"), 0);
}

TEST(FuseMetrics, NonLoopbackAddressOrUnknownAccessIsBadInput) {
  char dir_template[] = "/tmp/cc-fuse-metrics-XXXXXX";
  const std::string root = mkdtemp(dir_template);
  mkdir((root + "/b").c_str(), 0755);
  mkdir((root + "/m").c_str(), 0755);
  for (const std::vector<std::string>& extra :
       std::vector<std::vector<std::string>>{{"--metrics", "0.0.0.0:9478"},
                                             {"--metrics", "192.168.1.1:9478"},
                                             {"--metrics", "127.0.0.1:notaport"},
                                             {"--stats-access", "no-such-group-here"}}) {
    std::vector<std::string> argv = {CLEANCACHE_CLI_PATH, "mount", root + "/b", root + "/m"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto r = RunCommand(argv, 30);
    EXPECT_EQ(r.exit_code, 2) << extra[0] << " " << extra[1] << ": " << r.err;
    EXPECT_NE(r.err.find(extra[0]), std::string::npos) << r.err;
    EXPECT_FALSE(fuse::IsMountPoint(root + "/m"));
  }
  if (fuse::IsMountPoint(root + "/m")) RunCommand({"fusermount3", "-u", "-z", root + "/m"});
  Shell("rm -rf '" + root + "'");
}

// `stats --watch` in the background; its exit code and stderr in files.
std::string StartWatch(const TestMount& mount) {
  const std::string dir = mount.root();
  Shell("(" + std::string(CLEANCACHE_CLI_PATH) + " stats '" + mount.mnt() + "' --watch 0.2 >'" + dir +
        "/watch.out' 2>'" + dir + "/watch.err' & echo $! >'" + dir + "/watch.pid'; wait $!; echo $? >'" + dir +
        "/watch.rc') >/dev/null 2>&1 &");
  return dir;
}

std::string WaitForFile(const std::string& path) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string text = ReadFile(path);
    if (!text.empty() && text.back() == '\n') return text;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return "";
}

TEST(FuseStatsWatch, EndsWithAMessageWhenTheMountGoesAway) {
  TestMount mount;
  ASSERT_TRUE(mount.ok());
  const std::string dir = StartWatch(mount);
  // Two lines of rates first, so the watch is running when the mount goes.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  auto lines = [&dir] {
    const std::string out = ReadFile(dir + "/watch.out");
    return std::count(out.begin(), out.end(), '\n');
  };
  while (lines() < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(mount.Unmount());
  EXPECT_EQ(WaitForFile(dir + "/watch.rc"), "1\n");
  const std::string out = ReadFile(dir + "/watch.out"), err = ReadFile(dir + "/watch.err");
  EXPECT_NE(out.find("hits/s"), std::string::npos) << out;
  EXPECT_NE(err.find("went away"), std::string::npos) << err;
}

TEST(FuseStatsWatch, CtrlCStopsItCleanly) {
  TestMount mount;
  ASSERT_TRUE(mount.ok());
  const std::string dir = StartWatch(mount);
  const std::string pid = WaitForFile(dir + "/watch.pid");
  ASSERT_FALSE(pid.empty());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (ReadFile(dir + "/watch.out").find("hits/s") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(kill(std::stoi(pid), SIGINT), 0);
  EXPECT_EQ(WaitForFile(dir + "/watch.rc"), "0\n") << ReadFile(dir + "/watch.err");
  EXPECT_TRUE(mount.ok());
}

}  // namespace
}  // namespace cleancache
