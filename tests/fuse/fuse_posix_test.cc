// Objects created through a cleancache mount get the same mode, owner and
// group as when the same caller creates them in the backing directly
// (src/fuse/caller_identity.h): the caller's umask and not the mount's, the
// caller's uid and gid, a setgid directory's group and setgid bit, the
// setgid strip for a non-member, and access through a supplementary group.
// Each case runs one creation as one caller (a child process) twice: in a
// backing directory directly and in its twin reached through the mount,
// and compares what the backing holds. The mount runs under umask 022, as
// a mount started from a login shell does.
// Shared mappings (MAP_SHARED) work in both modes and stay coherent with
// pread/pwrite through the mount and with the backing (device_hooks.h).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <random>
#include <string>

#include "fuse/as_user.h"
#include "fuse/test_mount.h"

namespace cleancache::testing {
namespace {

constexpr gid_t kGroup = 4242;  // a group nobody is not in unless given

struct Made {
  int error = -1;  // RunAs's code for the creation
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

std::ostream& operator<<(std::ostream& os, const Made& m) {
  return os << "error=" << m.error << " mode=0" << std::oct << m.mode << std::dec << " owner=" << m.uid << ":" << m.gid;
}

bool operator==(const Made& a, const Made& b) {
  return a.error == b.error && a.mode == b.mode && a.uid == b.uid && a.gid == b.gid;
}

// How one object is made at `path`.
using Maker = std::function<bool(const std::string& path)>;

bool MakeFile(const std::string& path, mode_t mode) {
  int fd = open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY, mode);
  if (fd < 0) return false;
  close(fd);
  return true;
}

class CreateAsCaller : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (children running as other users)";
    saved_umask_ = umask(022);  // the mount process inherits it
    mount_ = std::make_unique<TestMount>(std::vector<std::string>{"--primary", GetParam()});
    ASSERT_TRUE(mount_->ok());
    ASSERT_EQ(chmod(mount_->root().c_str(), 0755), 0);
    ASSERT_EQ(chmod(mount_->M("").c_str(), 0755), 0);
  }
  void TearDown() override {
    mount_.reset();
    umask(saved_umask_);
  }

  // Twin directories "direct/" and "mounted/" in the backing, of `mode`,
  // owner root and group `gid`.
  void MakeTwins(mode_t mode, gid_t gid) {
    for (const char* name : {"direct", "mounted"}) {
      std::string dir = mount_->B(name);
      ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
      ASSERT_EQ(chown(dir.c_str(), 0, gid), 0);
      ASSERT_EQ(chmod(dir.c_str(), mode), 0);
    }
  }

  // Makes `name` as `caller` in the backing directly and through the mount;
  // returns {direct, through the mount}, both as the backing holds them.
  std::pair<Made, Made> Both(const Caller& caller, const std::string& name, const Maker& make) {
    std::pair<Made, Made> result;
    Made* out[2] = {&result.first, &result.second};
    std::string paths[2] = {mount_->B("direct/" + name), mount_->M("mounted/" + name)};
    std::string backing[2] = {mount_->B("direct/" + name), mount_->B("mounted/" + name)};
    for (int i = 0; i < 2; ++i) {
      out[i]->error = RunAs(caller, [&] { return make(paths[i]); });
      struct stat st;
      if (lstat(backing[i].c_str(), &st) == 0) {
        out[i]->mode = st.st_mode;
        out[i]->uid = st.st_uid;
        out[i]->gid = st.st_gid;
      }
    }
    return result;
  }

  void ExpectSame(const Caller& caller, const std::string& name, const Maker& make) {
    auto [direct, mounted] = Both(caller, name, make);
    EXPECT_EQ(direct.error, 0) << name << ": the direct creation must work for the comparison to mean anything";
    EXPECT_EQ(mounted, direct) << name << " (umask 0" << std::oct << caller.umask << ")";
  }

  std::unique_ptr<TestMount> mount_;
  mode_t saved_umask_ = 022;
};

std::string ModeName(const ::testing::TestParamInfo<std::string>& info) {
  return info.param == "kernel" ? "KernelPrimary" : "OwnPrimary";
}

