// SHARDS over an exact LRU stack of the sampled pages (see the header).
#include "cleancache/miss_ratio_curve.h"

// XXH3 compiled into this file: the page hash is on every access's path, and
// an inlined XXH3 of 8 bytes avoids a call into the shared library.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <mutex>
#include <unordered_map>

namespace cleancache {
namespace {

// Log-linear buckets: exact below 2 x kSub, then kSub buckets per power of
// two, so a bucket is at most 1/64 = 1.6% of its values wide.
constexpr uint64_t kSub = 64;
constexpr unsigned kSubBits = 6;

size_t BucketOf(uint64_t value) {
  if (value < 2 * kSub) return static_cast<size_t>(value);
  const unsigned shift = static_cast<unsigned>(std::bit_width(value)) - (kSubBits + 1);
  return static_cast<size_t>((shift + 1) * kSub + ((value >> shift) - kSub));
}

// [lower, upper) of the values in bucket `i`.
std::pair<uint64_t, uint64_t> BucketRange(size_t i) {
  if (i < 2 * kSub) return {i, i + 1};
  const unsigned shift = static_cast<unsigned>(i / kSub - 1);
  const uint64_t mantissa = i % kSub + kSub;
  return {mantissa << shift, (mantissa + 1) << shift};
}

uint64_t ThresholdForRate(double rate) {
  if (rate >= 1.0) return std::numeric_limits<uint64_t>::max();
  return static_cast<uint64_t>(std::ldexp(std::max(rate, 1e-9), 64));
}

double RateOf(uint64_t threshold) { return std::ldexp(static_cast<double>(threshold) + 1.0, -64); }

// Bytes the allocator hands out for a request: 16-byte chunks, 8-byte header.
uint64_t Chunk(uint64_t request) { return (request + 8 + 15) / 16 * 16; }

// Fenwick tree over logical times 1..size() holding (pages, bytes) per time,
// the two sums side by side so a step touches one 16-byte slot. Its logical
// size is set at each rebuild, within the slots allocated up front.
class TimeTree {
 public:
  explicit TimeTree(size_t capacity) : slots_(capacity + 1), size_(std::min<size_t>(capacity, kMinSize)) {}
  size_t size() const { return size_; }
  void Add(size_t t, int64_t count, int64_t bytes) {
    for (; t <= size_; t += t & (~t + 1)) {
      slots_[t].count += count;
      slots_[t].bytes += bytes;
    }
  }
  // Sums over times 1..t: (pages, bytes).
  std::pair<int64_t, int64_t> Prefix(size_t t) const {
    int64_t c = 0, b = 0;
    for (; t > 0; t -= t & (~t + 1)) {
      c += slots_[t].count;
      b += slots_[t].bytes;
    }
    return {c, b};
  }
  // A tree of logical size min(capacity, 2 x k + kMinSize) holding one page
  // per time 1..k of the given sizes, in O(size).
  void Rebuild(const std::vector<int64_t>& bytes_by_time) {
    const size_t k = bytes_by_time.size() - 1;
    size_ = std::min(slots_.size() - 1, 2 * k + kMinSize);
    std::fill(slots_.begin(), slots_.begin() + static_cast<ptrdiff_t>(size_ + 1), Slot{});
    for (size_t t = 1; t <= k; ++t) slots_[t] = {1, bytes_by_time[t]};
    for (size_t t = 1; t <= size_; ++t) {
      const size_t parent = t + (t & (~t + 1));
      if (parent <= size_) {
        slots_[parent].count += slots_[t].count;
        slots_[parent].bytes += slots_[t].bytes;
      }
    }
  }
  uint64_t MemoryBytes() const { return slots_.capacity() * sizeof(Slot); }

