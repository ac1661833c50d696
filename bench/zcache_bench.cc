// zcache against raw LZ4, side by side in ONE run, on the machine-files
// corpus (default 65,536 pages of 4 KiB): LZ4_compress_default and
// LZ4_decompress_safe per page, zcache put and get (hit) through a
// Cleancache instance, each with one and two threads. Every benchmark makes
// exactly one pass over the corpus (the threads split it). After the runs it
// prints the ratios the project targets (bench/run_core_bench.sh), from the
// medians when --benchmark_repetitions is given.
//
// Extra flags (after Google Benchmark's own): --pages=N, --spec=SPEC.
#include <benchmark/benchmark.h>
#include <lz4.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cleancache/backend_spec.h"
#include "cleancache/cleancache.hpp"
#include "cleancache/corpus.h"

namespace {

using cleancache::Cleancache;
using cleancache::FileKey;
using cleancache::PageCorpus;

// Everything the benchmarks share; owned by main(), captured by reference.
struct BenchData {
  PageCorpus corpus;
  std::string spec;
  std::vector<FileKey> key_of_page;       // the page's file key
  std::vector<uint64_t> index_of_page;    // the page's index in its file
  std::vector<char> compressed;           // LZ4 of every page, back to back
  std::vector<size_t> compressed_offset;  // page i: [offset[i], offset[i+1])
  // The cache under test in the current zcache benchmark; thread 0 creates
  // it before the timed loop (Google Benchmark starts all threads' loops
  // together) and drops it after.
  std::unique_ptr<Cleancache> cache;
  cleancache::PoolId pool = cleancache::kNoPool;
  uint64_t mapped_before = 0;  // zcache's segments_mapped before a timed loop
};

// Thread t of n works on pages [begin, end).
std::pair<size_t, size_t> Range(const benchmark::State& state, size_t pages) {
  const size_t t = static_cast<size_t>(state.thread_index()), n = static_cast<size_t>(state.threads());
  return {pages * t / n, pages * (t + 1) / n};
}

void NewCache(BenchData& data, benchmark::State& state) {
  auto backend = cleancache::CreateBackend(data.spec);
  if (!backend.ok()) return state.SkipWithError(backend.status().ToString().c_str());
  data.cache = std::make_unique<Cleancache>();
  (void)data.cache->RegisterBackend(std::move(backend).value());
  data.pool = data.cache->InitFs(data.corpus.page_size());
}

void PutAll(BenchData& data, size_t begin, size_t end) {
  for (size_t page = begin; page < end; ++page)
    data.cache->PutPage(data.pool, data.key_of_page[page], data.index_of_page[page], data.corpus.page(page));
}

// Memory figures of the cache as counters: density = original / real memory.
void ReportMemory(BenchData& data, benchmark::State& state) {
  const cleancache::BackendStats stats = data.cache->BackendStatistics();
  if (stats.pages_stored == 0) return;
  const double pages = static_cast<double>(stats.pages_stored);
  state.counters["density"] = static_cast<double>(stats.original_bytes) / static_cast<double>(stats.real_memory_bytes);
  state.counters["real_B_per_page"] = static_cast<double>(stats.real_memory_bytes) / pages;
  state.counters["compressed_B_per_page"] = static_cast<double>(stats.compressed_bytes) / pages;
  state.counters["stored_pages"] = pages;
}

void Lz4Compress(benchmark::State& state, BenchData& data) {
  const auto [begin, end] = Range(state, data.corpus.page_count());
  const int page_size = static_cast<int>(data.corpus.page_size());
  std::vector<char> out(static_cast<size_t>(LZ4_compressBound(page_size)));
  size_t page = begin;
  uint64_t compressed = 0;
  for (auto _ : state) {
    const int n = LZ4_compress_default(reinterpret_cast<const char*>(data.corpus.page(page).data()), out.data(),
                                       page_size, static_cast<int>(out.size()));
    benchmark::DoNotOptimize(n);
    compressed += static_cast<uint64_t>(n);
    if (++page == end) page = begin;
  }
  state.SetBytesProcessed(state.iterations() * page_size);
  if (state.thread_index() == 0 && state.threads() == 1)
    state.counters["compressed_B_per_page"] = static_cast<double>(compressed) / static_cast<double>(state.iterations());
}

void Lz4Decompress(benchmark::State& state, BenchData& data) {
  const auto [begin, end] = Range(state, data.corpus.page_count());
  const int page_size = static_cast<int>(data.corpus.page_size());
  std::vector<char> out(page_size);
  size_t page = begin;
  for (auto _ : state) {
    const size_t offset = data.compressed_offset[page];
    const int n = LZ4_decompress_safe(data.compressed.data() + offset, out.data(),
                                      static_cast<int>(data.compressed_offset[page + 1] - offset), page_size);
    benchmark::DoNotOptimize(n);
    benchmark::ClobberMemory();
    if (++page == end) page = begin;
  }
  state.SetBytesProcessed(state.iterations() * page_size);
}

// The timed loop of both put benchmarks: each thread puts its range of pages.
void TimedPuts(benchmark::State& state, BenchData& data) {
  const auto [begin, end] = Range(state, data.corpus.page_count());
  size_t page = begin;
  for (auto _ : state) {
    data.cache->PutPage(data.pool, data.key_of_page[page], data.index_of_page[page], data.corpus.page(page));
    if (++page == end) page = begin;
  }
  state.SetBytesProcessed(state.iterations() * data.corpus.page_size());
}

void ZcachePut(benchmark::State& state, BenchData& data) {
  if (state.thread_index() == 0) NewCache(data, state);
  TimedPuts(state, data);
  if (state.thread_index() == 0) {
    ReportMemory(data, state);
    data.cache.reset();
  }
}

// Puts into a cache already at capacity (a 64 MiB cache that has seen every
// page once), the state a second-chance cache lives in: every put evicts, and
// segments are recycled instead of freshly faulted in. zcache_put above is the
// cold fill, which also pays for the kernel zeroing new memory.
void ZcachePutAtCapacity(benchmark::State& state, BenchData& data) {
  if (state.thread_index() == 0) {
    const std::string cold_spec = data.spec;
    data.spec = "zcache:capacity=64M";
    NewCache(data, state);
    data.spec = cold_spec;
    if (data.cache) PutAll(data, 0, data.corpus.page_count());
    if (data.cache) data.mapped_before = data.cache->BackendStatistics().extra["segments_mapped"];
  }
  TimedPuts(state, data);
  if (state.thread_index() == 0) {
    const cleancache::BackendStats stats = data.cache->BackendStatistics();
    state.counters["evictions"] = static_cast<double>(stats.evictions);
    // Segments mapped (and so faulted in) during the timed puts: a cache at
    // capacity should recycle the segments it evicts instead.
    state.counters["new_segments"] = static_cast<double>(stats.extra.at("segments_mapped") - data.mapped_before);
    data.cache.reset();
  }
}

void ZcacheGet(benchmark::State& state, BenchData& data) {
  if (state.thread_index() == 0) {
    NewCache(data, state);
    if (data.cache) PutAll(data, 0, data.corpus.page_count());
  }
  const auto [begin, end] = Range(state, data.corpus.page_count());
  std::vector<uint8_t> out(data.corpus.page_size());
  size_t page = begin;
  uint64_t hits = 0;
  for (auto _ : state) {
    hits += data.cache->GetPage(data.pool, data.key_of_page[page], data.index_of_page[page], out);
    if (++page == end) page = begin;
  }
  state.SetBytesProcessed(state.iterations() * data.corpus.page_size());
  state.counters["hits"] = static_cast<double>(hits);  // summed over threads
  if (state.thread_index() == 0) data.cache.reset();
}

// Console output as usual, and each run's figures kept for the summary:
// with --benchmark_repetitions, the median of the repetitions.
class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  explicit CollectingReporter(OutputOptions options) : ConsoleReporter(options) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name != "median") continue;
      std::map<std::string, double>& figures =
          runs_[run.run_name.function_name + "/threads:" + std::to_string(run.threads)];
      for (const auto& [name, counter] : run.counters) figures[name] = counter.value;
    }
    ConsoleReporter::ReportRuns(runs);
  }
  double Get(const std::string& name, int threads, const std::string& counter) const {
    auto run = runs_.find(name + "/threads:" + std::to_string(threads));
    if (run == runs_.end()) return 0;
    auto value = run->second.find(counter);
    return value == run->second.end() ? 0 : value->second;
  }

 private:
  std::map<std::string, std::map<std::string, double>> runs_;
};

