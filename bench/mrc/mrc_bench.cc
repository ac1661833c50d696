// The upkeep cost of a miss-ratio curve on zcache's data path: put and get
// throughput through a Cleancache instance, each without and with a
// MissRatioCurve fed on every call (PageHash + Touch after a put, Access after
// a get), on bench/zcache_bench's corpus (65,536 machine-file pages). Each
// benchmark makes one pass over the corpus (threads split it), as in
// zcache_bench, with a curve that has already seen one pass (untimed): the
// steady state of a long-running cache, not the first minutes in which the
// sample set fills. Curves:
//   default:  ForCapacity(1 GiB), zcache_bench's capacity: the rate stays at
//             its initial 0.04 (the corpus is far below 8 x 1 GiB), so 4% of
//             calls take the sampled path;
//   all:      rate 1.0, every call sampled (the exact mode the tests use): the
//             upper bound of the cost, for reference;
//   observed: no curve of the benchmark's own: the backend is wrapped in an
//             ObservedBackend (ForCapacity(1 GiB), what mounts and daemon
//             tenants run: hash, sampling test and read counter per page).
// Summary: cost = 1 - (rate with curve / rate without), rates in CPU time,
// from the medians when --benchmark_repetitions is given (with
// --benchmark_enable_random_interleaving=true, the variants' repetitions are
// interleaved, so a noisy neighbour hits them alike). Target (issue 17): <= 3%.
//
// Extra flags (after Google Benchmark's own): --pages=N.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cleancache/backend_spec.h"
#include "cleancache/cleancache.hpp"
#include "cleancache/corpus.h"
#include "cleancache/miss_ratio_curve.h"
#include "cleancache/observed_backend.h"

