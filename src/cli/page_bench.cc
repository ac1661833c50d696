#include "cli/page_bench.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace cleancache {
namespace {

using Clock = std::chrono::steady_clock;

// Gets are timed in batches this large, so that verifying a batch (outside
// the timed part) costs one clock read per batch, not per page.
constexpr uint64_t kBatchPages = 64;

struct PageKeys {
  std::vector<FileKey> file_keys;      // one per corpus file
  std::vector<uint32_t> file_of_page;  // corpus page -> corpus file

  explicit PageKeys(const PageCorpus& corpus) : file_of_page(corpus.page_count()) {
    for (uint32_t f = 0; f < corpus.files().size(); ++f) {
      const CorpusFile& file = corpus.files()[f];
      file_keys.push_back(FileKey::FromInode(file.device, file.inode));
      std::fill_n(file_of_page.begin() + static_cast<long>(file.first_page), file.page_count, f);
    }
  }
};

struct ThreadTally {
  double seconds = 0;
  uint64_t hits = 0;
  uint64_t mismatches = 0;
  uint64_t first_mismatch = UINT64_MAX;
};

class PhaseRunner {
 public:
  PhaseRunner(Cleancache& cache, PoolId pool, const PageCorpus& corpus, const PageKeys& keys)
      : cache_(cache), pool_(pool), corpus_(corpus), keys_(keys) {}

  void Put(uint64_t begin, uint64_t end, ThreadTally& tally) {
    const auto start = Clock::now();
    for (uint64_t page = begin; page < end; ++page) {
      const uint32_t file = keys_.file_of_page[page];
      cache_.PutPage(pool_, keys_.file_keys[file], page - corpus_.files()[file].first_page, corpus_.page(page));
      if ((page - begin) % kBatchPages == kBatchPages - 1) done_.fetch_add(kBatchPages, std::memory_order_relaxed);
    }
    tally.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  }

  void Get(uint64_t begin, uint64_t end, ThreadTally& tally) {
    const size_t page_size = corpus_.page_size();
    std::vector<uint8_t> batch(kBatchPages * page_size);
    std::vector<uint8_t> hit(kBatchPages);
    for (uint64_t first = begin; first < end; first += kBatchPages) {
      const uint64_t count = std::min(kBatchPages, end - first);
      const auto start = Clock::now();
      for (uint64_t i = 0; i < count; ++i) {
        const uint64_t page = first + i;
        const uint32_t file = keys_.file_of_page[page];
        hit[i] = cache_.GetPage(pool_, keys_.file_keys[file], page - corpus_.files()[file].first_page,
                                {batch.data() + i * page_size, page_size});
      }
      tally.seconds += std::chrono::duration<double>(Clock::now() - start).count();
      for (uint64_t i = 0; i < count; ++i) {
        if (!hit[i]) continue;
        ++tally.hits;
        if (std::memcmp(batch.data() + i * page_size, corpus_.page(first + i).data(), page_size) != 0) {
          ++tally.mismatches;
          tally.first_mismatch = std::min(tally.first_mismatch, first + i);
        }
      }
      done_.fetch_add(count, std::memory_order_relaxed);
    }
  }

  // Runs `work` on `threads` threads over contiguous page ranges, reporting
  // progress from this thread while they run.
  template <typename Work>
  std::vector<ThreadTally> Run(const char* phase, unsigned threads, const PageBenchOptions& options, Work work) {
    const uint64_t total = corpus_.page_count();
    std::vector<ThreadTally> tallies(threads);
    done_.store(0);
    std::mutex mutex;
    std::condition_variable finished_cv;
    unsigned finished = 0;
    {
      std::vector<std::jthread> workers;
      for (unsigned t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
          work(total * t / threads, total * (t + 1) / threads, tallies[t]);
          std::lock_guard lock(mutex);
          ++finished;
          finished_cv.notify_one();
        });
      }
      std::unique_lock lock(mutex);
      while (!finished_cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return finished == threads; })) {
        if (options.progress) options.progress(phase, done_.load(std::memory_order_relaxed), total);
      }
    }
    if (options.progress) options.progress(phase, total, total);
    return tallies;
  }

 private:
  Cleancache& cache_;
  PoolId pool_;
  const PageCorpus& corpus_;
  const PageKeys& keys_;
  std::atomic<uint64_t> done_{0};
};

double Busiest(const std::vector<ThreadTally>& tallies) {
  double seconds = 0;
  for (const ThreadTally& t : tallies) seconds = std::max(seconds, t.seconds);
  return seconds;
}

}  // namespace

Result<PageBenchReport> RunPageBench(Cleancache& cache, const PageCorpus& corpus, const PageBenchOptions& options) {
  if (options.threads == 0) return Status::InvalidArgument("bench: at least one thread is needed");
  PoolConfig config;
  config.page_size = corpus.page_size();
  Result<PoolId> pool = cache.OpenPool(config);
  if (!pool.ok()) return pool.status();

  const PageKeys keys(corpus);
  PhaseRunner runner(cache, *pool, corpus, keys);
  PageBenchReport report;
  report.pages = corpus.page_count();
  report.page_size = corpus.page_size();
  report.threads = options.threads;

  auto put = runner.Run("put", options.threads, options,
                        [&](uint64_t begin, uint64_t end, ThreadTally& tally) { runner.Put(begin, end, tally); });
  report.put_seconds = Busiest(put);
  report.after_put = cache.BackendStatistics();

  auto get = runner.Run("get", options.threads, options,
                        [&](uint64_t begin, uint64_t end, ThreadTally& tally) { runner.Get(begin, end, tally); });
  report.get_seconds = Busiest(get);
  report.first_mismatch = UINT64_MAX;
  for (const ThreadTally& t : get) {
    report.hits += t.hits;
    report.mismatches += t.mismatches;
    report.first_mismatch = std::min(report.first_mismatch, t.first_mismatch);
  }
  report.misses = report.pages - report.hits;
  if (report.mismatches == 0) report.first_mismatch = 0;
  report.counters = cache.Counters(*pool);
  cache.InvalidateFs(*pool);
  return report;
}

}  // namespace cleancache
