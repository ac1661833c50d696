// `cleancache mount -o`, read-only mounts, the mount's log, allow_other's
// check, and mount(8) with the mount.fuse.cleancache helper (mount -t
// fuse.cleancache, an fstab line). mount(8) looks for helpers only in /sbin,
// so those tests run in a private mount namespace (unshare -m) where an
// overlay over /usr/sbin adds the build tree's helper; the namespace, the
// overlay and the mounts in it are gone when the test's shell ends, also when
// it fails (its EXIT trap unmounts what it mounted, which ends the mount
// process).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fuse/as_user.h"
#include "fuse/mount.h"
#include "fuse/test_mount.h"

namespace cleancache::testing {
namespace {

// A temporary directory with b/ (backing, holding `f` = "hello") and m/.
struct Dirs {
  std::string root;
  Dirs() {
    char dir_template[] = "/tmp/cc-mountcmd-XXXXXX";
    root = mkdtemp(dir_template);
    chmod(root.c_str(), 0755);
    mkdir(B().c_str(), 0755);
    mkdir(M().c_str(), 0755);
    WriteFile(B() + "/f", "hello");
  }
  ~Dirs() {
    if (fuse::IsMountPoint(M())) RunCommand({"fusermount3", "-u", "-z", M()});
    Shell("rm -rf '" + root + "'");
  }
  std::string B() const { return root + "/b"; }
  std::string M() const { return root + "/m"; }
  std::string Log() const { return root + "/log"; }
  CommandResult Mount(const std::vector<std::string>& extra) const {
    std::vector<std::string> argv = {CLEANCACHE_CLI_PATH, "mount", B(), M()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv, 30);
  }
};

bool WaitForText(const std::string& path, const std::string& text) {
  for (int i = 0; i < 2000; ++i) {
    if (ReadFile(path).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// --- -o: one parser with the long options ---

TEST(MountOptionStrings, BadKeyOrValueFailsAsTheLongOptionDoes) {
  Dirs d;
  auto long_option = d.Mount({"--primary", "12"});
  auto o_option = d.Mount({"-o", "primary=12"});
  EXPECT_EQ(long_option.exit_code, 2) << long_option.err;
  EXPECT_EQ(o_option.exit_code, 2) << o_option.err;
  EXPECT_EQ(long_option.err, o_option.err);
  EXPECT_NE(o_option.err.find("--primary: at least one page"), std::string::npos) << o_option.err;

  // A CLI11 check (--timeout's range) gives CLI11's message either way.
  auto long_timeout = d.Mount({"--timeout", "5000"});
  auto o_timeout = d.Mount({"-o", "timeout=5000"});
  EXPECT_EQ(o_timeout.exit_code, 2);
  EXPECT_EQ(long_timeout.err, o_timeout.err);

  auto unknown = d.Mount({"-o", "noatime,bogus=1"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("-o bogus=1: unknown option"), std::string::npos) << unknown.err;
  auto missing = d.Mount({"-o", "backend"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("-o backend: needs a value"), std::string::npos) << missing.err;
  auto flag_value = d.Mount({"-o", "nonempty=yes"});
  EXPECT_EQ(flag_value.exit_code, 2);
  EXPECT_NE(flag_value.err.find("nonempty takes no value"), std::string::npos) << flag_value.err;
  auto kernel_value = d.Mount({"-o", "ro=1"});
  EXPECT_EQ(kernel_value.exit_code, 2);
  auto quote = d.Mount({"-o", "backend=\"zcache"});
  EXPECT_EQ(quote.exit_code, 2);
  EXPECT_NE(quote.err.find("a quote is not closed"), std::string::npos) << quote.err;
  auto bad_spec = d.Mount({"-o", "backend=\"zcache:capacity=256M,codec=lzz\""});
  EXPECT_EQ(bad_spec.exit_code, 2);
  EXPECT_NE(bad_spec.err.find("--backend:"), std::string::npos) << bad_spec.err;
  EXPECT_NE(bad_spec.err.find("lzz"), std::string::npos) << bad_spec.err;
  EXPECT_FALSE(fuse::IsMountPoint(d.M()));
}

TEST(MountOptionStrings, DryRunChecksWithoutMounting) {
  Dirs d;
  auto r = d.Mount({"--dry-run", "-o", "defaults,noauto,nofail,_netdev,x-systemd.automount,comment=x,user,relatime",
                    "-o", "backend=\"zcache:capacity=64M,codec=lz4\",watch_backing=off,primary=1M"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fuse::IsMountPoint(d.M()));
}

// Kernel options reach the mount; a quoted spec with commas is one value;
// the mount's own keys apply (primary=1M: the mount's own cache).
TEST(MountOptionStrings, OptionsReachTheMount) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (nosuid,noexec,noatime on a FUSE mount)";
  Dirs d;
  auto r = d.Mount({"-o", "noexec,noatime", "-o",
                    "backend=\"zcache:capacity=64M,codec=lz4\",primary=1M,watch-backing=off,log=file:" + d.Log()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fuse::IsMountPoint(d.M()));
  std::string line;
  for (std::istringstream in(ReadFile("/proc/self/mountinfo")); std::getline(in, line);) {
    if (line.find(" " + d.M() + " ") != std::string::npos) break;
  }
  EXPECT_NE(line.find("noexec"), std::string::npos) << line;
  EXPECT_NE(line.find("noatime"), std::string::npos) << line;
  EXPECT_EQ(ReadFile(d.M() + "/f"), "hello");
  EXPECT_TRUE(WaitForText(d.Log(), "(backend zcache:capacity=64M,codec=lz4)")) << ReadFile(d.Log());
  EXPECT_EQ(RunCommand({CLEANCACHE_CLI_PATH, "umount", d.M()}).exit_code, 0);
}

// --- read-only ---

TEST(MountReadOnly, RefusesWritesAndLeavesTheBackingAlone) {
  Dirs d;
  struct stat before {};
  ASSERT_EQ(stat((d.B() + "/f").c_str(), &before), 0);
  auto r = d.Mount({"-o", "ro"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(d.M() + "/f"), "hello");
  errno = 0;
  EXPECT_LT(open((d.M() + "/f").c_str(), O_WRONLY), 0);
  EXPECT_EQ(errno, EROFS);
  errno = 0;
  EXPECT_LT(open((d.M() + "/new").c_str(), O_WRONLY | O_CREAT, 0644), 0);
  EXPECT_EQ(errno, EROFS);
  EXPECT_NE(mkdir((d.M() + "/dir").c_str(), 0755), 0);
  EXPECT_EQ(errno, EROFS);
  EXPECT_NE(unlink((d.M() + "/f").c_str()), 0);
  EXPECT_EQ(errno, EROFS);
  EXPECT_NE(chmod((d.M() + "/f").c_str(), 0600), 0);
  EXPECT_EQ(errno, EROFS);
  EXPECT_NE(truncate((d.M() + "/f").c_str(), 0), 0);
  EXPECT_EQ(errno, EROFS);
  EXPECT_EQ(RunCommand({CLEANCACHE_CLI_PATH, "umount", d.M()}).exit_code, 0);
  struct stat after {};
  ASSERT_EQ(stat((d.B() + "/f").c_str(), &after), 0);
  EXPECT_EQ(ReadFile(d.B() + "/f"), "hello");
  EXPECT_EQ(after.st_mode, before.st_mode);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  EXPECT_EQ(after.st_ctim.tv_sec, before.st_ctim.tv_sec);
  EXPECT_EQ(after.st_ctim.tv_nsec, before.st_ctim.tv_nsec);
  EXPECT_NE(access((d.B() + "/new").c_str(), F_OK), 0);
  EXPECT_NE(access((d.B() + "/dir").c_str(), F_OK), 0);
}

// --- the log of a background mount ---

// After mounting, a background mount's stderr is /dev/null: what it logs then
// must reach its log target (here a file), with level and identity.
TEST(MountLog, BackgroundMountLogsAfterMountingToItsTarget) {
  Dirs d;
  auto r = d.Mount({"--log", "file:" + d.Log(), "--log-level", "info"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");  // the terminal gets nothing on success
  EXPECT_EQ(RunCommand({CLEANCACHE_CLI_PATH, "umount", d.M()}).exit_code, 0);
  // Logged by the background process after its stderr went to /dev/null.
  const std::string log = ReadFile(d.Log());
  EXPECT_NE(log.find("[info] mount " + d.M() + ": mounted " + d.B() + " on " + d.M()), std::string::npos) << log;
  EXPECT_NE(log.find("[info] mount " + d.M() + ": unmounted " + d.M()), std::string::npos) << log;
}

TEST(MountLog, LevelFiltersAndBadSettingsAreRefused) {
  Dirs d;
  auto r = d.Mount({"-o", "log=file:" + d.Log() + ",log-level=warn"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(RunCommand({CLEANCACHE_CLI_PATH, "umount", d.M()}).exit_code, 0);
  EXPECT_EQ(ReadFile(d.Log()).find("[info]"), std::string::npos) << ReadFile(d.Log());

  auto level = d.Mount({"--log-level", "loud"});
  EXPECT_EQ(level.exit_code, 2);
  EXPECT_NE(level.err.find("--log-level: 'loud' is not one of error, warn, info, debug"), std::string::npos)
      << level.err;
  auto target = d.Mount({"--log", "printer"});
  EXPECT_EQ(target.exit_code, 2);
  EXPECT_NE(target.err.find("--log: 'printer'"), std::string::npos) << target.err;
  // A log file that cannot be opened fails before anything is mounted.
  auto file = d.Mount({"--log", "file:" + d.B() + "/f/log"});  // under a regular file
  EXPECT_EQ(file.exit_code, 1);
  EXPECT_NE(file.err.find("log file '" + d.B() + "/f/log'"), std::string::npos) << file.err;
  EXPECT_FALSE(fuse::IsMountPoint(d.M()));
}

// --- allow_other ---

TEST(MountAllowOther, NeedsUserAllowOtherForOtherUsers) {
  char conf_template[] = "/tmp/cc-fuseconf-XXXXXX";
  const int fd = mkstemp(conf_template);
  ASSERT_GE(fd, 0);
  close(fd);
  const std::string conf = conf_template;
  WriteFile(conf, "# user_allow_other\nmount_max = 1000\n");
  Status refused = fuse::CheckAllowOther(1000, conf);
  EXPECT_EQ(refused.code(), Status::Code::kPermissionDenied);
  EXPECT_NE(refused.message().find("user_allow_other"), std::string::npos) << refused.message();
  EXPECT_NE(refused.message().find(conf), std::string::npos) << refused.message();
  EXPECT_TRUE(fuse::CheckAllowOther(0, conf).ok());  // root needs nothing
  WriteFile(conf, "mount_max = 1000\n  user_allow_other  # for cleancache\n");
  EXPECT_TRUE(fuse::CheckAllowOther(1000, conf).ok());
  unlink(conf.c_str());
  EXPECT_FALSE(fuse::CheckAllowOther(1000, conf).ok());  // no file: not allowed
}

// The command checks it before mounting (as a user other than root).
TEST(MountAllowOther, CommandRefusesItClearlyForAUser) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to run the command as nobody";
  if (fuse::CheckAllowOther(kNobody).ok()) GTEST_SKIP() << "/etc/fuse.conf allows allow_other";
  Dirs d;
  chown(d.B().c_str(), kNobody, kNobody);
  chown(d.M().c_str(), kNobody, kNobody);
  const std::string err_dir = d.root + "/err";
  mkdir(err_dir.c_str(), 0777);
  chmod(err_dir.c_str(), 0777);
  const std::string err = err_dir + "/stderr";
  const int rc = RunAs(Caller{}, [&] {
    const std::string line =
        std::string(CLEANCACHE_CLI_PATH) + " mount " + d.B() + " " + d.M() + " -o allow_other 2>" + err;
    return Shell(line) == 1;
  });
  EXPECT_EQ(rc, 0) << ReadFile(err);
  EXPECT_NE(ReadFile(err).find("user_allow_other"), std::string::npos) << ReadFile(err);
  EXPECT_FALSE(fuse::IsMountPoint(d.M()));
}

// --- mount(8) and the helper ---

TEST(MountHelper, VersionAndUsage) {
  auto version = RunCommand({MOUNT_HELPER_PATH, "--version"});
  EXPECT_EQ(version.exit_code, 0);
  auto usage = RunCommand({MOUNT_HELPER_PATH, "/only-one"});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.err.find("expected BACKING and MOUNTPOINT"), std::string::npos) << usage.err;
  auto type = RunCommand({MOUNT_HELPER_PATH, "/a", "/b", "-t", "fuse.sshfs"});
  EXPECT_EQ(type.exit_code, 2);
  EXPECT_NE(type.err.find("fuse.cleancache only"), std::string::npos) << type.err;
}

// `script` in a private mount namespace where mount(8) finds the build
// tree's helper in /usr/sbin; its output (stdout and stderr) in `err`. Exit
// 77: the namespace or the overlay could not be set up.
CommandResult InMountNamespace(const Dirs& d, const std::string& script) {
  const std::string upper = d.root + "/sbin-upper", work = d.root + "/sbin-work";
  mkdir(upper.c_str(), 0755);
  mkdir(work.c_str(), 0755);
  symlink(MOUNT_HELPER_PATH, (upper + "/mount.fuse.cleancache").c_str());
  const std::string full =
      "exec 1>&2\n"
      "mount -t overlay overlay -o lowerdir=/usr/sbin,upperdir=" +
      upper + ",workdir=" + work +
      " /usr/sbin || exit 77\n"
      "trap 'rc=$?; umount -l " +
      d.M() + " 2>/dev/null || true; exit $rc' EXIT\n" + script;
  return RunCommand({"unshare", "-m", "--propagation", "private", "sh", "-ec", full}, 60);
}

bool CanUseMountNamespace() { return geteuid() == 0 && access("/usr/bin/unshare", X_OK) == 0; }

TEST(MountHelper, MountTypeWithOptionsAndUmount) {
  if (!CanUseMountNamespace()) GTEST_SKIP() << "needs root and unshare(1)";
  Dirs d;
  auto r = InMountNamespace(
      d, "mount -t fuse.cleancache " + d.B() + " " + d.M() +
             " -o 'ro,noexec,backend=\"zcache:capacity=64M,codec=lz4\",watch_backing=off,log=file:" + d.Log() +
             "'\n"
             "grep ' " +
             d.M() +
             " ' /proc/self/mountinfo\n"
             "echo read: $(cat " +
             d.M() +
             "/f)\n"
             "if echo x > " +
             d.M() +
             "/g; then echo write: accepted; else echo write: refused; fi\n"
             "umount " +
             d.M() + "\necho unmounted\n");
  if (r.exit_code == 77) GTEST_SKIP() << "no overlay over /usr/sbin here: " << r.err;
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("fuse.cleancache cleancache:" + d.B()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" ro,"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("noexec"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("read: hello"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("write: refused"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unmounted"), std::string::npos) << r.err;
  EXPECT_NE(access((d.B() + "/g").c_str(), F_OK), 0);
  // umount(8) ended the mount process: its last line is logged.
  EXPECT_TRUE(WaitForText(d.Log(), "unmounted " + d.M())) << ReadFile(d.Log());
  EXPECT_NE(ReadFile(d.Log()).find("(backend zcache:capacity=64M,codec=lz4, read-only)"), std::string::npos)
      << ReadFile(d.Log());
}

TEST(MountHelper, FstabLine) {
  if (!CanUseMountNamespace()) GTEST_SKIP() << "needs root and unshare(1)";
  Dirs d;
  const std::string fstab = d.root + "/fstab";
  WriteFile(fstab, "# a test fstab\n" + d.B() + " " + d.M() +
                       " fuse.cleancache defaults,nofail,_netdev,x-systemd.requires=x.service,"
                       "backend=\"zcache:capacity=64M,codec=lz4\",allow_other,primary=1M,log=file:" +
                       d.Log() + " 0 0\n");
  auto r = InMountNamespace(d, "mount --fstab " + fstab + " " + d.M() +
                                   "\n"
                                   "grep ' " +
                                   d.M() +
                                   " ' /proc/self/mountinfo\n"
                                   "echo written > " +
                                   d.M() +
                                   "/new\n"
                                   "echo read: $(cat " +
                                   d.M() +
                                   "/f)\n"
                                   "umount " +
                                   d.M() + "\n");
  if (r.exit_code == 77) GTEST_SKIP() << "no overlay over /usr/sbin here: " << r.err;
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("fuse.cleancache cleancache:" + d.B() + " rw,"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("allow_other"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("read: hello"), std::string::npos) << r.err;
  EXPECT_EQ(ReadFile(d.B() + "/new"), "written\n");
  EXPECT_TRUE(WaitForText(d.Log(), "unmounted " + d.M())) << ReadFile(d.Log());
}

TEST(MountHelper, BadOptionThroughMountFailsAndMountsNothing) {
  if (!CanUseMountNamespace()) GTEST_SKIP() << "needs root and unshare(1)";
  Dirs d;
  auto r = InMountNamespace(d, "if mount -t fuse.cleancache " + d.B() + " " + d.M() +
                                   " -o primary=12; then echo MOUNT-SUCCEEDED; fi\n"
                                   "mount -f -t fuse.cleancache " +
                                   d.B() + " " + d.M() +
                                   " -o backend=zcache && echo fake ok\n"
                                   "if grep -q ' " +
                                   d.M() + " ' /proc/self/mountinfo; then echo STILL-MOUNTED; fi\n");
  if (r.exit_code == 77) GTEST_SKIP() << "no overlay over /usr/sbin here: " << r.err;
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("--primary: at least one page"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("MOUNT-SUCCEEDED"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("STILL-MOUNTED"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("fake ok"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace cleancache::testing