// Every kind of object, under umask 0 and 027: modes are the caller's
// (0777 stays 0777 under umask 0 although the mount runs under 022) and
// the owner is nobody, not root.
TEST_P(CreateAsCaller, EveryKindOfObjectGetsTheCallersModeAndOwner) {
  MakeTwins(0777, 0);
  for (mode_t mask : {mode_t{0}, mode_t{027}}) {
    Caller nobody;
    nobody.umask = mask;
    std::string s = std::to_string(mask);
    ExpectSame(nobody, "file0666." + s, [](const std::string& p) { return MakeFile(p, 0666); });
    ExpectSame(nobody, "file0620." + s, [](const std::string& p) { return MakeFile(p, 0620); });
    ExpectSame(nobody, "setuid04777." + s, [](const std::string& p) { return MakeFile(p, 04777); });
    ExpectSame(nobody, "dir0777." + s, [](const std::string& p) { return mkdir(p.c_str(), 0777) == 0; });
    ExpectSame(nobody, "sticky01777." + s, [](const std::string& p) { return mkdir(p.c_str(), 01777) == 0; });
    ExpectSame(nobody, "fifo0620." + s, [](const std::string& p) { return mkfifo(p.c_str(), 0620) == 0; });
    ExpectSame(nobody, "sock0777." + s, [](const std::string& p) { return mknod(p.c_str(), S_IFSOCK | 0777, 0) == 0; });
    ExpectSame(nobody, "symlink." + s, [](const std::string& p) { return symlink("target", p.c_str()) == 0; });
    ExpectSame(nobody, "hardlink." + s, [](const std::string& p) {
      return MakeFile(p + ".orig", 0640) && link((p + ".orig").c_str(), p.c_str()) == 0;
    });
  }
  // The umask 0 case by its expected value too, not only by comparison.
  struct stat st;
  ASSERT_EQ(stat(mount_->M("mounted/dir0777.0").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0777u);
  EXPECT_EQ(st.st_uid, kNobody);
  ASSERT_EQ(stat(mount_->M("mounted/setuid04777.0").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04777u);
  EXPECT_EQ(st.st_gid, kNobody);
}

// A file created 04777 by its owner stays writable by that owner.
TEST_P(CreateAsCaller, OwnerCanWriteTheSetuidFileItCreated) {
  MakeTwins(0777, 0);
  Caller nobody;
  nobody.umask = 0;
  EXPECT_EQ(RunAs(nobody,
                  [&] {
                    if (!MakeFile(mount_->M("mounted/f"), 04777)) return false;
                    int fd = open(mount_->M("mounted/f").c_str(), O_WRONLY);
                    if (fd < 0) return false;
                    bool ok = write(fd, "x", 1) == 1;
                    close(fd);
                    return ok;
                  }),
            0);
}

// setgid directory owned by another group: new objects take its group, new
// directories its setgid bit, and a non-member's setgid file loses the bit.
TEST_P(CreateAsCaller, SetgidDirectoryAsForALocalCaller) {
  MakeTwins(02777, kGroup);
  for (bool member : {false, true}) {
    Caller nobody;
    nobody.umask = 0;
    if (member) nobody.groups = {kGroup};
    std::string s = member ? ".member" : ".other";
    ExpectSame(nobody, "file" + s, [](const std::string& p) { return MakeFile(p, 02775); });
    ExpectSame(nobody, "dir" + s, [](const std::string& p) { return mkdir(p.c_str(), 0775) == 0; });
    ExpectSame(nobody, "fifo" + s, [](const std::string& p) { return mkfifo(p.c_str(), 02660) == 0; });
  }
  struct stat st;
  ASSERT_EQ(stat(mount_->B("mounted/file.other").c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, kGroup);
  EXPECT_EQ(st.st_mode & 07777, 0775u) << "setgid stripped for a non-member";
  ASSERT_EQ(stat(mount_->B("mounted/dir.other").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 02775u) << "directories inherit setgid";
}

// A directory writable only through a supplementary group: the backing's
// own permission check sees the caller's groups.
TEST_P(CreateAsCaller, SupplementaryGroupGrantsCreation) {
  MakeTwins(0770, kGroup);
  Caller member;
  member.umask = 022;
  member.groups = {kGroup};
  ExpectSame(member, "file", [](const std::string& p) { return MakeFile(p, 0644); });
  ExpectSame(member, "dir", [](const std::string& p) { return mkdir(p.c_str(), 0755) == 0; });
  Caller outsider;
  auto [direct, mounted] = Both(outsider, "denied", [](const std::string& p) { return MakeFile(p, 0644); });
  EXPECT_EQ(direct.error, EACCES);
  EXPECT_EQ(mounted.error, EACCES);
}

// Root creating keeps root's ownership and its own umask.
TEST_P(CreateAsCaller, RootCallerUnchanged) {
  MakeTwins(0777, 0);
  Caller root;
  root.uid = 0;
  root.gid = 0;
  root.umask = 0;
  ExpectSame(root, "file", [](const std::string& p) { return MakeFile(p, 0666); });
  ExpectSame(root, "dir", [](const std::string& p) { return mkdir(p.c_str(), 0777) == 0; });
}

INSTANTIATE_TEST_SUITE_P(Modes, CreateAsCaller, ::testing::Values("kernel", "1M"), ModeName);

class SharedMapping : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    mount_ = std::make_unique<TestMount>(std::vector<std::string>{"--primary", GetParam()});
    ASSERT_TRUE(mount_->ok());
    if (!mount_->Stats()["primary_cache"]["shared_mappings"].get<bool>()) {
      GTEST_SKIP() << "this kernel lacks FUSE_DIRECT_IO_ALLOW_MMAP (Linux 6.6): shared mappings get ENODEV";
    }
  }
  std::string Pread(int fd, size_t offset, size_t size) {
    std::string out(size, '\0');
    EXPECT_EQ(pread(fd, out.data(), size, static_cast<off_t>(offset)), static_cast<ssize_t>(size));
    return out;
  }
  std::unique_ptr<TestMount> mount_;
};

TEST_P(SharedMapping, ReadOnlyMappingShowsTheFile) {
  std::string data(3 * 4096 + 17, 'r');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 23);
  WriteFile(mount_->B("ro"), data);
  int fd = open(mount_->M("ro").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  void* map = mmap(nullptr, data.size(), PROT_READ, MAP_SHARED, fd, 0);
  ASSERT_NE(map, MAP_FAILED) << "MAP_SHARED: " << std::strerror(errno);
  EXPECT_EQ(std::string(static_cast<const char*>(map), data.size()), data);
  munmap(map, data.size());
  close(fd);
}

// Random stores through a shared mapping and pwrites through another
// descriptor; after each, pread and the mapping both show the model.
TEST_P(SharedMapping, StoresAndWritesFromBothSidesStayCoherent) {
  constexpr size_t kSize = 8 * 4096;
  std::string model(kSize, 'x');
  WriteFile(mount_->B("rw"), model);
  WaitUntilSettled();
  int map_fd = open(mount_->M("rw").c_str(), O_RDWR);
  int io_fd = open(mount_->M("rw").c_str(), O_RDWR);
  ASSERT_GE(map_fd, 0);
  ASSERT_GE(io_fd, 0);
  EXPECT_EQ(Pread(io_fd, 0, kSize), model);  // warm the mount's primary and cleancache
  auto* map = static_cast<char*>(mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0));
  ASSERT_NE(map, MAP_FAILED) << "MAP_SHARED: " << std::strerror(errno);
  std::mt19937_64 rng(7);
  for (int step = 0; step < 200; ++step) {
    size_t offset = rng() % kSize;
    size_t length = 1 + rng() % std::min<size_t>(6000, kSize - offset);
    std::string bytes(length, static_cast<char>('A' + step % 26));
    if (rng() % 2 == 0) {
      std::memcpy(map + offset, bytes.data(), length);
    } else {
      ASSERT_EQ(pwrite(io_fd, bytes.data(), length, static_cast<off_t>(offset)), static_cast<ssize_t>(length));
    }
    model.replace(offset, length, bytes);
    size_t probe = rng() % kSize;
    size_t probe_length = std::min<size_t>(5000, kSize - probe);
    ASSERT_EQ(Pread(io_fd, probe, probe_length), model.substr(probe, probe_length)) << "pread, step " << step;
    ASSERT_EQ(std::string(map + probe, probe_length), model.substr(probe, probe_length)) << "mapping, step " << step;
  }
  ASSERT_EQ(msync(map, kSize, MS_SYNC), 0);
  munmap(map, kSize);
  close(map_fd);
  close(io_fd);
  EXPECT_EQ(ReadFile(mount_->B("rw")), model) << "the backing holds every store";
  EXPECT_EQ(ReadFile(mount_->M("rw")), model);
}

// A write made in the backing behind the mount's back reaches a live
// mapping once the file is opened again (backing_watcher.h).
TEST_P(SharedMapping, BackingWriteReachesALiveMapping) {
  if (geteuid() != 0) GTEST_SKIP() << "the backing is watched with fanotify, which needs root";
  WriteFile(mount_->B("live"), std::string(2 * 4096, 'o'));
  WaitUntilSettled();
  int fd = open(mount_->M("live").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  auto* map = static_cast<const char*>(mmap(nullptr, 2 * 4096, PROT_READ, MAP_SHARED, fd, 0));
  ASSERT_NE(map, MAP_FAILED);
  EXPECT_EQ(map[5000], 'o');
  int backing = open(mount_->B("live").c_str(), O_WRONLY);
  ASSERT_EQ(pwrite(backing, "NEW", 3, 4999), 3);
  close(backing);
  close(open(mount_->M("live").c_str(), O_RDONLY));
  EXPECT_EQ(std::string(map + 4999, 3), "NEW");
  munmap(const_cast<char*>(map), 2 * 4096);
  close(fd);
}

INSTANTIATE_TEST_SUITE_P(Modes, SharedMapping, ::testing::Values("kernel", "1M"), ModeName);

}  // namespace
}  // namespace cleancache::testing
