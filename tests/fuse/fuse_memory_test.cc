// Where a real mount's memory goes: reads of the backing leave no copy in
// the backing's page cache (mincore), and a mount in a memory cgroup sizes
// its cleancache from the group's limit and gives memory back when a
// neighbour in the group needs it, instead of getting the group OOM-killed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fuse/test_cgroup.h"
#include "fuse/test_mount.h"

namespace cleancache::testing {
namespace {

constexpr uint64_t MiB = 1ull << 20;

// Pages of `path` resident in the page cache.
size_t ResidentPages(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return SIZE_MAX;
  struct stat st;
  fstat(fd, &st);
  size_t pages = (static_cast<size_t>(st.st_size) + 4095) / 4096;
  void* map = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (map == MAP_FAILED) return SIZE_MAX;
  std::vector<unsigned char> vec(pages);
  size_t resident = mincore(map, static_cast<size_t>(st.st_size), vec.data()) == 0 ? 0 : SIZE_MAX;
  for (unsigned char v : vec) resident += v & 1;
  munmap(map, static_cast<size_t>(st.st_size));
  return resident;
}

// Writes `bytes` of random (incompressible) data to the backing file and
// evicts it from the page cache, so that residency afterwards is the mount's.
void WriteColdFile(const std::string& path, uint64_t bytes) {
  std::mt19937_64 rng(7);
  std::string data(bytes, '\0');
  for (size_t i = 0; i + 8 <= data.size(); i += 8) {
    uint64_t v = rng();
    std::memcpy(&data[i], &v, 8);
  }
  WriteFile(path, data);
  int fd = open(path.c_str(), O_RDONLY);
  fdatasync(fd);
  posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  close(fd);
}

void ReadAll(const std::string& path, size_t chunk = 1 << 20) {
  int fd = open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << path;
  std::vector<char> buf(chunk);
  while (read(fd, buf.data(), buf.size()) > 0) {}
  close(fd);
}

bool BackingIsTmpfs(const std::string& dir) {
  struct statfs fs;
  return statfs(dir.c_str(), &fs) == 0 && fs.f_type == TMPFS_MAGIC;
}

TEST(BackingCache, ReadsThroughTheMountLeaveNoCopyInTheBackingsPageCache) {
  TestMount m;
  ASSERT_TRUE(m.ok());
  if (BackingIsTmpfs(m.backing())) GTEST_SKIP() << "tmpfs pages are the data itself: no cache to drop";
  WriteColdFile(m.B("f"), 8 * MiB);
  ASSERT_LT(ResidentPages(m.B("f")), 2048u / 8) << "the test could not evict its own file";
  WaitUntilSettled();
  ReadAll(m.M("f"));
  // RWF_DONTCACHE (or the DONTNEED fallback) drops what each read brought in.
  EXPECT_LT(ResidentPages(m.B("f")), 2048u / 20) << "of 2048 pages";
  EXPECT_EQ(m.Stats()["reads"]["pages_from_backing"].get<uint64_t>(), 2048u);
}

TEST(BackingCache, KeepLeavesTheBackingsPageCacheAlone) {
  TestMount m({"--backing-cache", "keep"});
  ASSERT_TRUE(m.ok());
  if (BackingIsTmpfs(m.backing())) GTEST_SKIP() << "tmpfs pages are the data itself";
  WriteColdFile(m.B("f"), 8 * MiB);
  WaitUntilSettled();
  ReadAll(m.M("f"));
  EXPECT_GT(ResidentPages(m.B("f")), 2048u * 9 / 10);
}

TEST(BackingCache, BadValueIsRefused) {
  TestMount probe;  // only for its directories
  ASSERT_TRUE(probe.ok());
  CommandResult r =
      RunCommand({CLEANCACHE_CLI_PATH, "mount", "-f", probe.backing(), probe.root(), "--backing-cache", "maybe"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--backing-cache"), std::string::npos) << r.err;
  for (const char* bad : {"0%", "101%", "x%", "12Q", "100K"}) {
    r = RunCommand({CLEANCACHE_CLI_PATH, "mount", "-f", probe.backing(), probe.root(), "--memory", bad});
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_NE(r.err.find("--memory"), std::string::npos) << r.err;
  }
}

TEST(MemoryBudget, MemoryOptionCapsTheCleancache) {
  TestMount m({"--memory", "48M"});
  ASSERT_TRUE(m.ok());
  nlohmann::json s = m.Stats();
  EXPECT_EQ(s["memory"]["max_bytes"].get<uint64_t>(), 48 * MiB);
  EXPECT_LE(s["cleancache"]["capacity_bytes"].get<uint64_t>(), 48 * MiB);
  // The mount's default codec where a spec names none.
  EXPECT_NE(s["mount"]["backend"].get<std::string>().find("zstd"), std::string::npos) << s["mount"];
}

TEST(MemoryBudget, AMountInACgroupSizesItselfFromTheLimitAndYieldsToANeighbour) {
  constexpr uint64_t kLimit = 256 * MiB, kReserve = 32 * MiB;  // reserve: limit / 8
  TestCgroup group(kLimit);
  if (!group.ok()) GTEST_SKIP() << "cannot create a memory cgroup here (needs root and a memory controller)";
  // Incompressible pages are stored raw: cleancache's memory = data read.
  TestMount m({"--backend", "zcache:codec=lz4"}, &group);
  ASSERT_TRUE(m.ok());
  nlohmann::json s = m.Stats();
  ASSERT_TRUE(s.contains("memory")) << s.dump();
  EXPECT_NE(s["memory"]["source"].get<std::string>().find("cgroup"), std::string::npos) << s["memory"].dump();
  EXPECT_EQ(s["memory"]["limit_bytes"].get<uint64_t>(), kLimit);
  // What the group holds besides cleancache (the mount process itself:
  // ~5 MiB, far more under ASan) and the reserve are left out.
  const uint64_t others = s["memory"]["others_bytes"].get<uint64_t>();
  const uint64_t capacity = s["cleancache"]["capacity_bytes"].get<uint64_t>();
  // (The capacity moves only past its hysteresis: 1 MiB down, 4 MiB up.)
  EXPECT_NEAR(static_cast<double>(capacity), static_cast<double>(kLimit - kReserve - others), 4.0 * MiB);
  if (capacity < 64 * MiB) GTEST_SKIP() << "the mount process holds " << others / MiB << " MiB itself";

  // Fill 3/4 of it, paced so the idle-time puts keep up.
  WriteColdFile(m.B("big"), capacity * 3 / 4 / MiB * MiB);
  WaitUntilSettled();
  {
    int fd = open(m.M("big").c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    std::vector<char> buf(1 << 20);
    for (int i = 0; read(fd, buf.data(), buf.size()) > 0; ++i) {
      if (i % 8 == 7) {
        ASSERT_TRUE(m.WaitForDeferredPuts());
      }
    }
    close(fd);
  }
  ASSERT_TRUE(m.WaitForDeferredPuts());
  // The mount's own memory may have grown meanwhile (ASan's quarantine), and
  // the governor with it: take the state as it is now.
  s = m.Stats();
  const uint64_t filled = s["cleancache"]["memory_used_bytes"].get<uint64_t>();
  const uint64_t others_now = s["memory"]["others_bytes"].get<uint64_t>();
  if (filled < 32 * MiB) GTEST_SKIP() << "the mount process holds " << others_now / MiB << " MiB itself";
  ASSERT_GE(filled, std::min(capacity, s["cleancache"]["capacity_bytes"].get<uint64_t>()) / 2) << s.dump();

  // A neighbour grows (100 MiB/s) to leave room for half of that: had
  // cleancache kept its size, the group would pass its limit by more than
  // the reserve and be OOM-killed (without the governor it is: the neighbour
  // dies).
  const uint64_t neighbour_bytes = kLimit - kReserve - others_now - filled / 2;
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  pid_t neighbour = StartMemoryHog(group, neighbour_bytes, 4 * MiB, 40000, pipefd[1]);
  close(pipefd[1]);  // a neighbour that dies ends the read below
  char c = 0;
  ASSERT_EQ(read(pipefd[0], &c, 1), 1) << "the neighbour died (OOM kills: " << group.OomKills() << ")";
  EXPECT_EQ(group.OomKills(), 0u);
  // The governor samples every 100 ms: its last step may lag the neighbour's.
  auto yielded = [&](const nlohmann::json& j) {
    uint64_t cap = j["cleancache"]["capacity_bytes"].get<uint64_t>();
    return cap <= kLimit - kReserve - neighbour_bytes && j["cleancache"]["memory_used_bytes"].get<uint64_t>() <= cap;
  };
  auto settle = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    s = m.Stats();  // the mount is alive and answers
  } while (!yielded(s) && std::chrono::steady_clock::now() < settle);
  EXPECT_TRUE(yielded(s)) << s.dump();
  EXPECT_GE(s["memory"]["shrinks"].get<uint64_t>(), 1u) << s["memory"].dump();
  EXPECT_GT(s["cleancache"]["evictions"].get<uint64_t>(), 0u);
  const uint64_t squeezed = s["cleancache"]["capacity_bytes"].get<uint64_t>();

  // The neighbour leaves: the capacity comes back.
  kill(neighbour, SIGKILL);
  waitpid(neighbour, nullptr, 0);
  close(pipefd[0]);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (m.Stats()["memory"]["grows"].get<uint64_t>() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GE(m.Stats()["cleancache"]["capacity_bytes"].get<uint64_t>(), squeezed + neighbour_bytes / 2);
  EXPECT_EQ(group.OomKills(), 0u);
}

// Reads every 4 KiB page of `path` once, in a shuffled order (no stream).
void ReadPagesAtRandom(const std::string& path, uint64_t bytes) {
  int fd = open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << path;
  std::vector<uint64_t> pages(bytes / 4096);
  for (uint64_t i = 0; i < pages.size(); ++i) pages[i] = i;
  std::shuffle(pages.begin(), pages.end(), std::mt19937_64(3));
  char buf[4096];
  for (uint64_t p : pages) ASSERT_EQ(pread(fd, buf, sizeof(buf), static_cast<off_t>(p * 4096)), 4096);
  close(fd);
}

// The kernel's page cache of a file read through the mount (its primary).
void DropKernelCopy(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY);
  posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  close(fd);
}

// A hot set cached at random, then a sequential read of 12x the cleancache:
// with second-touch admission the scan fills only the room left (to 7/8 of
// the capacity; one shard, so "full" is exact) and the hot set is still
// served from cleancache; with every page admitted it is gone.
TEST(ScanResistance, ALongSequentialReadDoesNotFlushTheHotSet) {
  for (std::string mode : {"second-touch", "always"}) {
    SCOPED_TRACE(mode);
    TestMount m({"--memory", "32M", "--put-queue", "1M", "--backend", "zcache:codec=lz4,segment=64K,shards=1",
                 "--scan-admission", mode});
    ASSERT_TRUE(m.ok());
    WriteColdFile(m.B("hot"), 8 * MiB);
    WriteColdFile(m.B("big"), 96 * MiB);
    WaitUntilSettled();
    ReadPagesAtRandom(m.M("hot"), 8 * MiB);
    ASSERT_TRUE(m.WaitForDeferredPuts());
    {
      int fd = open(m.M("big").c_str(), O_RDONLY);
      ASSERT_GE(fd, 0);
      std::vector<char> buf(1 << 20);
      // Paced, so that puts are made rather than dropped by a full queue.
      for (int i = 0; read(fd, buf.data(), buf.size()) > 0; ++i) ASSERT_TRUE(m.WaitForDeferredPuts());
      close(fd);
    }
    nlohmann::json s = m.Stats();
    DropKernelCopy(m.M("hot"));
    uint64_t before = s["reads"]["pages_from_backing"].get<uint64_t>();
    ReadPagesAtRandom(m.M("hot"), 8 * MiB);
    uint64_t hot_misses = m.Stats()["reads"]["pages_from_backing"].get<uint64_t>() - before;
    if (mode == "second-touch") {
      EXPECT_GT(s["admission"]["streaming_reads"].get<uint64_t>(), 0u);
      EXPECT_GT(s["admission"]["pages_not_admitted"].get<uint64_t>(), 96u * 256 / 2) << s.dump();
      EXPECT_LT(hot_misses, 2048u / 20) << s.dump();
    } else {
      EXPECT_EQ(s["admission"]["pages_not_admitted"].get<uint64_t>(), 0u);
      EXPECT_GT(hot_misses, 2048u / 2) << s.dump();
    }
  }
}

}  // namespace
}  // namespace cleancache::testing
