// The daemon under a real FUSE mount: the mount uses tmem: while the daemon
// restarts several times; readers must never see an error or data older than
// an acknowledged write. And a kernel-mode mount's pool is its uid's tenant,
// held to that tenant's cap.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "daemon_harness.h"
#include "fuse/test_mount.h"

namespace cleancache::testing {
namespace {

constexpr size_t kPage = 4096;

TEST(DaemonMount, RestartUnderLoadGivesNoErrorsAndNoStaleData) {
  DaemonHarness daemon;
  TestMount mount({"--primary", "2M", "--backend", daemon.Spec()});
  ASSERT_TRUE(mount.ok());
  constexpr int kPages = 16;
  WriteFile(mount.B("stamps"), std::string(kPages * kPage, '\0'));
  // A settled file larger than the 2 MiB primary: its re-reads go to cleancache.
  std::string big(8u << 20, '\0');
  std::mt19937_64 fill(42);
  for (size_t i = 0; i < big.size(); i += 8) {
    const uint64_t word = fill() % 4 == 0 ? fill() : i;  // part random, part compressible
    std::memcpy(big.data() + i, &word, 8);
  }
  WriteFile(mount.B("big"), big);
  WaitUntilSettled();
  std::vector<std::atomic<uint64_t>> acked(kPages);
  std::atomic<bool> stop{false};
  std::atomic<int> stale{0}, errors{0}, reads{0};
  std::thread writer([&] {
    int fd = open(mount.M("stamps").c_str(), O_WRONLY);
    std::vector<uint64_t> page(kPage / 8);
    for (uint64_t v = 1; v <= 1200; ++v) {
      int p = static_cast<int>(v % kPages);
      std::fill(page.begin(), page.end(), v);
      if (pwrite(fd, page.data(), kPage, p * kPage) != static_cast<ssize_t>(kPage)) ++errors;
      acked[p] = v;
      if (v % 100 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(40));
    }
    close(fd);
    stop = true;
  });
  std::vector<std::thread> readers;
  std::atomic<int> big_mismatches{0}, big_passes{0};
  readers.emplace_back([&] {
    std::string got;
    std::vector<char> buf(128 * 1024);
    for (int pass = 0; pass < 1000 && !stop; ++pass) {
      const int fd = open(mount.M("big").c_str(), O_RDONLY);
      if (fd < 0) {
        ++errors;
        continue;
      }
      posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
      got.clear();
      for (ssize_t n; (n = read(fd, buf.data(), buf.size())) > 0;) got.append(buf.data(), static_cast<size_t>(n));
      close(fd);
      if (got != big) ++big_mismatches;
      ++big_passes;
    }
  });
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&, r] {
      std::mt19937 rng(r);
      std::vector<uint64_t> page(kPage / 8);
      for (int i = 0; i < 200000 && !stop; ++i) {
        int p = static_cast<int>(rng() % kPages);
        uint64_t floor = acked[p];
        int fd = open(mount.M("stamps").c_str(), O_RDONLY);
        if (fd < 0) {
          ++errors;
          continue;
        }
        if (pread(fd, page.data(), kPage, p * kPage) != static_cast<ssize_t>(kPage)) ++errors;
        close(fd);
        ++reads;
        // A read racing a later write of the page may see a mix of it and
        // older data (POSIX gives no atomicity); every word must still be at
        // least the version acknowledged before the read began.
        if (*std::min_element(page.begin(), page.end()) < floor) ++stale;
      }
    });
  }
  for (int restart = 0; restart < 4 && !stop; ++restart) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    daemon.Stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    daemon.Start();
  }
  writer.join();
  for (auto& t : readers) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(stale.load(), 0);
  EXPECT_GT(reads.load(), 100);
  EXPECT_EQ(big_mismatches.load(), 0);
  EXPECT_GT(big_passes.load(), 1);
  const auto stats = mount.Stats();
  EXPECT_GT(stats["reads"]["pages_from_cleancache"].get<uint64_t>(), 0u) << stats.dump(2);
}

