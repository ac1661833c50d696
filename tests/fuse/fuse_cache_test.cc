// The cache at work through a real mount: a working set larger than the
// primary but smaller than cleancache is read twice and the second pass is
// served by cleancache (shown by the mount's counters); concurrent writers
// and readers through the mount never see data older than an acknowledged
// write; a shared pool mount behaves the same.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fuse/test_mount.h"

namespace cleancache::testing {
namespace {

constexpr size_t kPage = 4096;

std::string TextLike(size_t size, uint32_t seed) {
  static const char* words[] = {"cleancache ", "page ", "backing ", "mount ", "kernel ", "zcache ", "fuse ", "\n"};
  std::mt19937 rng(seed);
  std::string out;
  out.reserve(size);
  while (out.size() < size) {
    out += words[rng() % 8];
    if (rng() % 16 == 0) out += std::to_string(rng());
  }
  out.resize(size);
  return out;
}

// Reads the whole file in 128 KiB requests; optionally drops the kernel's
// cached pages of it first. Returns the content.
std::string ReadThrough(const std::string& path, bool drop_kernel_cache) {
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return "";
  if (drop_kernel_cache) posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  std::string out;
  std::vector<char> buf(128 * 1024);
  ssize_t n;
  while ((n = read(fd, buf.data(), buf.size())) > 0) out.append(buf.data(), static_cast<size_t>(n));
  close(fd);
  return out;
}

uint64_t Reads(const nlohmann::json& stats, const char* field) { return stats["reads"][field].get<uint64_t>(); }

class CacheModes : public ::testing::TestWithParam<std::string> {};

TEST_P(CacheModes, SecondPassOfAWorkingSetBiggerThanThePrimaryComesFromCleancache) {
  // 24 MiB working set; primary 2 MiB (own) or dropped (kernel); cleancache 128 MiB.
  TestMount mount({"--primary", GetParam(), "--backend", "zcache:capacity=128M"});
  ASSERT_TRUE(mount.ok());
  constexpr size_t kSize = 24u << 20;
  const uint64_t pages = kSize / kPage;
  std::string content = TextLike(kSize, 7);
  WriteFile(mount.B("big"), content);
  WaitUntilSettled();

  ASSERT_TRUE(ReadThrough(mount.M("big"), true) == content);
  auto first = mount.Stats();
  EXPECT_GE(Reads(first, "pages_from_backing"), pages);

  ASSERT_TRUE(ReadThrough(mount.M("big"), true) == content);
  auto second = mount.Stats();
  uint64_t backing_again = Reads(second, "pages_from_backing") - Reads(first, "pages_from_backing");
  uint64_t from_cleancache = Reads(second, "pages_from_cleancache") - Reads(first, "pages_from_cleancache");
  EXPECT_LE(backing_again, pages / 50) << second.dump(2);  // (almost) nothing from the backing
  EXPECT_GE(from_cleancache + Reads(second, "pages_from_primary"), pages - pages / 50) << second.dump(2);
  EXPECT_GT(second["cleancache"]["compression_ratio"].get<double>(), 1.5);
}

TEST_P(CacheModes, ReadersNeverSeeDataOlderThanAnAcknowledgedWrite) {
  TestMount mount({"--primary", GetParam(), "--backend", "zcache:capacity=32M"});
  ASSERT_TRUE(mount.ok());
  constexpr int kPages = 16;
  WriteFile(mount.B("stamps"), std::string(kPages * kPage, '\0'));
  WaitUntilSettled();
  std::vector<std::atomic<uint64_t>> acked(kPages);
  std::atomic<bool> stop{false};
  std::atomic<int> stale{0}, errors{0};
  std::thread writer([&] {
    int fd = open(mount.M("stamps").c_str(), O_WRONLY);
    std::vector<uint64_t> page(kPage / 8);
    for (uint64_t v = 1; v <= 1500; ++v) {
      int p = static_cast<int>(v % kPages);
      std::fill(page.begin(), page.end(), v);
      if (pwrite(fd, page.data(), kPage, p * kPage) != static_cast<ssize_t>(kPage)) ++errors;
      acked[p] = v;
      if (v % 100 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(40));  // let pages settle and cache
    }
    close(fd);
    stop = true;
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&, r] {
      std::mt19937 rng(r);
      std::vector<uint64_t> page(kPage / 8);
      for (int i = 0; i < 200000 && !stop; ++i) {
        int p = static_cast<int>(rng() % kPages);
        uint64_t floor = acked[p];
        int fd = open(mount.M("stamps").c_str(), O_RDONLY);
        if (rng() % 2) posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        if (pread(fd, page.data(), kPage, p * kPage) != static_cast<ssize_t>(kPage)) ++errors;
        close(fd);
        // A read racing a later write of the page may see a mix of it and
        // older data (POSIX gives no atomicity); every word must still be at
        // least the version acknowledged before the read began.
        if (*std::min_element(page.begin(), page.end()) < floor) ++stale;
      }
    });
  }
  writer.join();
  for (auto& t : readers) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(stale.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Modes, CacheModes, ::testing::Values("kernel", "2M"),
                         [](const auto& info) { return info.param == "kernel" ? "KernelPrimary" : "OwnPrimary"; });

TEST(SharedPool, MountWithSharedUuidCachesAndStaysCoherent) {
  TestMount mount({"--shared-uuid", "6f1c2a9e-8d3b-4c5a-9e7f-0a1b2c3d4e5f", "--primary", "1M"});
  ASSERT_TRUE(mount.ok());
  std::string content = TextLike(4u << 20, 3);
  WriteFile(mount.B("f"), content);
  WaitUntilSettled();
  ASSERT_TRUE(ReadThrough(mount.M("f"), false) == content);
  ASSERT_TRUE(ReadThrough(mount.M("f"), false) == content);
  auto stats = mount.Stats();
  EXPECT_TRUE(stats["pool"]["shared"].get<bool>());
  EXPECT_GT(Reads(stats, "pages_from_cleancache"), 0u);
  // Changed behind the back: never served stale.
  std::string changed = TextLike(4u << 20, 4);
  WriteFile(mount.B("f"), changed);
  EXPECT_TRUE(ReadThrough(mount.M("f"), false) == changed);
}

}  // namespace
}  // namespace cleancache::testing