namespace {

using cleancache::MissRatioCurve;

enum class Feed { kNone, kDefault, kAll, kObserved };
const char* FeedName(Feed feed) {
  return feed == Feed::kNone      ? "plain"
         : feed == Feed::kDefault ? "curve"
         : feed == Feed::kAll     ? "curve_all"
                                  : "observed";
}

struct Data {
  cleancache::PageCorpus corpus;
  std::vector<cleancache::FileKey> keys;
  std::vector<uint64_t> indexes;
  std::unique_ptr<cleancache::Cleancache> cache;
  std::unique_ptr<MissRatioCurve> curve;
  cleancache::PoolId pool = cleancache::kNoPool;
};

void Setup(Data& d, benchmark::State& state, Feed feed, bool fill) {
  auto backend = cleancache::CreateBackend("zcache:capacity=1G");
  if (!backend.ok()) return state.SkipWithError(backend.status().ToString().c_str());
  d.cache = std::make_unique<cleancache::Cleancache>();
  if (feed == Feed::kObserved) {
    cleancache::ObservedBackendOptions o;
    o.capacity_bytes = 1ull << 30;
    (void)d.cache->RegisterBackend(
        std::make_unique<cleancache::ObservedBackend>(std::move(backend).value(), std::move(o)));
  } else {
    (void)d.cache->RegisterBackend(std::move(backend).value());
  }
  d.pool = d.cache->InitFs(d.corpus.page_size());
  d.curve.reset();
  if (feed == Feed::kObserved) {  // the wrapper's curve sees one pass first (gets of an empty cache)
    std::vector<uint8_t> out(d.corpus.page_size());
    for (size_t p = 0; p < d.corpus.page_count(); ++p) (void)d.cache->GetPage(d.pool, d.keys[p], d.indexes[p], out);
  } else if (feed != Feed::kNone) {
    cleancache::MissRatioCurveOptions options = cleancache::MissRatioCurveOptions::ForCapacity(1ull << 30);
    if (feed == Feed::kAll) options.initial_rate = 1.0;
    d.curve = std::make_unique<MissRatioCurve>(options);
    for (size_t p = 0; p < d.corpus.page_count(); ++p)
      d.curve->Access(MissRatioCurve::PageHash(d.pool, d.keys[p], d.indexes[p]), 4096);
  }
  if (fill)
    for (size_t p = 0; p < d.corpus.page_count(); ++p)
      d.cache->PutPage(d.pool, d.keys[p], d.indexes[p], d.corpus.page(p));
}

void Run(benchmark::State& state, Data& d, bool put, Feed feed) {
  if (state.thread_index() == 0) Setup(d, state, feed, !put);
  const size_t n = d.corpus.page_count(), t = static_cast<size_t>(state.thread_index()),
               threads = static_cast<size_t>(state.threads());
  const size_t begin = n * t / threads, end = n * (t + 1) / threads;
  std::vector<uint8_t> out(d.corpus.page_size());
  size_t p = begin;
  for (auto _ : state) {  // d.curve read in the loop: thread 0 sets it up before the loop's start barrier
    MissRatioCurve* curve = d.curve.get();
    if (put) {
      d.cache->PutPage(d.pool, d.keys[p], d.indexes[p], d.corpus.page(p));
      if (curve != nullptr) curve->Touch(MissRatioCurve::PageHash(d.pool, d.keys[p], d.indexes[p]), 4096);
    } else {
      benchmark::DoNotOptimize(d.cache->GetPage(d.pool, d.keys[p], d.indexes[p], out));
      if (curve != nullptr) curve->Access(MissRatioCurve::PageHash(d.pool, d.keys[p], d.indexes[p]), 4096);
    }
    if (++p == end) p = begin;
  }
  state.SetBytesProcessed(state.iterations() * d.corpus.page_size());
  if (state.thread_index() == 0) {
    if (d.curve != nullptr) {
      state.counters["rate"] = d.curve->sampling_rate();
      state.counters["curve_KiB"] = static_cast<double>(d.curve->MemoryBytes()) / 1024;
    }
    d.cache.reset();
  }
}

class Collector : public benchmark::ConsoleReporter {
 public:
  Collector() : ConsoleReporter(OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name != "median") continue;
      rates_[run.run_name.function_name + "/" + std::to_string(run.threads)] =
          run.counters.at("bytes_per_second").value;
    }
    ConsoleReporter::ReportRuns(runs);
  }
  double Rate(const std::string& name, int threads) const {
    auto it = rates_.find(name + "/" + std::to_string(threads));
    return it == rates_.end() ? 0 : it->second;
  }

 private:
  std::map<std::string, double> rates_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  uint64_t pages = 65536;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--pages=", 8) == 0) {
      pages = std::strtoull(argv[i] + 8, nullptr, 10);
    } else {
      std::fprintf(stderr, "mrc_bench: unknown argument '%s' (extra flag: --pages=N)\n", argv[i]);
      return 2;
    }
  }
  cleancache::MachineCorpusOptions options;
  options.pages = pages;
  auto corpus = cleancache::BuildMachineCorpus(options);
  if (!corpus.ok()) {
    std::fprintf(stderr, "mrc_bench: %s\n", corpus.status().ToString().c_str());
    return 2;
  }
  Data d;
  d.corpus = std::move(corpus).value();
  for (const cleancache::CorpusFile& file : d.corpus.files()) {
    for (uint64_t i = 0; i < file.page_count; ++i) {
      d.keys.push_back(cleancache::FileKey::FromInode(file.device, file.inode));
      d.indexes.push_back(i);
    }
  }
  const auto n = static_cast<benchmark::IterationCount>(d.corpus.page_count());
  for (bool put : {true, false}) {
    for (Feed feed : {Feed::kNone, Feed::kDefault, Feed::kAll, Feed::kObserved}) {
      const std::string name = std::string(put ? "put_" : "get_") + FeedName(feed);
      auto fn = [&d, put, feed](benchmark::State& state) { Run(state, d, put, feed); };
      // CPU time, not wall time: on a shared machine a time slice lost to a
      // neighbour would otherwise count as upkeep (bench/compare's Timing).
      benchmark::RegisterBenchmark(name.c_str(), fn)->Iterations(n);
      benchmark::RegisterBenchmark(name.c_str(), fn)->Iterations(n / 2)->Threads(2);
    }
  }
  Collector reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  std::printf("\nCurve upkeep cost, 1 - (with curve / plain), MB/s from the medians; target <= 3%%:\n");
  std::printf("  %-6s %8s %12s %16s %16s %17s\n", "", "threads", "plain MB/s", "cost (default)", "cost (rate 1.0)",
              "cost (observed)");
  for (const char* op : {"put", "get"}) {
    for (int threads : {1, 2}) {
      const double plain = reporter.Rate(std::string(op) + "_plain", threads);
      auto cost = [&](const char* feed) {
        const double with = reporter.Rate(std::string(op) + "_" + feed, threads);
        return plain > 0 ? 100.0 * (1.0 - with / plain) : 0.0;
      };
      std::printf("  %-6s %8d %12.1f %15.2f%% %15.2f%% %16.2f%%\n", op, threads, plain / 1e6, cost("curve"),
                  cost("curve_all"), cost("observed"));
    }
  }
  benchmark::Shutdown();
  return 0;
}
