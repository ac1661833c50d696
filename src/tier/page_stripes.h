// PageStripes: striped locks that serialise every tier operation on one page
// across both tiers, plus a sequence number per stripe that moves whenever
// an operation starts or ends (odd = one is running). The eviction listener
// cannot take the lock (the local tier calls it under its own locks), so it
// reads the sequence instead, and the demotion worker, holding the lock,
// demotes only if the sequence has not moved since the eviction.
// Also a bitmap of pages that may have a remote copy (set before each
// demotion, never cleared) so puts skip the remote invalidation round trip
// for pages that were never demoted.
// Thread safety: Lock/Unlock/Sequence/bit calls may run concurrently.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "cleancache/file_key.h"

namespace cleancache::tier {

class PageStripes {
 public:
  static constexpr size_t kStripes = 4096;
  static constexpr size_t kRemoteBits = size_t{1} << 22;

  PageStripes() : remote_bits_(kRemoteBits / 64) {}

  static uint64_t PageHash(const FileKey& key, uint64_t index) {
    uint64_t h = key.hash() ^ (index * 0x9E3779B97F4A7C15ull);
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 32);
  }
  static size_t StripeOf(uint64_t page_hash) { return page_hash % kStripes; }

  // Lock, then mark an operation as running.
  void Begin(size_t stripe) {
    stripes_[stripe].mutex.lock();
    stripes_[stripe].sequence.fetch_add(1);
  }
  void End(size_t stripe) {
    stripes_[stripe].sequence.fetch_add(1);
    stripes_[stripe].mutex.unlock();
  }
  // Lock without moving the sequence (the demotion worker).
  std::mutex& Mutex(size_t stripe) { return stripes_[stripe].mutex; }
  uint64_t Sequence(size_t stripe) const { return stripes_[stripe].sequence.load(); }

  void MarkMaybeRemote(uint64_t page_hash) {
    size_t bit = (page_hash >> 12) % kRemoteBits;
    remote_bits_[bit / 64].fetch_or(uint64_t{1} << (bit % 64));
  }
  bool MaybeRemote(uint64_t page_hash) const {
    size_t bit = (page_hash >> 12) % kRemoteBits;
    return remote_bits_[bit / 64].load() & (uint64_t{1} << (bit % 64));
  }

 private:
  struct alignas(64) Stripe {
    std::mutex mutex;
    std::atomic<uint64_t> sequence{0};
  };
  std::array<Stripe, kStripes> stripes_;
  std::vector<std::atomic<uint64_t>> remote_bits_;
};

}  // namespace cleancache::tier
