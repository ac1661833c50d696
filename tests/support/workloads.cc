#include "support/workloads.h"

#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "support/history_checker.h"
#include "support/page_pattern.h"

namespace cleancache::testing {
namespace {

constexpr size_t kMaxViolationsPerThread = 20;

class Deadline {
 public:
  explicit Deadline(std::chrono::milliseconds limit) : end_(std::chrono::steady_clock::now() + limit) {}
  bool Passed() const { return std::chrono::steady_clock::now() >= end_; }

 private:
  std::chrono::steady_clock::time_point end_;
};

void Merge(WorkloadReport& into, const WorkloadReport& part) {
  into.ops += part.ops;
  into.hits += part.hits;
  into.misses += part.misses;
  into.violations.insert(into.violations.end(), part.violations.begin(), part.violations.end());
}

}  // namespace

WorkloadReport RunOwnedKeysWorkload(Cleancache& cache, PoolId pool, uint32_t page_size, bool exclusive_gets,
                                    bool misses_allowed, const WorkloadOptions& options) {
  constexpr uint32_t kFiles = 8;
  constexpr uint32_t kIndexes = 8;
  const Deadline deadline(options.time_limit);
  std::vector<WorkloadReport> reports(options.threads);
  std::vector<std::thread> threads;
  for (int t = 0; t < options.threads; ++t) {
    threads.emplace_back([&, t] {
      WorkloadReport& report = reports[t];
      std::mt19937_64 rng(options.seed * 1000003 + t);
      std::vector<FileKey> keys;
      for (uint32_t f = 0; f < kFiles; ++f) keys.push_back(FileKey::FromInode(0xC0DE, t * 1000 + f));
      uint64_t model[kFiles][kIndexes] = {};  // 0 = must miss
      uint64_t next_version = 1;
      std::vector<uint8_t> page(page_size);
      auto violation = [&](std::string text) {
        if (report.violations.size() < kMaxViolationsPerThread) {
          report.violations.push_back("thread " + std::to_string(t) + ": " + std::move(text));
        }
      };
      for (int op = 0; op < options.max_ops_per_thread; ++op) {
        if (op % 64 == 0 && deadline.Passed()) break;
        const uint32_t f = rng() % kFiles;
        const uint32_t i = rng() % kIndexes;
        const uint32_t key_id = t * 1000 + f;
        const unsigned dice = rng() % 100;
        ++report.ops;
        if (dice < 40) {
          const uint64_t version = next_version++;
          FillPage(page, PageTag{key_id, i, version});
          cache.PutPage(pool, keys[f], i, page);
          model[f][i] = version;
        } else if (dice < 85) {
          const std::string where = "file " + std::to_string(f) + " page " + std::to_string(i) + ": ";
          if (cache.GetPage(pool, keys[f], i, page)) {
            ++report.hits;
            std::optional<PageTag> tag = ReadPage(page);
            if (!tag || tag->key_id != key_id || tag->index != i) {
              violation(where + "hit returned a corrupt or foreign page");
            } else if (model[f][i] == 0) {
              violation(where + "hit returned version " + std::to_string(tag->version) +
                        " although the page was invalidated, already taken or missed since its put");
            } else if (tag->version != model[f][i]) {
              violation(where + "stale hit: version " + std::to_string(tag->version) + ", last put was version " +
                        std::to_string(model[f][i]));
            }
            if (exclusive_gets) model[f][i] = 0;
          } else {
            ++report.misses;
            if (model[f][i] != 0 && !misses_allowed) {
              violation(where + "missed version " + std::to_string(model[f][i]) + " with no memory pressure");
            }
            model[f][i] = 0;  // get-get: it must keep missing until the next put
          }
        } else if (dice < 95) {
          cache.InvalidatePage(pool, keys[f], i);
          model[f][i] = 0;
        } else {
          cache.InvalidateInode(pool, keys[f]);
          for (uint64_t& version : model[f]) version = 0;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  WorkloadReport total;
  for (const auto& report : reports) Merge(total, report);
  return total;
}

WorkloadReport RunSharedKeysRace(Cleancache& cache, PoolId pool, uint32_t page_size, bool exclusive_gets,
                                 const WorkloadOptions& options) {
  constexpr uint32_t kFiles = 4;
  constexpr uint32_t kIndexes = 2;
  std::vector<FileKey> keys;
  for (uint32_t f = 0; f < kFiles; ++f) keys.push_back(FileKey::FromInode(0xACE, f));
  auto slot_of = [](uint32_t f, uint32_t i) { return f * kIndexes + i; };

  std::atomic<uint64_t> clock{1};
  auto tick = [&clock] { return clock.fetch_add(1, std::memory_order_seq_cst); };
  const Deadline deadline(options.time_limit);
  std::vector<std::vector<HistoryEvent>> histories(options.threads);
  std::vector<WorkloadReport> reports(options.threads);
  std::vector<std::thread> threads;
  for (int t = 0; t < options.threads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(options.seed * 7919 + t);
      std::vector<HistoryEvent>& history = histories[t];
      WorkloadReport& report = reports[t];
      uint64_t next_version = (uint64_t(t) + 1) << 32;  // unique across threads
      std::vector<uint8_t> page(page_size);
      for (int op = 0; op < options.max_ops_per_thread; ++op) {
        if (op % 64 == 0 && deadline.Passed()) break;
        const uint32_t f = rng() % kFiles;
        const uint32_t i = rng() % kIndexes;
        const unsigned dice = rng() % 100;
        ++report.ops;
        HistoryEvent e;
        e.slot = slot_of(f, i);
        if (dice < 35) {
          e.kind = HistoryEvent::Kind::kPut;
          e.version = ++next_version;
          FillPage(page, PageTag{f, i, e.version});
          e.start = tick();
          cache.PutPage(pool, keys[f], i, page);
          e.end = tick();
        } else if (dice < 80) {
          e.kind = HistoryEvent::Kind::kGet;
          e.start = tick();
          e.hit = cache.GetPage(pool, keys[f], i, page);
          e.end = tick();
          if (e.hit) {
            ++report.hits;
            std::optional<PageTag> tag = ReadPage(page);
            e.corrupt = !tag || tag->key_id != f || tag->index != i;
            e.version = tag ? tag->version : 0;
          } else {
            ++report.misses;
          }
        } else if (dice < 93) {
          e.kind = HistoryEvent::Kind::kInvalidate;
          e.start = tick();
          cache.InvalidatePage(pool, keys[f], i);
          e.end = tick();
        } else {
          e.kind = HistoryEvent::Kind::kInvalidate;
          e.start = tick();
          cache.InvalidateInode(pool, keys[f]);
          e.end = tick();
          for (uint32_t j = 0; j < kIndexes; ++j) {  // covers every page of the file
            e.slot = slot_of(f, j);
            history.push_back(e);
          }
          continue;
        }
        history.push_back(e);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  WorkloadReport total;
  std::vector<HistoryEvent> all;
  for (int t = 0; t < options.threads; ++t) {
    Merge(total, reports[t]);
    all.insert(all.end(), histories[t].begin(), histories[t].end());
  }
  total.violations = CheckHistory(all, exclusive_gets);
  return total;
}

}  // namespace cleancache::testing
