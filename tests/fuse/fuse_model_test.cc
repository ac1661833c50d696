// Randomized model test: thousands of operations applied both through a
// cleancache mount and to a plain shadow directory (reads, writes,
// truncates, renames, unlinks, re-creates that recycle inode numbers, hard
// links, and changes made directly in the backing behind the mount's back).
// Every read through the mount must match the shadow. Both primary modes.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "fuse/test_mount.h"

namespace cleancache::testing {
namespace {

constexpr size_t kMaxFileSize = 160 * 1024;

const std::vector<std::string> kNames = {"f0", "f1", "f2", "f3", "f4", "f5", "d/g0", "d/g1", "d/g2", "d/g3"};

struct Outcome {
  int rc;
  int err;
  friend bool operator==(const Outcome&, const Outcome&) = default;
};

std::string Describe(const Outcome& o) { return "rc=" + std::to_string(o.rc) + " errno=" + std::to_string(o.err); }

// Reads [offset, offset+len) of path; rc -1 and errno if it fails.
Outcome ReadRange(const std::string& path, uint64_t offset, size_t len, std::string* out, bool drop_cache) {
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return {-1, errno};
  if (drop_cache) posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  out->assign(len, '\0');
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(fd, out->data() + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      int err = errno;
      close(fd);
      return {-1, err};
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  out->resize(done);
  close(fd);
  return {0, 0};
}

Outcome WriteRange(const std::string& path, uint64_t offset, const std::string& data, int extra_flags) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | extra_flags, 0644);
  if (fd < 0) return {-1, errno};
  ssize_t n = pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
  int err = n < 0 ? errno : 0;
  close(fd);
  return {n < 0 ? -1 : static_cast<int>(n), err};
}

Outcome Call(int rc) { return {rc, rc < 0 ? errno : 0}; }

// mmap(MAP_PRIVATE) view of the whole file.
Outcome MapRead(const std::string& path, std::string* out) {
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return {-1, errno};
  struct stat st;
  fstat(fd, &st);
  out->clear();
  if (st.st_size > 0) {
    void* p = mmap(nullptr, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int err = errno;
      close(fd);
      return {-1, err};
    }
    out->assign(static_cast<const char*>(p), st.st_size);
    munmap(p, st.st_size);
  }
  close(fd);
  return {0, 0};
}

std::string RandomData(std::mt19937& rng, size_t len) {
  std::string data(len, '\0');
  // Mix of compressible runs and noise, so zcache stores real payloads.
  size_t i = 0;
  while (i < len) {
    size_t run = std::min<size_t>(len - i, 1 + rng() % 512);
    char c = static_cast<char>(rng());
    bool noise = rng() % 2;
    for (size_t k = 0; k < run; ++k) data[i + k] = noise ? static_cast<char>(rng()) : c;
    i += run;
  }
  return data;
}

class FuseModelTest : public ::testing::TestWithParam<std::string> {};

TEST_P(FuseModelTest, EveryReadMatchesTheShadow) {
  TestMount mount({"--primary", GetParam(), "--timeout", "0", "--backend", "zcache:capacity=64M"});
  ASSERT_TRUE(mount.ok());
  std::string shadow = mount.root() + "/shadow";
  mkdir(shadow.c_str(), 0755);
  mkdir((shadow + "/d").c_str(), 0755);
  mkdir(mount.M("d").c_str(), 0755);
  auto S = [&](const std::string& rel) { return shadow + "/" + rel; };

  const uint32_t seed = 20261123;
  std::mt19937 rng(seed);
  auto pick = [&] { return kNames[rng() % kNames.size()]; };
  int reads_checked = 0;
  constexpr int kOps = 3000;
  for (int op = 0; op < kOps; ++op) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " op " + std::to_string(op));
    // Every 150 operations: let all files settle, then a burst of re-reads
    // with the primary dropped, so cleancache gets to serve pages.
    bool burst = op % 150 >= 120;
    if (op % 150 == 120) WaitUntilSettled();
    unsigned choice = burst ? 0 : rng() % 100;
    std::string name = pick();
    if (choice < 40) {
      uint64_t offset = rng() % 4 == 0 ? 0 : rng() % kMaxFileSize;
      size_t len = rng() % 4 == 0 ? kMaxFileSize : 1 + rng() % 40000;
      std::string got, want;
      bool drop = burst || rng() % 3 == 0;
      Outcome m = ReadRange(mount.M(name), offset, len, &got, drop);
      Outcome s = ReadRange(S(name), offset, len, &want, false);
      ASSERT_EQ(m, s) << name << " " << Describe(m) << " vs " << Describe(s);
      ASSERT_EQ(got.size(), want.size()) << name << " @" << offset;
      ASSERT_TRUE(got == want) << name << " @" << offset << "+" << len;
      ++reads_checked;
    } else if (choice < 55) {
      uint64_t offset = rng() % (kMaxFileSize - 40000);
      std::string data = RandomData(rng, 1 + rng() % 40000);
      int flags = rng() % 8 == 0 ? O_APPEND : 0;
      ASSERT_EQ(WriteRange(mount.M(name), offset, data, flags), WriteRange(S(name), offset, data, flags)) << name;
    } else if (choice < 60) {
      off_t size = rng() % kMaxFileSize;
      ASSERT_EQ(Call(truncate(mount.M(name).c_str(), size)), Call(truncate(S(name).c_str(), size))) << name;
    } else if (choice < 65) {
      std::string to = pick();
      ASSERT_EQ(Call(rename(mount.M(name).c_str(), mount.M(to).c_str())), Call(rename(S(name).c_str(), S(to).c_str())))
          << name << " -> " << to;
    } else if (choice < 70) {
      ASSERT_EQ(Call(unlink(mount.M(name).c_str())), Call(unlink(S(name).c_str()))) << name;
    } else if (choice < 75) {  // re-create: recycles inode numbers
      unlink(mount.M(name).c_str());
      unlink(S(name).c_str());
      std::string data = RandomData(rng, rng() % kMaxFileSize);
      ASSERT_EQ(WriteRange(mount.M(name), 0, data, O_TRUNC), WriteRange(S(name), 0, data, O_TRUNC)) << name;
    } else if (choice < 80) {
      std::string to = pick();
      ASSERT_EQ(Call(link(mount.M(name).c_str(), mount.M(to).c_str())), Call(link(S(name).c_str(), S(to).c_str())))
          << name << " => " << to;
    } else if (choice < 90) {  // behind the mount's back: overwrite in place (often same size)
      uint64_t offset = rng() % (kMaxFileSize - 40000);
      std::string data = RandomData(rng, 1 + rng() % 40000);
      struct stat st;
      if (stat(mount.B(name).c_str(), &st) == 0) {
        ASSERT_EQ(WriteRange(mount.B(name), offset, data, 0), WriteRange(S(name), offset, data, 0)) << name;
      }
    } else if (choice < 93) {
      off_t size = rng() % kMaxFileSize;
      ASSERT_EQ(Call(truncate(mount.B(name).c_str(), size)), Call(truncate(S(name).c_str(), size))) << name;
    } else if (choice < 96) {  // behind the back: replace the file (new inode)
      std::string data = RandomData(rng, rng() % kMaxFileSize);
      std::string tmp = mount.B("tmp.new");
      WriteFile(tmp, data);
      ASSERT_EQ(rename(tmp.c_str(), mount.B(name).c_str()), 0);
      WriteFile(S("tmp.new"), data);
      ASSERT_EQ(rename(S("tmp.new").c_str(), S(name).c_str()), 0);
    } else {
      std::string got, want;
      Outcome m = MapRead(mount.M(name), &got);
      Outcome s = MapRead(S(name), &want);
      ASSERT_EQ(m, s) << name;
      ASSERT_TRUE(got == want) << "mmap of " << name;
    }
  }
  // Final full comparison of every file, through the mount.
  WaitUntilSettled();
  for (const auto& name : kNames) {
    for (int pass = 0; pass < 2; ++pass) {
      std::string got, want;
      Outcome m = ReadRange(mount.M(name), 0, kMaxFileSize * 2, &got, true);
      Outcome s = ReadRange(S(name), 0, kMaxFileSize * 2, &want, false);
      ASSERT_EQ(m, s) << name;
      ASSERT_TRUE(got == want) << "final " << name;
    }
  }
  auto stats = mount.Stats();
  EXPECT_GT(reads_checked, 1000);
  // The cache was exercised, not bypassed: cleancache served pages.
  EXPECT_GT(stats["reads"]["pages_from_cleancache"].get<uint64_t>(), 0u) << stats.dump(2);
  EXPECT_GT(stats["coherency"]["validator_changes"].get<uint64_t>(), 0u);
  EXPECT_TRUE(mount.Unmount());
}

INSTANTIATE_TEST_SUITE_P(Modes, FuseModelTest, ::testing::Values("kernel", "256K"),
                         [](const auto& info) { return info.param == "kernel" ? "KernelPrimary" : "OwnPrimary"; });

}  // namespace
}  // namespace cleancache::testing
