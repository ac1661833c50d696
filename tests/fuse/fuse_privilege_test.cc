// Setuid/setgid and file capabilities through a cleancache mount, which
// negotiates FUSE_HANDLE_KILLPRIV_V2 (src/fuse/device_hooks.h): writes,
// truncates and O_TRUNC opens by a caller without CAP_FSETID kill the bits,
// also when the kernel's view of the mode is stale (bits set behind the
// mount's back); a privileged writer keeps them, as on a local filesystem;
// a write drops a file capability; and the kernel asks
// getxattr("security.capability") once per file, not before every write.
// The unprivileged caller is a child process running as nobody.
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include "fuse/as_user.h"
#include "fuse/test_mount.h"

namespace cleancache::testing {
namespace {

bool WriteAt(const std::string& path, const std::string& data, off_t offset) {
  int fd = open(path.c_str(), O_WRONLY);
  if (fd < 0) return false;
  bool ok = pwrite(fd, data.data(), data.size(), offset) == static_cast<ssize_t>(data.size());
  int saved = errno;
  close(fd);
  errno = saved;
  return ok;
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
}

uint64_t GetxattrRequests(const TestMount& mount) {
  return mount.Stats()["coherency"]["getxattr_requests"].get<uint64_t>();
}

class PrivilegeKill : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (setuid files, a child running as nobody)";
  }

  // A mount that nobody may walk into (mkdtemp makes the test root 0700).
  static void OpenToAll(const TestMount& mount) {
    ASSERT_EQ(chmod(mount.root().c_str(), 0755), 0);
    ASSERT_EQ(chmod(mount.M("").c_str(), 0755), 0);
  }

  // A file of `mode` whose mode the kernel has cached without the setuid/
  // setgid bits: created through the mount as 0777, looked at through the
  // mount, then given `mode` directly in the backing.
  void MakeStaleSetuidFile(const TestMount& mount, const std::string& name, mode_t mode) {
    WriteFile(mount.M(name), std::string(8192, 'a'));
    ASSERT_EQ(chmod(mount.M(name).c_str(), 0777), 0);
    ASSERT_EQ(ModeOf(mount.M(name)), 0777u);
    ASSERT_EQ(chmod(mount.B(name).c_str(), mode), 0);
  }
};

std::string ModeName(const ::testing::TestParamInfo<std::string>& info) {
  return info.param == "kernel" ? "KernelPrimary" : "OwnPrimary";
}

TEST_P(PrivilegeKill, UnprivilegedWriteKillsSetuidAndSetgid) {
  TestMount mount({"--primary", GetParam()});
  ASSERT_TRUE(mount.ok());
  OpenToAll(mount);
  MakeStaleSetuidFile(mount, "f", 06777);
  EXPECT_EQ(AsNobody([&] { return WriteAt(mount.M("f"), "nobody", 100); }), 0);
  EXPECT_EQ(ModeOf(mount.B("f")), 0777u) << "setuid and setgid (group-executable) are killed";
  EXPECT_EQ(ReadFile(mount.M("f")).substr(98, 10), "aanobodyaa");
  // Set again through the mount: the next unprivileged write kills them again.
  ASSERT_EQ(chmod(mount.M("f").c_str(), 06777), 0);
  EXPECT_EQ(AsNobody([&] { return WriteAt(mount.M("f"), "again", 0); }), 0);
  EXPECT_EQ(ModeOf(mount.B("f")), 0777u);
}

TEST_P(PrivilegeKill, UnprivilegedTruncateKillsSetuid) {
  TestMount mount({"--primary", GetParam()});
  ASSERT_TRUE(mount.ok());
  OpenToAll(mount);
  MakeStaleSetuidFile(mount, "f", 04777);
  EXPECT_EQ(AsNobody([&] { return truncate(mount.M("f").c_str(), 100) == 0; }), 0);
  EXPECT_EQ(ModeOf(mount.B("f")), 0777u);
  EXPECT_EQ(ReadFile(mount.M("f")), std::string(100, 'a'));
}

