// `cleancache mount --trace`: the pool's accesses recorded by a real mount
// replay (cleancache replay's engine) to the hit ratio the mount had, and
// the trace stops at --trace-max with a valid file; the mount's stats carry
// the pool's "sizing" section.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cleancache/page_trace.h"
#include "fuse/test_mount.h"
#include "mrc/trace_replay.h"

namespace cleancache::testing {
namespace {

constexpr size_t kPage = 4096;

// Incompressible pages: the replay's synthetic contents (compressibility 0)
// then cost the backend the same memory per page as the files' do.
std::string RandomBytes(size_t size, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(size, '\0');
  for (size_t i = 0; i + 8 <= size; i += 8) {
    const uint64_t v = rng();
    std::memcpy(out.data() + i, &v, 8);
  }
  return out;
}

// Reads the file (drops the kernel's cached pages first, so every page read
// reaches the mount's pool). Returns the bytes read.
size_t ReadThrough(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return 0;
  posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  size_t total = 0;
  std::vector<char> buf(64 * 1024);
  ssize_t n;
  while ((n = read(fd, buf.data(), buf.size())) > 0) total += static_cast<size_t>(n);
  posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  close(fd);
  return total;
}

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/cc-trace-XXXXXX";
    path = mkdtemp(t);
  }
  ~TempDir() { Shell("rm -rf '" + path + "'"); }
};

// One shard, small segments, LZ4: the replay's backend is built from the
// same spec; one shard keeps page placement independent of the file keys
// (the replay's keys are made from the trace's file hashes).
constexpr const char* kSpec = "zcache:capacity=4M,shards=1,segment=64K,codec=lz4";

TEST(FuseTrace, ReplayOfARecordedTraceGivesTheLiveHitRatio) {
  TempDir dir;
  const std::string trace_path = dir.path + "/pool.trace";
  // Synchronous puts (--put-queue 0), one FUSE thread and no scan admission:
  // the pool sees the reads' gets and puts in one order, as the replay does.
  TestMount m(
      {"--backend", kSpec, "--put-queue", "0", "--threads", "1", "--scan-admission", "always", "--trace", trace_path});
  ASSERT_TRUE(m.ok());
  // 6 files of 1 MiB (1536 pages, 6 MiB) through 4 MiB: files 0 and 1 are
  // read every pass, the rest in turn, so some re-reads fit and some not.
  for (int f = 0; f < 6; ++f) WriteFile(m.B("f" + std::to_string(f)), RandomBytes(1 << 20, 100 + f));
  WaitUntilSettled();
  for (int pass = 0; pass < 8; ++pass) {
    for (int f : {0, 1, 2 + pass % 4}) ASSERT_EQ(ReadThrough(m.M("f" + std::to_string(f))), size_t{1} << 20);
  }
  const nlohmann::json stats = m.Stats();
  const uint64_t hits = stats["cleancache"]["hits"].get<uint64_t>();
  const uint64_t gets = hits + stats["cleancache"]["misses"].get<uint64_t>();
  ASSERT_GE(gets, 24u * 256) << stats.dump();
  const double live = static_cast<double>(hits) / static_cast<double>(gets);
  // The sizing section: fed every get; more memory would have helped.
  ASSERT_TRUE(stats.contains("sizing")) << stats.dump();
  EXPECT_EQ(stats["sizing"]["reads"].get<uint64_t>(), gets);
  EXPECT_GT(stats["sizing"]["best_hit_ratio"].get<double>(), live);
  EXPECT_TRUE(stats["sizing"]["memory_for_90pct_bytes"].is_number());
  EXPECT_EQ(stats["trace"]["dropped"].get<uint64_t>(), 0u);
  ASSERT_TRUE(m.Unmount());

  auto trace = ReadPageTrace(trace_path);
  ASSERT_TRUE(trace.ok()) << trace.status().message();
  EXPECT_FALSE(trace->limit_reached);
  EXPECT_TRUE(trace->puts_recorded);
  uint64_t trace_gets = 0;
  for (const TraceRecord& r : trace->records) trace_gets += r.op == TraceOp::kGet;
  EXPECT_EQ(trace_gets, gets);

  mrc::ReplayOptions options;
  options.backend = kSpec;
  options.capacities = {4u << 20};
  options.compressibility = 0;
  auto report = mrc::ReplayTrace(*trace, options);
  ASSERT_TRUE(report.ok()) << report.status().message();
  const double replayed = report->points.front().measured;
  std::printf("live hit ratio %.6f (%llu gets), replayed %.6f\n", live, static_cast<unsigned long long>(gets),
              replayed);
  // The same gets, puts and invalidations in the same order through the same
  // backend: equal. 1% allows for records appended in another order than
  // the backend served them (none expected with one FUSE thread and
  // synchronous puts).
  EXPECT_NEAR(replayed, live, 0.01) << "live " << live << " replayed " << replayed;
  EXPECT_GT(live, 0.2);
  EXPECT_LT(live, 0.9);
}

TEST(FuseTrace, StopsAtTheBoundWithAValidTrace) {
  TempDir dir;
  const std::string trace_path = dir.path + "/small.trace";
  // 40-byte header + 100 records of 24 bytes.
  TestMount m({"--trace", trace_path, "--trace-max", std::to_string(40 + 100 * 24)});
  ASSERT_TRUE(m.ok());
  WriteFile(m.B("f"), RandomBytes(1 << 20, 7));
  WaitUntilSettled();
  ASSERT_EQ(ReadThrough(m.M("f")), size_t{1} << 20);
  const nlohmann::json stats = m.Stats();
  EXPECT_TRUE(stats["trace"]["limit_reached"].get<bool>()) << stats.dump();
  ASSERT_TRUE(m.Unmount());
  auto trace = ReadPageTrace(trace_path);
  ASSERT_TRUE(trace.ok()) << trace.status().message();
  EXPECT_TRUE(trace->limit_reached);
  EXPECT_EQ(trace->records.size(), 100u);
}

TEST(FuseTrace, BadTraceOptionsAreBadInput) {
  EXPECT_EQ(
      RunCommand({CLEANCACHE_CLI_PATH, "mount", "/tmp", "/mnt", "--trace", "/tmp/x", "--trace-max", "1"}).exit_code, 2);
  EXPECT_EQ(RunCommand({CLEANCACHE_CLI_PATH, "mount", "/tmp", "/mnt", "--trace-max", "lots"}).exit_code, 2);
}

}  // namespace
}  // namespace cleancache::testing
