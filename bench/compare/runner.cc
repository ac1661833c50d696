#include "compare/runner.h"

#include <time.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "compare/process_memory.h"

namespace cleancache::compare {
namespace {

constexpr size_t kGetBatch = 64;

double Now(Timing timing) {
  timespec t;
  clock_gettime(timing == Timing::kWall ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// Page-aligned, so O_DIRECT stores can read straight into it.
struct AlignedPages {
  explicit AlignedPages(size_t bytes)
      : data(static_cast<uint8_t*>(std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096))), size(bytes) {
    std::memset(data, 0, size);
  }
  ~AlignedPages() { std::free(data); }
  AlignedPages(const AlignedPages&) = delete;
  AlignedPages& operator=(const AlignedPages&) = delete;
  uint8_t* data;
  size_t size;
};

uint64_t StoreMemory(const Contestant& contestant, const PageStore& store, const MemorySample& baseline) {
  if (contestant.memory == MemoryBasis::kProcessMemory) return MemoryGrowth(baseline, SampleMemory());
  return store.Memory().value_or(0);
}

}  // namespace

Result<ThroughputResult> MeasureThroughput(const Contestant& contestant, const PageCorpus& corpus, const PageIds& ids,
                                           Timing timing) {
  const MemorySample baseline = SampleMemory();
  Result<std::unique_ptr<PageStore>> created = contestant.create(StoreSetup{&corpus, &ids, 0});
  if (!created.ok()) return created.status();
  PageStore& store = *created.value();
  const size_t pages = corpus.page_count();
  const uint32_t page_size = corpus.page_size();
  for (size_t page = 0; page < pages; ++page) store.PrepareForPut(page, corpus.page(page));

  ThroughputResult result;
  const double put_start = Now(timing);
  for (size_t page = 0; page < pages; ++page) store.Put(page, corpus.page(page));
  result.put_seconds = Now(timing) - put_start;
  result.memory_bytes = StoreMemory(contestant, store, baseline);

  AlignedPages batch(kGetBatch * page_size);
  for (size_t first = 0; first < pages; first += kGetBatch) {
    const size_t count = std::min(kGetBatch, pages - first);
    bool hit[kGetBatch];
    const double start = Now(timing);
    for (size_t i = 0; i < count; ++i) hit[i] = store.Get(first + i, {batch.data + i * page_size, page_size});
    result.get_seconds += Now(timing) - start;
    for (size_t i = 0; i < count; ++i) {
      if (!hit[i]) {
        ++result.misses;
      } else if (std::memcmp(batch.data + i * page_size, corpus.page(first + i).data(), page_size) != 0) {
        ++result.mismatches;
      }
    }
  }
  return result;
}

namespace {

// Gets `page`, puts it on a miss; counts a hit and checks its bytes.
void Access(PageStore& store, const PageCorpus& corpus, uint32_t page, std::span<uint8_t> buffer, ZipfResult* counts) {
  if (store.Get(page, buffer)) {
    if (counts == nullptr) return;
    ++counts->hits;
    if (std::memcmp(buffer.data(), corpus.page(page).data(), buffer.size()) != 0) ++counts->mismatches;
  } else {
    store.Put(page, corpus.page(page));
  }
}

}  // namespace

Result<ZipfResult> MeasureZipf(const Contestant& contestant, const PageCorpus& corpus, const PageIds& ids,
                               const ZipfRun& run) {
  if (contestant.memory != MemoryBasis::kProcessMemory || !contestant.bounded)
    return Status::NotSupported(contestant.name + ": the Zipf run needs a bounded store measured by process memory");
  ZipfResult result;
  result.budget_bytes = run.budget_bytes;
  AlignedPages buffer(corpus.page_size());
  const std::span<uint8_t> page_buffer(buffer.data, corpus.page_size());

  // Calibrate on the run itself: run it, compare the memory held at the end
  // with the budget, scale the capacity, run again.
  double capacity = static_cast<double>(run.budget_bytes);
  for (int round = 0; round < run.calibration_rounds; ++round) {
    ZipfResult attempt;
    attempt.budget_bytes = run.budget_bytes;
    attempt.capacity_bytes = static_cast<uint64_t>(capacity);
    attempt.calibration_rounds = round + 1;
    const MemorySample baseline = SampleMemory();
    Result<std::unique_ptr<PageStore>> created = contestant.create(StoreSetup{&corpus, &ids, attempt.capacity_bytes});
    if (!created.ok()) return created.status();
    PageStore& store = *created.value();
    for (uint32_t page : *run.warmup) Access(store, corpus, page, page_buffer, nullptr);
    for (uint32_t page : *run.measured) Access(store, corpus, page, page_buffer, &attempt);
    attempt.accesses = run.measured->size();
    attempt.memory_bytes = StoreMemory(contestant, store, baseline);
    result = attempt;
    if (attempt.memory_bytes == 0) return Status::Unavailable(contestant.name + ": holds no measurable memory");
    const double ratio = static_cast<double>(attempt.memory_bytes) / static_cast<double>(run.budget_bytes);
    if (std::fabs(ratio - 1.0) <= run.tolerance) break;
    capacity /= ratio;
  }
  return result;
}

}  // namespace cleancache::compare
