// DemotionQueue: pages evicted from the local tier, waiting to be written to
// the remote tier by the tier's worker. Bounded: Push refuses when full (the
// page is simply lost, as any cached page may be). Each item carries the
// sequence numbers seen at eviction time, so the worker can tell whether
// anything touched the page since.
// Thread safety: Push and Pop may run concurrently from any threads.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "cleancache/backend.h"
#include "cleancache/file_key.h"

namespace cleancache::tier {

struct Demotion {
  BackendPoolId remote_pool = 0;
  FileKey key;
  uint64_t index = 0;
  uint64_t stripe_sequence = 0;
  uint64_t bulk_sequence = 0;
  std::vector<uint8_t> page;
};

class DemotionQueue {
 public:
  explicit DemotionQueue(size_t capacity) : capacity_(capacity) {}

  // False when full or stopped.
  bool Push(Demotion&& demotion);
  // Blocks until an item is available (true) or the queue is stopped (false).
  bool Pop(Demotion& demotion);
  void Stop();
  size_t size() const;

 private:
  const size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Demotion> items_;
  bool stopped_ = false;
};

}  // namespace cleancache::tier
