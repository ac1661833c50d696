// ZCache: routes each page to a shard and does the per-page work that needs
// no lock (same-filled detection, compression) before taking it.
#include "cleancache/zcache.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "zcache/page_codec.h"
#include "zcache/same_filled.h"
#include "zcache/shard.h"

namespace cleancache {
namespace {

using zcache::IsSameFilled;
using zcache::PageCodec;
using zcache::PreparedPage;
using zcache::Shard;

// Pages of a file go to shards in stripes of this many, so a file costs one
// record per stripe while a large file still spreads over all shards.
constexpr unsigned kStripeShift = 6;
constexpr uint32_t kMinSegmentBytes = 64u << 10;
constexpr uint32_t kMinSegmentsPerShard = 4;

class ZCache final : public Backend {
 public:
  explicit ZCache(const ZCacheOptions& options) : options_(options), codec_(options.codec, options.level) {
    uint32_t shards = options.shards;
    if (shards == 0) shards = std::bit_ceil(std::max(1u, std::thread::hardware_concurrency()) * 4);
    shards = std::clamp(std::bit_floor(shards), 1u, 256u);
    uint32_t segment = options.segment_bytes;
    // Every shard must hold several segments, or eviction would empty it.
    while (shards > 1 && options.capacity / shards < uint64_t{kMinSegmentsPerShard} * segment) shards /= 2;
    while (segment > kMinSegmentBytes && options.capacity / shards < uint64_t{kMinSegmentsPerShard} * segment)
      segment /= 2;
    options_.shards = shards;
    options_.segment_bytes = segment;
    shard_mask_ = shards - 1;
    for (uint32_t i = 0; i < shards; ++i)
      shards_.push_back(std::make_unique<Shard>(
          zcache::ShardConfig{options.capacity / shards, segment, options.max_fragmentation_percent, &codec_}));
  }

  std::string Name() const override {
    return "zcache(" + std::string(CodecName(options_.codec)) + ", " + FormatSize(options_.capacity) + ")";
  }

  Result<BackendPoolId> OpenPool(const PoolConfig& config) override {
    if (Status s = CheckPageSize(config.page_size); !s.ok()) return s;
    std::lock_guard lock(pools_mutex_);
    if (config.shared) {
      for (auto& [id, pool] : pools_) {
        if (pool.config.shared && pool.config.uuid == config.uuid) {
          if (Status s = CheckSharedJoin(pool.config, config); !s.ok()) return s;
          ++pool.members;
          return id;
        }
      }
    }
    BackendPoolId id = next_pool_++;
    pools_[id] = PoolRecord{config, 1};
    for (auto& s : shards_) s->AddPool(id, config.page_size, KeepsOnGet(config));
    return id;
  }

  void ClosePool(BackendPoolId pool) override {
    {
      std::lock_guard lock(pools_mutex_);
      auto it = pools_.find(pool);
      if (it == pools_.end()) return;
      if (--it->second.members > 0) return;
      pools_.erase(it);
    }
    for (auto& s : shards_) s->RemovePool(pool);
  }

  bool GetPage(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<uint8_t> page) override {
    return ShardFor(pool, key, index).Get(pool, key, index, page.data(), static_cast<uint32_t>(page.size()));
  }

  void PutPage(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<const uint8_t> page) override {
    const uint32_t size = static_cast<uint32_t>(page.size());
    Shard& shard = ShardFor(pool, key, index);
    if (!IsValidPageSize(size)) return;
    uint64_t word;
    if (options_.same_filled && IsSameFilled(page.data(), size, &word)) {
      shard.Put(pool, key, index, PreparedPage{PreparedPage::Kind::kSameFilled, size, nullptr, 0, word});
      return;
    }
    if (options_.codec == Codec::kNone) {
      shard.Put(pool, key, index, PreparedPage{PreparedPage::Kind::kRaw, size, page.data(), size, 0});
      return;
    }
    // Compressing into a buffer of the codec's worst-case bound lets LZ4 take
    // its unchecked fast path (measured: ~10% faster than a capped output);
    // the threshold is applied afterwards.
    alignas(64) uint8_t compressed[zcache::PageCodec::kMaxCompressedBytes];
    const size_t limit = size_t{size} * options_.threshold_percent / 100;
    const size_t n = codec_.Compress(page.data(), size, compressed, sizeof compressed);
    if (n > 0 && n <= limit) {
      shard.Put(pool, key, index,
                PreparedPage{PreparedPage::Kind::kCompressed, size, compressed, static_cast<uint32_t>(n), 0});
    } else if (options_.store_incompressible) {
      stored_raw_.fetch_add(1, std::memory_order_relaxed);
      shard.Put(pool, key, index, PreparedPage{PreparedPage::Kind::kRaw, size, page.data(), size, 0});
    } else {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      shard.InvalidatePage(pool, key, index);  // put-put-get: a refused put drops the old copy too
    }
  }