void PrintVerdict(const char* what, double value, const char* op, double target, bool met) {
  std::printf("  %-48s %8.3f  (target %s %.3f)  %s\n", what, value, op, target, met ? "MET" : "NOT MET");
}

void PrintSummary(const CollectingReporter& r, size_t pages, size_t files) {
  auto rate = [&r](const char* name, int threads) { return r.Get(name, threads, "bytes_per_second") / 1e6; };
  std::printf("\nOne run, %zu pages of %zu files. Rates in MB/s (10^6 bytes; the table above shows MiB/s):\n", pages,
              files);
  std::printf("  %-22s %10s %10s\n", "", "1 thread", "2 threads");
  for (const char* name : {"lz4_compress", "lz4_decompress", "zcache_put", "zcache_put_at_capacity", "zcache_get"})
    std::printf("  %-22s %10.1f %10.1f\n", name, rate(name, 1), rate(name, 2));
  const double real = r.Get("zcache_put", 1, "real_B_per_page");
  const double compressed = r.Get("zcache_put", 1, "compressed_B_per_page");
  std::printf("Memory per stored page: real %.1f B, compressed %.1f B, raw LZ4 %.1f B; density %.3f\n", real,
              compressed, r.Get("lz4_compress", 1, "compressed_B_per_page"), r.Get("zcache_put", 1, "density"));
  std::printf("Targets:\n");
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  const double put = ratio(rate("zcache_put", 1), rate("lz4_compress", 1));
  const double get = ratio(rate("zcache_get", 1), rate("lz4_decompress", 1));
  PrintVerdict("put (cold fill) / raw LZ4 compress", put, ">=", 0.90, put >= 0.90);
  const double put_full = ratio(rate("zcache_put_at_capacity", 1), rate("lz4_compress", 1));
  PrintVerdict("put (at capacity) / raw LZ4 compress", put_full, ">=", 0.90, put_full >= 0.90);
  PrintVerdict("get / raw LZ4 decompress", get, ">=", 0.85, get >= 0.85);
  const double limit = 1.03 * compressed + 32;
  PrintVerdict("real B per page (limit 1.03 x compressed + 32)", real, "<=", limit, real > 0 && real <= limit);
  for (const char* name : {"zcache_put", "zcache_put_at_capacity", "zcache_get", "lz4_compress", "lz4_decompress"}) {
    const double scale = ratio(rate(name, 2), rate(name, 1));
    const std::string what = std::string(name) + " 2 threads / 1 thread";
    PrintVerdict(what.c_str(), scale, ">=", 1.7, scale >= 1.7);
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  BenchData data;
  data.spec = "zcache:capacity=1G";
  uint64_t pages = 65536;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.starts_with("--pages=")) {
      pages = std::strtoull(arg.c_str() + 8, nullptr, 10);
    } else if (arg.starts_with("--spec=")) {
      data.spec = arg.substr(7);
    } else {
      std::fprintf(stderr, "zcache_bench: unknown argument '%s' (extra flags: --pages=N --spec=SPEC)\n", arg.c_str());
      return 2;
    }
  }
  cleancache::MachineCorpusOptions options;
  options.pages = pages;
  auto corpus = cleancache::BuildMachineCorpus(options);
  if (!corpus.ok()) {
    std::fprintf(stderr, "zcache_bench: %s\n", corpus.status().ToString().c_str());
    return 2;
  }
  data.corpus = std::move(corpus).value();
  const int page_size = static_cast<int>(data.corpus.page_size());
  data.compressed.resize(data.corpus.page_count() * static_cast<size_t>(LZ4_compressBound(page_size)));
  data.compressed_offset.push_back(0);
  for (const cleancache::CorpusFile& file : data.corpus.files()) {
    const FileKey key = FileKey::FromInode(file.device, file.inode);
    for (uint64_t i = 0; i < file.page_count; ++i) {
      data.key_of_page.push_back(key);
      data.index_of_page.push_back(i);
      const size_t offset = data.compressed_offset.back();
      const int n = LZ4_compress_default(reinterpret_cast<const char*>(data.corpus.page(file.first_page + i).data()),
                                         data.compressed.data() + offset, page_size,
                                         static_cast<int>(data.compressed.size() - offset));
      data.compressed_offset.push_back(offset + static_cast<size_t>(n));
    }
  }

  const auto n = static_cast<benchmark::IterationCount>(data.corpus.page_count());
  struct Entry {
    const char* name;
    void (*fn)(benchmark::State&, BenchData&);
  };
  for (const Entry& e :
       {Entry{"lz4_compress", Lz4Compress}, Entry{"lz4_decompress", Lz4Decompress}, Entry{"zcache_put", ZcachePut},
        Entry{"zcache_put_at_capacity", ZcachePutAtCapacity}, Entry{"zcache_get", ZcacheGet}}) {
    benchmark::RegisterBenchmark(e.name, e.fn, std::ref(data))->Iterations(n)->UseRealTime();
    benchmark::RegisterBenchmark(e.name, e.fn, std::ref(data))->Iterations(n / 2)->Threads(2)->UseRealTime();
  }
  CollectingReporter reporter(isatty(STDOUT_FILENO) == 1 ? benchmark::ConsoleReporter::OO_Defaults
                                                         : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  PrintSummary(reporter, data.corpus.page_count(), data.corpus.files().size());
  benchmark::Shutdown();
  return 0;
}
