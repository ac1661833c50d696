// Passthrough behaviour of a cleancache mount: mmap coherency, executing a
// binary from the mount, cp -a / tar round trips, rename flags, links,
// xattrs, statfs, fallocate, errors passed through, and bad input to
// `cleancache mount` (clear error, nothing mounted).
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>

#include "fuse/mount.h"
#include "fuse/test_mount.h"

namespace cleancache::testing {
namespace {

class FuseModes : public ::testing::TestWithParam<std::string> {
 protected:
  bool own_primary() const { return GetParam() != "kernel"; }
};

std::string ModeName(const ::testing::TestParamInfo<std::string>& info) {
  return info.param == "kernel" ? "KernelPrimary" : "OwnPrimary";
}

TEST_P(FuseModes, MmapSharedWritesAreCoherentOrRefused) {
  TestMount mount({"--primary", GetParam()});
  ASSERT_TRUE(mount.ok());
  std::string content(3 * 4096 + 100, 'a');
  WriteFile(mount.M("m"), content);
  int fd = open(mount.M("m").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  void* p = mmap(nullptr, content.size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (own_primary() && !mount.Stats()["primary_cache"]["shared_mappings"].get<bool>()) {
    // A kernel before 6.6 cannot keep a shared mapping of a direct_io file
    // coherent: refused, documented.
    EXPECT_EQ(p, MAP_FAILED);
    EXPECT_EQ(errno, ENODEV);
  } else {
    ASSERT_NE(p, MAP_FAILED);
    std::memcpy(static_cast<char*>(p) + 4096, "MAPPED", 6);
    ASSERT_EQ(msync(p, content.size(), MS_SYNC), 0);
    munmap(p, content.size());
    content.replace(4096, 6, "MAPPED");
    EXPECT_TRUE(ReadFile(mount.B("m")) == content) << "backing sees the mapped write";
    EXPECT_TRUE(ReadFile(mount.M("m")) == content);
  }
  close(fd);
  // A write through write(2) is visible through a new private mapping.
  WriteFile(mount.M("m"), std::string(5000, 'z'));
  fd = open(mount.M("m").c_str(), O_RDONLY);
  void* q = mmap(nullptr, 5000, PROT_READ, MAP_PRIVATE, fd, 0);
  ASSERT_NE(q, MAP_FAILED);
  EXPECT_EQ(std::string(static_cast<char*>(q), 5000), std::string(5000, 'z'));
  munmap(q, 5000);
  close(fd);
}

TEST_P(FuseModes, ExecutesABinaryCopiedIntoTheMount) {
  TestMount mount({"--primary", GetParam()});
  ASSERT_TRUE(mount.ok());
  ASSERT_EQ(Shell("cp /bin/echo '" + mount.M("echo") + "'"), 0);
  EXPECT_EQ(Shell("'" + mount.M("echo") + "' hello > '" + mount.root() + "/out'"), 0);
  EXPECT_EQ(ReadFile(mount.root() + "/out"), "hello\n");
}

TEST_P(FuseModes, CopyAndTarRoundTripsPreserveEverything) {
  TestMount mount({"--primary", GetParam()});
  ASSERT_TRUE(mount.ok());
  std::string src = mount.root() + "/src";
  // A tree with files, a symlink, a hard link, odd modes and an empty dir.
  ASSERT_EQ(
      Shell("mkdir -p '" + src + "/a/b' '" + src + "/empty' && cp -a /usr/include/linux/*.h '" + src +
            "/a/' && ln -s a/b '" + src + "/link' && echo x > '" + src + "/a/b/f' && ln '" + src + "/a/b/f' '" + src +
            "/hard' && chmod 0604 '" + src + "/hard' && touch -d '2001-02-03 04:05:06.789' '" + src + "/a/b/f'"),
      0);
  ASSERT_EQ(Shell("cp -a '" + src + "' '" + mount.M("copy") + "'"), 0);
  EXPECT_EQ(Shell("diff -r --no-dereference '" + src + "' '" + mount.M("copy") + "'"), 0);
  // Metadata survives: compare mode, link count, mtime and symlink target.
  auto listing = [](const std::string& dir) {
    // Directory sizes depend on the directory's history, not its content.
    return "cd '" + dir +
           "' && find . \\( -type d -printf '%p %m %n %T@\\n' \\) -o -printf '%p %m %n %T@ %l %s\\n' | sort";
  };
  EXPECT_EQ(Shell("[ \"$(" + listing(src) + ")\" = \"$(" + listing(mount.M("copy")) + ")\" ]"), 0);
  std::string out = mount.root() + "/out";
  ASSERT_EQ(Shell("mkdir '" + out + "' && tar -C '" + mount.M("copy") + "' --format=posix -cf - . | tar -C '" + out +
                  "' -xpf -"),
            0);
  EXPECT_EQ(Shell("diff -r --no-dereference '" + src + "' '" + out + "'"), 0);
  // And untar into the mount.
  ASSERT_EQ(Shell("mkdir '" + mount.M("untar") + "' && tar -C '" + src + "' --format=posix -cf - . | tar -C '" +
                  mount.M("untar") + "' -xpf -"),
            0);
  EXPECT_EQ(Shell("[ \"$(" + listing(src) + ")\" = \"$(" + listing(mount.M("untar")) + ")\" ]"), 0);
}

TEST_P(FuseModes, NamespaceOperationsPassThrough) {
  TestMount mount({"--primary", GetParam()});
  ASSERT_TRUE(mount.ok());
  WriteFile(mount.M("a"), "AAAA");
  WriteFile(mount.M("b"), "BB");
  EXPECT_EQ(renameat2(AT_FDCWD, mount.M("a").c_str(), AT_FDCWD, mount.M("b").c_str(), RENAME_NOREPLACE), -1);
  EXPECT_EQ(errno, EEXIST);
  ASSERT_EQ(renameat2(AT_FDCWD, mount.M("a").c_str(), AT_FDCWD, mount.M("b").c_str(), RENAME_EXCHANGE), 0);
  EXPECT_EQ(ReadFile(mount.M("a")), "BB");
  EXPECT_EQ(ReadFile(mount.M("b")), "AAAA");
  // rename-over: the old target's pages must not come back.
  ASSERT_EQ(rename(mount.M("a").c_str(), mount.M("b").c_str()), 0);
  EXPECT_EQ(ReadFile(mount.M("b")), "BB");
  // Hard links share data.
  ASSERT_EQ(link(mount.M("b").c_str(), mount.M("c").c_str()), 0);
  WriteFile(mount.M("c"), "CCCCCC");
  EXPECT_EQ(ReadFile(mount.M("b")), "CCCCCC");
  struct stat st;
  ASSERT_EQ(stat(mount.M("b").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);
  // Symlinks, mkdir/rmdir, chmod, truncate, utimens.
  ASSERT_EQ(symlink("b", mount.M("s").c_str()), 0);
  char target[16] = {};
  EXPECT_EQ(readlink(mount.M("s").c_str(), target, sizeof(target)), 1);
  EXPECT_EQ(ReadFile(mount.M("s")), "CCCCCC");
  ASSERT_EQ(mkdir(mount.M("dir").c_str(), 0700), 0);
  EXPECT_EQ(rmdir(mount.M("dir").c_str()), 0);
  ASSERT_EQ(chmod(mount.M("b").c_str(), 0640), 0);
  ASSERT_EQ(stat(mount.B("b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  ASSERT_EQ(truncate(mount.M("b").c_str(), 2), 0);
  EXPECT_EQ(ReadFile(mount.M("c")), "CC");
  struct timespec times[2] = {{1000, 5}, {2000, 7}};
  ASSERT_EQ(utimensat(AT_FDCWD, mount.M("b").c_str(), times, 0), 0);
  ASSERT_EQ(stat(mount.B("b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 2000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 7);
  // xattrs.
  ASSERT_EQ(setxattr(mount.M("b").c_str(), "user.cc", "v1", 2, 0), 0);
  char value[8] = {};
  EXPECT_EQ(getxattr(mount.M("b").c_str(), "user.cc", value, sizeof(value)), 2);
  EXPECT_STREQ(value, "v1");
  EXPECT_GT(listxattr(mount.M("b").c_str(), nullptr, 0), 0);
  EXPECT_EQ(removexattr(mount.M("b").c_str(), "user.cc"), 0);
  // statfs answers for the backing filesystem.
  struct statvfs vfs_m, vfs_b;
  ASSERT_EQ(statvfs(mount.mnt().c_str(), &vfs_m), 0);
  ASSERT_EQ(statvfs(mount.backing().c_str(), &vfs_b), 0);
  EXPECT_EQ(vfs_m.f_blocks, vfs_b.f_blocks);
  // Errors from the backing pass through unchanged.
  EXPECT_EQ(open(mount.M("missing").c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(mkdir(mount.M("b").c_str(), 0700), -1);
  EXPECT_EQ(errno, EEXIST);
  EXPECT_EQ(rmdir(mount.mnt().c_str()), -1);
  EXPECT_EQ(unlink(mount.M("nope/x").c_str()), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_P(FuseModes, FallocatePunchHoleIsSeen) {
  TestMount mount({"--primary", GetParam()});
  ASSERT_TRUE(mount.ok());
  WriteFile(mount.B("f"), std::string(64 * 1024, 'q'));
  WaitUntilSettled();
  EXPECT_EQ(ReadFile(mount.M("f")), std::string(64 * 1024, 'q'));  // now cached
  int fd = open(mount.M("f").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 8192, 8192), 0);
  close(fd);
  std::string want(64 * 1024, 'q');
  std::fill(want.begin() + 8192, want.begin() + 16384, '\0');
  EXPECT_TRUE(ReadFile(mount.M("f")) == want);
}

// The kernel sends CREATE for a name it believes absent (here: a cached
// negative entry); if the name appeared in the backing meanwhile, O_CREAT
// opens the existing file and O_CREAT | O_EXCL fails, as on the backing.
TEST_P(FuseModes, CreateOfANameThatAppearedBehindTheMountsBack) {
  TestMount mount({"--primary", GetParam()});
  ASSERT_TRUE(mount.ok());
  struct stat st;
  ASSERT_EQ(stat(mount.M("late").c_str(), &st), -1);  // the kernel now caches "absent"
  ASSERT_EQ(stat(mount.M("late2").c_str(), &st), -1);
  WriteFile(mount.B("late"), "from the backing");
  WriteFile(mount.B("late2"), "kept");
  int fd = open(mount.M("late").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, "FROM", 4, 0), 4);
  close(fd);
  EXPECT_EQ(ReadFile(mount.B("late")), "FROM the backing");
  EXPECT_EQ(ReadFile(mount.M("late")), "FROM the backing");
  EXPECT_EQ(open(mount.M("late2").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644), -1);
  EXPECT_EQ(errno, EEXIST);
  EXPECT_EQ(ReadFile(mount.M("late2")), "kept");
}

INSTANTIATE_TEST_SUITE_P(Modes, FuseModes, ::testing::Values("kernel", "1M"), ModeName);

// --- bad input: a clear error, exit code != 0, nothing mounted ---

struct BadMount {
  std::string root;
  BadMount() {
    char dir_template[] = "/tmp/cc-fuse-bad-XXXXXX";
    root = mkdtemp(dir_template);
    mkdir((root + "/b").c_str(), 0755);
    mkdir((root + "/m").c_str(), 0755);
  }
  ~BadMount() {
    if (fuse::IsMountPoint(root + "/m")) RunCommand({"fusermount3", "-u", "-z", root + "/m"});
    Shell("rm -rf '" + root + "'");
  }
  CommandResult Mount(std::vector<std::string> extra, const std::string& backing, const std::string& mnt) {
    std::vector<std::string> argv = {CLEANCACHE_CLI_PATH, "mount", backing, mnt};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv, 30);
  }
};

TEST(FuseBadInput, MissingBackingDirectory) {
  BadMount t;
  auto r = t.Mount({}, t.root + "/nonexistent", t.root + "/m");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("backing directory"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No such file"), std::string::npos) << r.err;
  EXPECT_FALSE(fuse::IsMountPoint(t.root + "/m"));
}

TEST(FuseBadInput, MissingMountpoint) {
  BadMount t;
  auto r = t.Mount({}, t.root + "/b", t.root + "/nowhere");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("mountpoint"), std::string::npos) << r.err;
}

TEST(FuseBadInput, BadBackendSpec) {
  BadMount t;
  auto r = t.Mount({"--backend", "zcache:capacity=lots"}, t.root + "/b", t.root + "/m");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("capacity"), std::string::npos) << r.err;
  EXPECT_FALSE(fuse::IsMountPoint(t.root + "/m"));
  r = t.Mount({"--backend", "nosuchscheme://x"}, t.root + "/b", t.root + "/m");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(r.err.empty());
  EXPECT_FALSE(fuse::IsMountPoint(t.root + "/m"));
}

TEST(FuseBadInput, BadPrimaryAndUuid) {
  BadMount t;
  auto r = t.Mount({"--primary", "huge"}, t.root + "/b", t.root + "/m");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--primary"), std::string::npos) << r.err;
  r = t.Mount({"--put-queue", "some"}, t.root + "/b", t.root + "/m");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--put-queue"), std::string::npos) << r.err;
  r = t.Mount({"--shared-uuid", "not-a-uuid"}, t.root + "/b", t.root + "/m");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--shared-uuid"), std::string::npos) << r.err;
  EXPECT_FALSE(fuse::IsMountPoint(t.root + "/m"));
}

TEST(FuseBadInput, BusyMountpointIsRefusedAndFirstMountSurvives) {
  TestMount mount;
  ASSERT_TRUE(mount.ok());
  WriteFile(mount.M("keep"), "still here");
  auto r = RunCommand({CLEANCACHE_CLI_PATH, "mount", mount.backing(), mount.mnt()}, 30);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("busy"), std::string::npos) << r.err;
  EXPECT_EQ(ReadFile(mount.M("keep")), "still here");
}

TEST(FuseBadInput, StatsAndUmountOfSomethingNotMounted) {
  BadMount t;
  auto r = RunCommand({CLEANCACHE_CLI_PATH, "stats", t.root + "/m"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("no cleancache mount"), std::string::npos) << r.err;
  r = RunCommand({CLEANCACHE_CLI_PATH, "umount", t.root + "/m"});
  EXPECT_NE(r.exit_code, 0);
}

TEST(FuseBadInput, NonEmptyMountpointIsRefusedUnlessAsked) {
  BadMount t;
  WriteFile(t.root + "/m/hidden", "mine");
  auto r = t.Mount({}, t.root + "/b", t.root + "/m");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not empty"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--nonempty"), std::string::npos) << r.err;
  EXPECT_FALSE(fuse::IsMountPoint(t.root + "/m"));
  r = t.Mount({"--nonempty"}, t.root + "/b", t.root + "/m");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fuse::IsMountPoint(t.root + "/m"));
  EXPECT_EQ(RunCommand({CLEANCACHE_CLI_PATH, "umount", t.root + "/m"}).exit_code, 0);
  EXPECT_EQ(ReadFile(t.root + "/m/hidden"), "mine") << "the hidden file is back, untouched";
}

// After kill -9 of the mount process the kernel keeps a dead mount: a new
// mount names it and says how to clear it, and `cleancache umount` does.
TEST(FuseBadInput, DeadMountIsNamedAndCanBeUnmounted) {
  BadMount t;
  auto r = t.Mount({}, t.root + "/b", t.root + "/m");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string json_path = t.root + "/stats.json";
  ASSERT_EQ(Shell(std::string(CLEANCACHE_CLI_PATH) + " stats --json '" + t.root + "/m' > '" + json_path + "'"), 0);
  auto stats = nlohmann::json::parse(ReadFile(json_path), nullptr, false);
  ASSERT_TRUE(stats.contains("mount"));
  pid_t pid = stats["mount"]["pid"].get<pid_t>();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  for (int i = 0; i < 500 && kill(pid, 0) == 0; ++i) usleep(10000);
  r = t.Mount({}, t.root + "/b", t.root + "/m");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("server is gone"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cleancache umount"), std::string::npos) << r.err;
  r = RunCommand({CLEANCACHE_CLI_PATH, "umount", t.root + "/m"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = t.Mount({}, t.root + "/b", t.root + "/m");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(RunCommand({CLEANCACHE_CLI_PATH, "umount", t.root + "/m"}).exit_code, 0);
}

// The daemonized form: mount returns once mounted, stats answers (table and
// JSON), umount waits for the mount process to end.
TEST(FuseCli, MountStatsUmountInTheBackground) {
  BadMount t;
  auto r = t.Mount({"--backend", "zcache:capacity=16M"}, t.root + "/b", t.root + "/m");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(fuse::IsMountPoint(t.root + "/m"));
  WriteFile(t.root + "/m/x", "data");
  EXPECT_EQ(ReadFile(t.root + "/b/x"), "data");
  std::string json_path = t.root + "/stats.json";
  EXPECT_EQ(Shell(std::string(CLEANCACHE_CLI_PATH) + " stats --json '" + t.root + "/m' > '" + json_path + "'"), 0);
  auto stats = nlohmann::json::parse(ReadFile(json_path), nullptr, false);
  ASSERT_FALSE(stats.is_discarded());
  EXPECT_EQ(stats["schema_version"], 1);
  EXPECT_EQ(stats["writes"]["bytes"].get<uint64_t>(), 4u);
  const std::string view_path = t.root + "/stats.txt";
  EXPECT_EQ(Shell(std::string(CLEANCACHE_CLI_PATH) + " stats '" + t.root + "/m' > '" + view_path + "'"), 0);
  const std::string view = ReadFile(view_path);
  EXPECT_NE(view.find("hit ratio"), std::string::npos) << view;
  EXPECT_NE(view.find("saved"), std::string::npos) << view;
  EXPECT_LT(view.find("hit ratio"), view.find("Reads")) << "the headline comes before the details";
  r = RunCommand({CLEANCACHE_CLI_PATH, "umount", t.root + "/m"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fuse::IsMountPoint(t.root + "/m"));
  EXPECT_NE(RunCommand({CLEANCACHE_CLI_PATH, "stats", t.root + "/m"}).exit_code, 0);  // the process is gone
}

}  // namespace
}  // namespace cleancache::testing
