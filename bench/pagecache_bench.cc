// The reading thread's cost of one PageCache::Read miss, as the FUSE mount's
// kernel mode does it for every page the kernel asks for: capacity 0, pages
// read are queued for the background put (PutFeeder) into a zcache shared
// pool. The "reader" copies a page from memory, so what is measured is the
// PageCache's own work on top of the read it wraps:
//   read/bare          the reader alone (what passthrough_ll does besides FUSE)
//   read/pagecache     PageCache::Read with the feeder (the mount's default)
//   read/pagecache_sync  PageCache::Read putting on the reading thread (--put-queue 0)
// Every 256 reads the queue is drained outside the timing, so the feeder keeps
// up as it does behind a FUSE read stream (~35k reads/s) and no put is
// dropped; the feeder thus works mostly while the timing is paused, and what
// is measured is the reading thread's own work (tickets, the cleancache
// lookup, the hand-off to the feeder), not the compression.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <utility>
#include <vector>

#include "cleancache/backend_spec.h"
#include "cleancache/cleancache.hpp"
#include "cleancache/corpus.h"
#include "cleancache/page_cache.h"

namespace {

using namespace cleancache;

constexpr uint32_t kPage = 4096;
constexpr uint64_t kFilePages = 16384;  // a 64 MiB "file"
constexpr int kDrainEvery = 256;
static_assert(kFilePages % kDrainEvery == 0, "a round ends at a drain");

FileKey MountLikeKey(uint64_t file) {
  // The mount's keys: a file handle with its device, plus the validator.
  std::vector<uint8_t> bytes(48);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7 + file);
  return FileKey::FromBytes(1, bytes).value();
}

void ReadMisses(benchmark::State& state, const PageCorpus& file, bool through_page_cache, uint64_t put_queue_bytes) {
  Cleancache cache;
  auto backend = CreateBackend("zcache:capacity=1G");
  Status s = backend.ok() ? cache.RegisterBackend(std::move(*backend)) : backend.status();
  if (!s.ok()) {
    state.SkipWithError(s.ToString().c_str());
    return;
  }
  PoolConfig config{.page_size = kPage, .shared = false, .uuid = {}, .keep_on_get = true};  // as a kernel-mode mount
  PoolId pool = cache.OpenPool(config).value();
  PageCache pages(cache, pool, PageCacheOptions{0, kPage, 0, put_queue_bytes});
  const PageCache::Reader reader = [&file](uint64_t first, std::span<uint8_t> out) {
    std::memcpy(out.data(), file.page(first).data(), out.size());
    return static_cast<long>(out.size());
  };
  std::vector<uint8_t> out(kPage);
  // Each page once per round, in random order (fio's random map), then a new
  // file version (a new key): every read is a miss, as in a cold random read.
  std::vector<uint64_t> order(kFilePages);
  for (uint64_t i = 0; i < kFilePages; ++i) order[i] = i;
  std::mt19937_64 rng(7);
  std::shuffle(order.begin(), order.end(), rng);
  uint64_t round = 0;
  size_t next = 0;
  int until_drain = kDrainEvery;
  for (auto _ : state) {
    const uint64_t index = order[next++];
    if (through_page_cache) {
      const FileKey key = MountLikeKey(round);
      int rc = pages.Read(key, index, 1, out, reader, [&] { benchmark::DoNotOptimize(out.data()); });
      benchmark::DoNotOptimize(rc);
    } else {
      long got = reader(index, out);
      benchmark::DoNotOptimize(got);
    }
    if (--until_drain == 0) {
      state.PauseTiming();
      pages.DrainPuts();
      if (next == order.size()) {
        cache.InvalidateInode(pool, MountLikeKey(round++));
        std::shuffle(order.begin(), order.end(), rng);
        next = 0;
      }
      until_drain = kDrainEvery;
      state.ResumeTiming();
    }
  }
  pages.DrainPuts();
  PageCacheStats stats = pages.Stats();
  state.counters["dropped_puts"] = static_cast<double>(stats.dropped_puts);
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  // Half-compressible pages, like fio's --buffer_compress_percentage=50.
  auto file = BuildSyntheticCorpus({.pages = kFilePages, .page_size = kPage, .compressibility = 0.5});
  if (!file.ok()) {
    std::fprintf(stderr, "pagecache_bench: %s\n", file.status().ToString().c_str());
    return 1;
  }
  const PageCorpus& pages = *file;
  benchmark::RegisterBenchmark("read/bare", ReadMisses, std::cref(pages), false, 0)->UseRealTime();
  benchmark::RegisterBenchmark("read/pagecache", ReadMisses, std::cref(pages), true, 64ull << 20)->UseRealTime();
  benchmark::RegisterBenchmark("read/pagecache_sync", ReadMisses, std::cref(pages), true, 0)->UseRealTime();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