 private:
  // Times handed out between renumberings beyond the live pages' count.
  static constexpr size_t kMinSize = 1024;
  struct Slot {
    int64_t count = 0;
    int64_t bytes = 0;
  };
  std::vector<Slot> slots_;
  size_t size_;
};

void AddToHistogram(std::vector<double>& histogram, uint64_t distance, double weight) {
  const size_t bucket = BucketOf(distance);
  if (bucket >= histogram.size()) histogram.resize(bucket + 1, 0.0);
  histogram[bucket] += weight;
}

std::vector<MissRatioPoint> GeometricPoints(uint64_t smallest, uint64_t largest, int points,
                                            double (MissRatioCurve::Snapshot::*at)(uint64_t) const,
                                            const MissRatioCurve::Snapshot& snapshot) {
  std::vector<MissRatioPoint> out;
  if (points < 1 || smallest == 0 || largest < smallest) return out;
  const double step = points == 1 ? 1.0 : std::pow(static_cast<double>(largest) / smallest, 1.0 / (points - 1));
  double size = static_cast<double>(smallest);
  for (int i = 0; i < points; ++i, size *= step) {
    const uint64_t s = i == points - 1 ? largest : static_cast<uint64_t>(std::llround(size));
    out.push_back({s, (snapshot.*at)(s)});
  }
  return out;
}

}  // namespace

MissRatioCurveOptions MissRatioCurveOptions::ForCapacity(uint64_t capacity_bytes, double memory_share) {
  MissRatioCurveOptions options;
  const double budget = static_cast<double>(capacity_bytes) * memory_share - kHistogramReserveBytes;
  options.max_samples = budget <= 16.0 * kBytesPerSample ? 16 : static_cast<uint64_t>(budget / kBytesPerSample);
  // The rate at which max_samples covers 8 x the capacity in 4 KiB pages
  // (0.04 at 1%): the set fills only for footprints past that.
  const double covered_pages = 8.0 * static_cast<double>(capacity_bytes) / 4096;
  options.initial_rate = std::min(1.0, static_cast<double>(options.max_samples) / covered_pages);
  return options;
}

uint64_t MissRatioCurve::PageHash(uint64_t file_hash, uint64_t index) {
  return XXH3_64bits_withSeed(&index, sizeof index, file_hash);
}

uint64_t MissRatioCurve::PageHash(uint64_t pool, const FileKey& key, uint64_t index) {
  return PageHash(key.hash() ^ (pool * 0x9E3779B97F4A7C15ull), index);
}

struct MissRatioCurve::State {
  struct Entry {
    uint32_t time;   // logical time of the last access, 1..tree.size()
    uint32_t bytes;  // size at that access, overhead included
  };
  explicit State(const MissRatioCurveOptions& o)
      : options(o), max_samples(std::max<uint64_t>(o.max_samples, 16)), tree(2 * max_samples) {
    // The table grows with the pages tracked (its buckets stay near them in
    // cache); the heap's capacity is fixed, its fill triggers a rebuild.
    heap.reserve(max_samples + 16);
  }

  // Renumbers the live pages 1..s in time order when the clock reaches the
  // tree's logical size, min(2 x max_samples, 2 x s + 1024) as of the last
  // renumbering: O(s log s) once per >= s sampled accesses, and the tree's
  // live part stays ~2 x s slots (5,000 pages tracked: 160 KiB, in L2)
  // however large max_samples.
  bool DueForCompaction() const { return now >= tree.size(); }
  void Compact() {
    std::vector<std::pair<uint32_t, uint64_t>> by_time;  // (time, hash)
    by_time.reserve(table.size());
    for (const auto& [hash, entry] : table) by_time.emplace_back(entry.time, hash);
    std::sort(by_time.begin(), by_time.end());
    std::vector<int64_t> bytes_by_time(by_time.size() + 1, 0);
    for (size_t i = 0; i < by_time.size(); ++i) {
      Entry& entry = table[by_time[i].second];
      entry.time = static_cast<uint32_t>(i + 1);
      bytes_by_time[i + 1] = entry.bytes;
    }
    tree.Rebuild(bytes_by_time);
    now = static_cast<uint32_t>(by_time.size());
  }

  void Remove(std::unordered_map<uint64_t, Entry>::iterator it) {
    tree.Add(it->second.time, -1, -static_cast<int64_t>(it->second.bytes));
    live_bytes -= it->second.bytes;
    table.erase(it);
  }

  // Drops the tracked page with the largest hash; returns the new threshold.
  // The heap holds every tracked hash (stale ones are skipped), so one is found.
  uint64_t EvictLargest() {
    for (;;) {
      std::pop_heap(heap.begin(), heap.end());
      const uint64_t largest = heap.back();
      heap.pop_back();
      auto it = table.find(largest);
      if (it == table.end()) continue;  // stale
      Remove(it);
      return largest - 1;
    }
  }

  void PushHash(uint64_t hash) {
    if (heap.size() >= heap.capacity()) {  // full of stale hashes (invalidated pages): drop them
      heap.clear();
      for (const auto& kv : table) heap.push_back(kv.first);  // <= max_samples: room is left
      std::make_heap(heap.begin(), heap.end());
    }
    heap.push_back(hash);
    std::push_heap(heap.begin(), heap.end());
  }

