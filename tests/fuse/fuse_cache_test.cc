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
  // 24 MiB working set; primary 2 MiB (own) or dropped (kernel); cleancache
  // 128 MiB. The put queue holds the whole set: with the default 16 MiB, a
  // busy machine (ctest -j2) drops puts of a pass read this fast.
  TestMount mount({"--primary", GetParam(), "--backend", "zcache:capacity=128M", "--put-queue", "32M"});
  ASSERT_TRUE(mount.ok());
  constexpr size_t kSize = 24u << 20;
  const uint64_t pages = kSize / kPage;
  std::string content = TextLike(kSize, 7);
  WriteFile(mount.B("big"), content);
  WaitUntilSettled();

  ASSERT_TRUE(ReadThrough(mount.M("big"), true) == content);
  ASSERT_TRUE(mount.WaitForDeferredPuts());
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

uint64_t Invalidates(const nlohmann::json& stats) { return stats["cleancache"]["invalidations"].get<uint64_t>(); }

// One writer stamps pages of `name` with increasing versions while two
// readers check that every page they read is at least the version
// acknowledged before their read began.
void ExpectReadersNeverSeeOlderData(const TestMount& mount, const std::string& name, int pages) {
  std::vector<std::atomic<uint64_t>> acked(pages);
  std::atomic<bool> stop{false};
  std::atomic<int> stale{0}, errors{0};
  std::thread writer([&] {
    int fd = open(mount.M(name).c_str(), O_WRONLY);
    std::vector<uint64_t> page(kPage / 8);
    for (uint64_t v = 1; v <= 1500; ++v) {
      int p = static_cast<int>(v % pages);
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
        int p = static_cast<int>(rng() % pages);
        uint64_t floor = acked[p];
        int fd = open(mount.M(name).c_str(), O_RDONLY);
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

TEST_P(CacheModes, ReadersNeverSeeDataOlderThanAnAcknowledgedWrite) {
  TestMount mount({"--primary", GetParam(), "--backend", "zcache:capacity=32M"});
  ASSERT_TRUE(mount.ok());
  constexpr int kPages = 16;
  WriteFile(mount.B("stamps"), std::string(kPages * kPage, '\0'));
  WaitUntilSettled();
  ExpectReadersNeverSeeOlderData(mount, "stamps", kPages);
}

// A file the mount itself creates starts with nothing cached, so its writes
// skip invalidation until a read starts; the race between the first reads
// and the writes in flight must not leave old data behind either.
TEST_P(CacheModes, ReadersOfAFileCreatedThroughTheMountNeverSeeOlderData) {
  TestMount mount({"--primary", GetParam(), "--backend", "zcache:capacity=32M"});
  ASSERT_TRUE(mount.ok());
  constexpr int kPages = 16;
  int fd = open(mount.M("stamps").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, kPages * kPage), 0);
  close(fd);
  ExpectReadersNeverSeeOlderData(mount, "stamps", kPages);
}

// Writes to a file created through the mount and never read skip all
// invalidation (there is nothing to drop); once it has been read, its pages
// are cached and every later write invalidates them again. Either way a
// read returns what was written last.
TEST_P(CacheModes, WritesInvalidateOnlyOnceAFileMayHaveCachedPages) {
  TestMount mount({"--primary", GetParam(), "--backend", "zcache:capacity=32M"});
  ASSERT_TRUE(mount.ok());
  constexpr size_t kSize = 64 * kPage;
  std::string first = TextLike(kSize, 1);
  int fd = open(mount.M("new").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  ASSERT_GE(fd, 0);
  for (size_t off = 0; off < kSize; off += 10 * kPage) {  // several writes, like tar's
    size_t n = std::min<size_t>(10 * kPage, kSize - off);
    ASSERT_EQ(pwrite(fd, first.data() + off, n, static_cast<off_t>(off)), static_cast<ssize_t>(n));
  }
  close(fd);
  EXPECT_EQ(Invalidates(mount.Stats()), 0u) << "nothing was cached, so nothing to invalidate";

  WaitUntilSettled();
  ASSERT_TRUE(ReadThrough(mount.M("new"), true) == first);
  ASSERT_TRUE(mount.WaitForDeferredPuts());
  ASSERT_TRUE(ReadThrough(mount.M("new"), true) == first);
  auto cached = mount.Stats();
  EXPECT_GT(Reads(cached, "pages_from_cleancache") + Reads(cached, "pages_from_primary"), 0u) << cached.dump(2);

  // Same size, new content in the middle: the cached pages must go.
  std::string second = first;
  std::string patch = TextLike(3 * kPage, 2);
  second.replace(5 * kPage + 100, patch.size(), patch);
  fd = open(mount.M("new").c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, patch.data(), patch.size(), 5 * kPage + 100), static_cast<ssize_t>(patch.size()));
  close(fd);
  EXPECT_GT(Invalidates(mount.Stats()), Invalidates(cached));
  EXPECT_TRUE(ReadThrough(mount.M("new"), true) == second);  // racy: from the backing
  WaitUntilSettled();
  EXPECT_TRUE(ReadThrough(mount.M("new"), true) == second);  // settled: through the caches
  EXPECT_TRUE(ReadThrough(mount.M("new"), true) == second);
}

// The "nothing cached" state belongs to the file, not to a name: a hard link
// made behind the mount's back reaches the same inode, and a read through it
// makes writes through the first name invalidate.
TEST_P(CacheModes, AReadThroughAHardLinkCountsForEveryName) {
  TestMount mount({"--primary", GetParam(), "--backend", "zcache:capacity=32M"});
  ASSERT_TRUE(mount.ok());
  std::string first = TextLike(16 * kPage, 3);
  int fd = open(mount.M("a").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, first.data(), first.size()), static_cast<ssize_t>(first.size()));
  close(fd);
  ASSERT_EQ(link(mount.B("a").c_str(), mount.B("b").c_str()), 0);
  WaitUntilSettled();
  ASSERT_TRUE(ReadThrough(mount.M("b"), true) == first);
  ASSERT_TRUE(ReadThrough(mount.M("b"), true) == first);
  auto cached = mount.Stats();

  std::string second = TextLike(16 * kPage, 4);
  fd = open(mount.M("a").c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, second.data(), second.size(), 0), static_cast<ssize_t>(second.size()));
  close(fd);
  EXPECT_GT(Invalidates(mount.Stats()), Invalidates(cached));
  WaitUntilSettled();
  EXPECT_TRUE(ReadThrough(mount.M("b"), true) == second);
  EXPECT_TRUE(ReadThrough(mount.M("a"), true) == second);
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
  EXPECT_TRUE(stats["cleancache"]["shared_pool"].get<bool>());
  EXPECT_GT(Reads(stats, "pages_from_cleancache"), 0u);
  // Changed behind the back: never served stale.
  std::string changed = TextLike(4u << 20, 4);
  WriteFile(mount.B("f"), changed);
  EXPECT_TRUE(ReadThrough(mount.M("f"), false) == changed);
}

}  // namespace
}  // namespace cleancache::testing