// Kernel mode opens its pool as shared (so a get keeps the page) under a
// random UUID; the daemon must still count it against the mount's uid, whose
// cap holds, with the pages beyond it evicted and counted.
TEST(DaemonMount, KernelModeMountIsItsUidsTenantAndItsCapHolds) {
  constexpr uint64_t kCap = 8ull << 20;
  const std::string me = "uid:" + std::to_string(::geteuid());
  auto config = DaemonHarness::DefaultConfig();
  config.tenant_by = daemon::TenantBy::kUid;
  config.backend = "zcache";  // default 1 MiB segments: the store must be laid out for the cap
  config.tenants[me].cap = kCap;
  DaemonHarness daemon(config);
  TestMount mount({"--backend", daemon.Spec()});  // no --primary: kernel mode
  ASSERT_TRUE(mount.ok());
  std::string data(24u << 20, '\0');
  std::mt19937_64 fill(7);
  for (size_t i = 0; i < data.size(); i += 8) {
    const uint64_t word = fill();
    std::memcpy(data.data() + i, &word, 8);
  }
  WriteFile(mount.B("big"), data);
  WaitUntilSettled();
  std::vector<char> buf(1u << 20);
  for (int pass = 0; pass < 3; ++pass) {  // a long scan is admitted on its second touch
    const int fd = open(mount.M("big").c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    std::string got;
    for (ssize_t n; (n = read(fd, buf.data(), buf.size())) > 0;) got.append(buf.data(), static_cast<size_t>(n));
    close(fd);
    ASSERT_TRUE(got == data) << "pass " << pass;
    ASSERT_TRUE(mount.WaitForDeferredPuts());
  }
  const auto stats = daemon.server().Stats();
  nlohmann::json row;
  for (const auto& t : stats["tenants"]) {
    EXPECT_FALSE(t["name"].get<std::string>().starts_with("shared:")) << stats.dump(2);
    if (t["name"] == me) row = t;
  }
  ASSERT_FALSE(row.is_null()) << stats.dump(2);
  EXPECT_EQ(row["cap_bytes"], kCap);
  EXPECT_EQ(row["share_bytes"], kCap);
  EXPECT_GT(row["puts"].get<uint64_t>(), kCap / kPage) << row.dump();
  EXPECT_LE(row["real_memory_bytes"].get<uint64_t>(), kCap) << row.dump();
  EXPECT_GT(row["pages"].get<uint64_t>(), 0u) << row.dump();
  EXPECT_GT(row["evictions"].get<uint64_t>(), 0u) << row.dump();
}

// A mount on the daemon shows what the daemon holds for it (its tenant's
// row), not zeros; a daemon that cannot be asked shows as unavailable.
TEST(DaemonMount, MountStatsShowWhatTheDaemonHoldsForIt) {
  DaemonHarness daemon;  // tenants by process: the mount process is one
  TestMount mount({"--backend", daemon.Spec()});
  ASSERT_TRUE(mount.ok());
  std::string data;
  for (int i = 0; data.size() < (4u << 20); ++i) data += "line " + std::to_string(i) + " of a compressible file\n";
  WriteFile(mount.B("text"), data);
  WaitUntilSettled();
  for (int pass = 0; pass < 2; ++pass) {
    ASSERT_EQ(ReadFile(mount.M("text")), data);
    ASSERT_TRUE(mount.WaitForDeferredPuts());
  }
  const auto stats = mount.Stats();
  const auto& cc = stats["cleancache"];
  EXPECT_GT(cc["pages_stored"].get<uint64_t>(), 0u) << stats.dump(2);
  EXPECT_GT(cc["memory_used_bytes"].get<uint64_t>(), 0u) << stats.dump(2);
  EXPECT_GT(cc["capacity_bytes"].get<uint64_t>(), 0u) << stats.dump(2);
  EXPECT_GT(cc["compressed_bytes"].get<uint64_t>(), 0u) << stats.dump(2);
  EXPECT_GT(stats["summary"]["compression_ratio"].get<double>(), 1.0) << stats.dump(2);
  EXPECT_EQ(stats["backend_details"]["tmem.stats_unavailable"], 0);
  const std::string tenant = "pid:" + std::to_string(stats["mount"]["pid"].get<int64_t>());
  nlohmann::json row;
  const auto daemon_stats = daemon.server().Stats();
  for (const auto& t : daemon_stats["tenants"]) {
    if (t["name"] == tenant) row = t;
  }
  ASSERT_FALSE(row.is_null()) << tenant << "\n" << daemon_stats.dump(2);
  EXPECT_EQ(cc["pages_stored"], row["pages"]);
  EXPECT_EQ(cc["memory_used_bytes"], row["real_memory_bytes"]);
  EXPECT_EQ(cc["capacity_bytes"], row["share_bytes"]);

  daemon.Stop();
  const auto gone = mount.Stats();
  EXPECT_EQ(gone["backend_details"]["tmem.stats_unavailable"], 1) << gone.dump(2);
  EXPECT_EQ(gone["cleancache"]["pages_stored"], 0u);
  EXPECT_TRUE(gone["summary"]["compression_ratio"].is_null());
}

}  // namespace
}  // namespace cleancache::testing