  const MissRatioCurveOptions options;
  const uint64_t max_samples;
  mutable std::mutex mutex;
  std::unordered_map<uint64_t, Entry> table;  // tracked page hash -> last access
  std::vector<uint64_t> heap;                 // max-heap of tracked hashes (may hold stale ones)
  TimeTree tree;
  uint32_t now = 0;
  int64_t live_bytes = 0;
  uint64_t threshold = 0;  // mirror of threshold_, changed under the mutex
  Snapshot counts;         // histograms and totals
};

MissRatioCurve::MissRatioCurve(const MissRatioCurveOptions& options)
    : threshold_(ThresholdForRate(options.initial_rate)), state_(std::make_unique<State>(options)) {
  state_->threshold = threshold_.load();
  state_->counts.rate_ = RateOf(state_->threshold);
}

MissRatioCurve::~MissRatioCurve() = default;

void MissRatioCurve::Sampled(uint64_t page_hash, uint32_t bytes, bool counted) {
  State& s = *state_;
  std::lock_guard lock(s.mutex);
  if (page_hash > s.threshold) return;  // the threshold fell since the caller looked
  if (s.DueForCompaction()) s.Compact();
  const uint32_t size = bytes + s.options.page_overhead_bytes;
  const double rate = RateOf(s.threshold);
  const double weight = 1.0 / rate;
  if (counted) {
    s.counts.weight_ += weight;
    ++s.counts.sampled_accesses_;
  }
  auto [it, inserted] = s.table.try_emplace(page_hash, State::Entry{0, 0});
  State::Entry& entry = it->second;
  if (!inserted) {
    if (counted) {
      const auto [pages_before, bytes_before] = s.tree.Prefix(entry.time - 1);
      const auto pages = static_cast<double>(static_cast<int64_t>(s.table.size()) - pages_before);
      const auto stack_bytes = static_cast<double>(s.live_bytes - bytes_before);
      AddToHistogram(s.counts.by_pages_, static_cast<uint64_t>(std::ceil(pages / rate)), weight);
      AddToHistogram(s.counts.by_bytes_, static_cast<uint64_t>(std::ceil(stack_bytes / rate)), weight);
    }
    s.tree.Add(entry.time, -1, -static_cast<int64_t>(entry.bytes));
    s.live_bytes -= entry.bytes;
  } else {
    s.PushHash(page_hash);
  }
  entry = {++s.now, size};  // the top of the stack
  s.tree.Add(entry.time, 1, size);
  s.live_bytes += size;
  if (s.table.size() > s.max_samples) {
    s.threshold = s.EvictLargest();
    threshold_.store(s.threshold, std::memory_order_relaxed);
    s.counts.rate_ = RateOf(s.threshold);
  }
}

void MissRatioCurve::Invalidate(uint64_t page_hash) {
  if (page_hash > threshold_.load(std::memory_order_relaxed)) return;
  State& s = *state_;
  std::lock_guard lock(s.mutex);
  auto it = s.table.find(page_hash);
  if (it != s.table.end()) s.Remove(it);
}

MissRatioCurve::Snapshot MissRatioCurve::Curve() const {
  std::lock_guard lock(state_->mutex);
  Snapshot out = state_->counts;
  out.samples_ = state_->table.size();
  return out;
}

double MissRatioCurve::sampling_rate() const { return RateOf(threshold_.load(std::memory_order_relaxed)); }

uint64_t MissRatioCurve::max_samples() const { return state_->max_samples; }

uint64_t MissRatioCurve::MemoryBytes() const {
  const State& s = *state_;
  std::lock_guard lock(s.mutex);
  using Node = std::pair<const uint64_t, State::Entry>;
  return s.table.size() * Chunk(sizeof(void*) + sizeof(Node)) + s.table.bucket_count() * sizeof(void*) +
         s.heap.capacity() * sizeof(uint64_t) + s.tree.MemoryBytes() +
         (s.counts.by_pages_.capacity() + s.counts.by_bytes_.capacity()) * sizeof(double) + sizeof(State);
}

MissRatioCurve::Snapshot MissRatioCurve::Snapshot::Adjusted(uint64_t accesses) const {
  Snapshot out = *this;
  out.adjustment_ = weight_ > 0 ? static_cast<double>(accesses) - weight_ : 0;
  return out;
}

double MissRatioCurve::Snapshot::HitRatio(const std::vector<double>& histogram, uint64_t size) const {
  const double total = weight_ + adjustment_;
  if (weight_ <= 0 || total <= 0) return 0;
  double hits = size >= 1 ? adjustment_ : 0;
  for (size_t i = 0; i < histogram.size(); ++i) {
    const auto [lower, upper] = BucketRange(i);
    if (lower > size) break;
    if (upper - 1 <= size) {
      hits += histogram[i];
    } else {  // the bucket straddles `size`: distances spread evenly over it
      hits += histogram[i] * static_cast<double>(size - lower + 1) / static_cast<double>(upper - lower);
    }
  }
  return std::clamp(hits / total, 0.0, 1.0);
}

std::vector<MissRatioPoint> MissRatioCurve::Snapshot::PagesCurve(uint64_t smallest, uint64_t largest,
                                                                 int points) const {
  return GeometricPoints(smallest, largest, points, &Snapshot::HitRatioAtPages, *this);
}

std::vector<MissRatioPoint> MissRatioCurve::Snapshot::BytesCurve(uint64_t smallest, uint64_t largest,
                                                                 int points) const {
  return GeometricPoints(smallest, largest, points, &Snapshot::HitRatioAtBytes, *this);
}

}  // namespace cleancache