TEST_P(PrivilegeKill, UnprivilegedOpenWithTruncKillsSetuid) {
  TestMount mount({"--primary", GetParam()});
  ASSERT_TRUE(mount.ok());
  OpenToAll(mount);
  MakeStaleSetuidFile(mount, "f", 04777);
  EXPECT_EQ(AsNobody([&] {
              int fd = open(mount.M("f").c_str(), O_WRONLY | O_TRUNC);
              if (fd >= 0) close(fd);
              return fd >= 0;
            }),
            0);
  EXPECT_EQ(ModeOf(mount.B("f")), 0777u);
  EXPECT_EQ(ReadFile(mount.M("f")), "");
}

TEST_P(PrivilegeKill, PrivilegedWriteKeepsSetuid) {
  TestMount mount({"--primary", GetParam()});
  ASSERT_TRUE(mount.ok());
  OpenToAll(mount);
  WriteFile(mount.M("f"), std::string(8192, 'a'));
  ASSERT_EQ(chmod(mount.M("f").c_str(), 04755), 0);
  ASSERT_TRUE(WriteAt(mount.M("f"), "root", 0));  // CAP_FSETID: Linux keeps the bit
  ASSERT_TRUE(WriteAt(mount.M("f"), "root", 4096));
  EXPECT_EQ(ModeOf(mount.B("f")), 04755u);
  EXPECT_EQ(ModeOf(mount.M("f")), 04755u);
}

TEST_P(PrivilegeKill, WriteDropsAFileCapability) {
  TestMount mount({"--primary", GetParam()});
  ASSERT_TRUE(mount.ok());
  OpenToAll(mount);
  // VFS_CAP_REVISION_2, effective, permitted = CAP_NET_RAW.
  const uint32_t cap[5] = {VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE, 1u << CAP_NET_RAW, 0, 0, 0};
  WriteFile(mount.M("f"), std::string(8192, 'a'));
  ASSERT_EQ(chmod(mount.M("f").c_str(), 0666), 0);
  if (setxattr(mount.B("f").c_str(), "security.capability", cap, sizeof(cap), 0) != 0) {
    GTEST_SKIP() << "the backing filesystem takes no file capabilities: " << std::strerror(errno);
  }
  // Through the mount: set, then a write drops it.
  ASSERT_EQ(setxattr(mount.M("f").c_str(), "security.capability", cap, sizeof(cap), 0), 0);
  ASSERT_TRUE(WriteAt(mount.M("f"), "w", 0));
  EXPECT_EQ(getxattr(mount.B("f").c_str(), "security.capability", nullptr, 0), -1);
  EXPECT_EQ(errno, ENODATA);
  // Behind the mount's back, after the kernel has seen the file without one
  // (and so may no longer ask): the write still drops it.
  ASSERT_EQ(setxattr(mount.B("f").c_str(), "security.capability", cap, sizeof(cap), 0), 0);
  EXPECT_EQ(AsNobody([&] { return WriteAt(mount.M("f"), "n", 1); }), 0);
  EXPECT_EQ(getxattr(mount.B("f").c_str(), "security.capability", nullptr, 0), -1);
  EXPECT_EQ(errno, ENODATA);
}

// What the negotiation buys: the kernel stops asking before every write.
TEST_P(PrivilegeKill, CapabilitiesAreAskedForOncePerFileNotPerWrite) {
  TestMount mount({"--primary", GetParam()});
  ASSERT_TRUE(mount.ok());
  OpenToAll(mount);
  const uint64_t before = GetxattrRequests(mount);
  int fd = open(mount.M("f").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(write(fd, "0123456789", 10), 10);
  close(fd);
  EXPECT_LE(GetxattrRequests(mount) - before, 2u);
  EXPECT_EQ(ReadFile(mount.M("f")).size(), 200u);
}

INSTANTIATE_TEST_SUITE_P(Modes, PrivilegeKill, ::testing::Values("kernel", "1M"), ModeName);

}  // namespace
}  // namespace cleancache::testing
