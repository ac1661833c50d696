// Shares of memory (capacity=25%): the limit they are of, read from a fake
// cgroup tree (the paths are parameters), and once from a real cgroup.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cleancache/backend_spec.h"
#include "cleancache/spec_parser.h"
#include "fuse/test_cgroup.h"

namespace cleancache {
namespace {

constexpr uint64_t kMachine = 16ull << 30;  // the fake MemTotal

// A fake /proc/self/cgroup, /proc/meminfo and cgroup root in a temporary
// directory, removed at the end.
struct FakeMachine {
  std::filesystem::path root;
  MemoryLimitPaths paths;
  FakeMachine() {
    char dir_template[] = "/tmp/cc-memlimit-XXXXXX";
    root = mkdtemp(dir_template);
    paths.proc_cgroup = root / "cgroup";
    paths.meminfo = root / "meminfo";
    paths.cgroup_root = root / "sys";
    std::filesystem::create_directories(paths.cgroup_root);
    Write(paths.meminfo, "MemTotal:       " + std::to_string(kMachine / 1024) + " kB\nMemFree: 1 kB\n");
  }
  ~FakeMachine() { std::filesystem::remove_all(root); }
  static void Write(const std::filesystem::path& path, const std::string& text) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }
  void V2(const std::string& group) {
    Write(paths.cgroup_root + "/cgroup.controllers", "cpu memory\n");
    Write(paths.proc_cgroup, "0::" + group + "\n");
  }
  void Limit(const std::string& file, const std::string& value) { Write(paths.cgroup_root + file, value + "\n"); }
};

TEST(MemoryLimit, MachineWithoutCgroups) {
  FakeMachine m;
  auto limit = ProcessMemoryLimit(m.paths);
  ASSERT_TRUE(limit.ok()) << limit.status().ToString();
  EXPECT_EQ(limit->bytes, kMachine);
  EXPECT_EQ(limit->source, "machine");
}

TEST(MemoryLimit, V2TightestOverTheGroupAndItsParents) {
  FakeMachine m;
  m.V2("/a/b");
  m.Limit("/a/b/memory.max", "1073741824");
  m.Limit("/a/memory.max", "536870912");
  m.Limit("/memory.max", "max");
  auto limit = ProcessMemoryLimit(m.paths);
  ASSERT_TRUE(limit.ok()) << limit.status().ToString();
  EXPECT_EQ(limit->bytes, 512ull << 20);
  EXPECT_EQ(limit->source, "cgroup v2 /a/b");
  auto share = ParseCapacity("25%", m.paths);
  ASSERT_TRUE(share.ok()) << share.status().ToString();
  EXPECT_EQ(*share, 128ull << 20);
}

TEST(MemoryLimit, V2WithoutALimitOrAboveTheMachineIsTheMachine) {
  FakeMachine m;
  m.V2("/a");
  m.Limit("/a/memory.max", "max");
  EXPECT_EQ(ProcessMemoryLimit(m.paths)->source, "machine");
  m.Limit("/a/memory.max", std::to_string(kMachine * 2));
  EXPECT_EQ(ProcessMemoryLimit(m.paths)->bytes, kMachine);
}

TEST(MemoryLimit, V2UnderUnifiedInAHybridSetup) {
  FakeMachine m;
  FakeMachine::Write(m.paths.cgroup_root + "/unified/cgroup.controllers", "\n");
  FakeMachine::Write(m.paths.proc_cgroup, "4:memory:/\n0::/svc\n");
  m.Limit("/unified/svc/memory.max", "268435456");
  EXPECT_EQ(ProcessMemoryLimit(m.paths)->bytes, 256ull << 20);
}

TEST(MemoryLimit, V1MemoryHierarchyWithCombinedControllers) {
  FakeMachine m;
  FakeMachine::Write(m.paths.proc_cgroup, "5:cpu,memory:/x/y\n1:name=systemd:/\n0::/\n");
  m.Limit("/memory/x/y/memory.limit_in_bytes", "9223372036854771712");  // v1's "no limit"
  m.Limit("/memory/x/memory.limit_in_bytes", "268435456");
  m.Limit("/memory/memory.limit_in_bytes", "9223372036854771712");
  auto limit = ProcessMemoryLimit(m.paths);
  ASSERT_TRUE(limit.ok()) << limit.status().ToString();
  EXPECT_EQ(limit->bytes, 256ull << 20);
  EXPECT_EQ(limit->source, "cgroup v1 /x/y");
  EXPECT_EQ(*ParseCapacity("50%", m.paths), 128ull << 20);
}

TEST(MemoryLimit, GroupNotVisibleIsSkipped) {
  FakeMachine m;
  FakeMachine::Write(m.paths.proc_cgroup, "4:memory:/elsewhere/c1\n0::/\n");
  std::filesystem::create_directories(m.paths.cgroup_root + "/memory");
  EXPECT_EQ(ProcessMemoryLimit(m.paths)->bytes, kMachine);
}

TEST(MemoryLimit, UnreadableMeminfoIsAnError) {
  FakeMachine m;
  std::filesystem::remove(m.paths.meminfo);
  auto limit = ProcessMemoryLimit(m.paths);
  EXPECT_FALSE(limit.ok());
  auto share = ParseCapacity("25%", m.paths);
  ASSERT_FALSE(share.ok());
  EXPECT_NE(share.status().message().find("share '25%'"), std::string::npos) << share.status().message();
}

TEST(ParseCapacity, SizesSharesAndBadShares) {
  FakeMachine m;
  EXPECT_EQ(*ParseCapacity("1G", m.paths), 1ull << 30);
  EXPECT_EQ(*ParseCapacity("100%", m.paths), kMachine);
  EXPECT_EQ(*ParseCapacity("12.5%", m.paths), kMachine / 8);
  // Whole pages, rounded down.
  EXPECT_EQ(*ParseCapacity("0.00001%", m.paths) % 4096, 0u);
  for (const char* bad : {"0%", "101%", "%", "abc%", "-5%", "25 %x"}) {
    auto r = ParseCapacity(bad, m.paths);
    EXPECT_FALSE(r.ok()) << bad;
  }
  auto r = ParseCapacity("150%", m.paths);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("bad share '150%'"), std::string::npos) << r.status().message();
}

// The spec checker takes shares where a capacity goes, and names the
// culprit for a bad one.
TEST(ParseCapacity, InBackendSpecs) {
  EXPECT_TRUE(ParseAndCheckBackendSpec("zcache:capacity=5%").ok());
  EXPECT_TRUE(ParseAndCheckBackendSpec("tier:zcache:capacity=1%+zcache:capacity=2%").ok());
  auto bad = ParseAndCheckBackendSpec("zcache:capacity=250%");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("zcache: capacity: bad share '250%'"), std::string::npos)
      << bad.status().message();
  auto backend = CreateBackend("zcache:capacity=1%");
  ASSERT_TRUE(backend.ok()) << backend.status().ToString();
}

// A real memory cgroup: a child process that joined one with a 256 MiB
// limit sees it (default paths).
TEST(MemoryLimit, RealCgroup) {
  testing::TestCgroup group(256ull << 20);
  if (!group.ok()) GTEST_SKIP() << "cannot make a memory cgroup here (not root, or no memory controller)";
  pid_t child = fork();
  if (child == 0) {
    if (!group.Join()) _exit(2);
    auto limit = ProcessMemoryLimit();
    auto share = ParseCapacity("50%");
    _exit(limit.ok() && limit->bytes == (256ull << 20) && share.ok() && *share == (128ull << 20) ? 0 : 1);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child saw a different limit (2: could not join)";
}

}  // namespace
}  // namespace cleancache