  void InvalidatePage(BackendPoolId pool, const FileKey& key, uint64_t index) override {
    ShardFor(pool, key, index).InvalidatePage(pool, key, index);
  }

  void InvalidateInode(BackendPoolId pool, const FileKey& key) override {
    for (auto& s : shards_) s->InvalidateFile(pool, key);
  }

  BackendStats Stats() const override {
    BackendStats st;
    uint64_t used = 0, live = 0, compactions = 0, invalidate_steps = 0, segments_mapped = 0;
    for (auto& s : shards_) {
      auto c = s->Counters();
      st.pages_stored += c.pages;
      st.original_bytes += c.original_bytes;
      st.compressed_bytes += c.compressed_bytes;
      st.real_memory_bytes += c.real_bytes;
      st.evictions += c.evictions;
      st.same_filled_pages += c.same_filled;
      st.dropped_puts += c.dropped_puts;
      used += c.segment_used_bytes;
      live += c.segment_live_bytes;
      compactions += c.compactions;
      invalidate_steps += c.invalidate_steps;
      segments_mapped += c.segments_mapped;
    }
    st.capacity_bytes = options_.capacity;
    st.rejected_incompressible = rejected_.load(std::memory_order_relaxed);
    st.stored_raw = stored_raw_.load(std::memory_order_relaxed);
    st.extra["segment_bytes_used"] = used;
    st.extra["segment_bytes_live"] = live;
    st.extra["fragmentation_permille"] = used == 0 ? 0 : (used - live) * 1000 / used;
    st.extra["compactions"] = compactions;
    st.extra["invalidate_steps"] = invalidate_steps;
    st.extra["segments_mapped"] = segments_mapped;
    st.extra["shards"] = shards_.size();
    st.extra["segment_size"] = options_.segment_bytes;
    return st;
  }

  uint64_t Shrink(uint64_t target) override {
    // Each shard gives up the same share of its memory.
    uint64_t total = Stats().real_memory_bytes;
    if (total <= target) return total;
    uint64_t after = 0;
    for (auto& s : shards_) {
      uint64_t mine = s->Counters().real_bytes;
      after += s->Shrink(total == 0 ? 0 : static_cast<uint64_t>(static_cast<double>(mine) * target / total));
    }
    return after;
  }

  void SetCapacity(uint64_t capacity) override {
    options_.capacity = capacity;
    for (auto& s : shards_) s->SetCapacity(capacity / shards_.size());
  }

  void SetEvictionListener(EvictionListener* listener) override {
    for (auto& s : shards_) s->SetEvictionListener(listener);
  }

 private:
  struct PoolRecord {
    PoolConfig config;
    int members;
  };

  Shard& ShardFor(BackendPoolId pool, const FileKey& key, uint64_t index) {
    uint64_t h =
        zcache::Mix64(key.hash() ^ (pool * 0x9E3779B97F4A7C15ull) ^ ((index >> kStripeShift) * 0xC2B2AE3D27D4EB4Full));
    return *shards_[h & shard_mask_];
  }

  ZCacheOptions options_;
  PageCodec codec_;
  std::vector<std::unique_ptr<Shard>> shards_;
  uint64_t shard_mask_ = 0;
  std::mutex pools_mutex_;
  std::map<BackendPoolId, PoolRecord> pools_;
  BackendPoolId next_pool_ = 1;
  std::atomic<uint64_t> rejected_{0};
  std::atomic<uint64_t> stored_raw_{0};
};

}  // namespace

std::unique_ptr<Backend> NewZCache(const ZCacheOptions& options) { return std::make_unique<ZCache>(options); }

}  // namespace cleancache
