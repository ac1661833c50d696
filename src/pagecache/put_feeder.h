// PutFeeder: pages waiting to be put into cleancache, and the one background
// thread that puts them when a CPU has nothing better to do.
//
// Why: with the kernel as the primary (PageCache capacity 0), every page read
// is put at once, and a put is a compression (~6 us per 4 KiB page with LZ4):
// done on the reading thread it competes with the readers for the CPUs
// (measured through FUSE on 2 vCPUs: random 4 KiB reads 0.80-0.86 of a
// passthrough mount, 0.95-0.98 with codec=none). The pages are still in the
// kernel's page cache, so nothing is lost by putting them a little later, and
// cleancache puts may be dropped (they are ephemeral), so when the thread
// falls behind the queue bound is kept by dropping new pages (ZFS's L2ARC
// feed works the same way).
//
// The feeder owns page buffers and the queue; what a put means (the ticket
// check against invalidations) is the owner's callback. The thread runs
// SCHED_IDLE: any other runnable thread preempts it.
// Thread safety: every method may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cleancache/file_key.h"

namespace cleancache {

class PageCacheShard;

struct QueuedPut {
  PageCacheShard* shard = nullptr;
  FileKey key;
  uint64_t index = 0;
  uint64_t ticket = 0;
  std::unique_ptr<uint8_t[]> data;  // page_size bytes
};

class PutFeeder {
 public:
  using PutFn = std::function<void(QueuedPut&)>;

  // At most `max_pages` pages wait at once.
  PutFeeder(uint64_t max_pages, uint32_t page_size, PutFn put);
  ~PutFeeder();  // stops the thread; pages still queued are dropped
  PutFeeder(const PutFeeder&) = delete;
  PutFeeder& operator=(const PutFeeder&) = delete;

  // Up to `n` free page buffers (fewer, or none, when the queue is full).
  std::vector<std::unique_ptr<uint8_t[]>> TakeBuffers(size_t n);
  // Returns buffers that were taken but not queued.
  void GiveBack(std::vector<std::unique_ptr<uint8_t[]>>& buffers);
  void Push(std::vector<QueuedPut>& puts);
  // Waits until every page queued before the call has been put (or dropped).
  void Drain();
  // Pages whose put is pending: buffers taken and not given back, whether a
  // reader is about to queue them, they wait in the queue or are being put.
  uint64_t queued_pages() const;

 private:
  void Run();

  const uint64_t max_pages_;
  const uint32_t page_size_;
  const PutFn put_;
  mutable std::mutex mu_;
  std::condition_variable work_;
  std::condition_variable idle_;
  std::deque<QueuedPut> queue_;
  std::vector<std::unique_ptr<uint8_t[]>> free_;
  uint64_t buffers_out_ = 0;  // allocated buffers not in free_ (taken, queued or being put)
  uint64_t busy_ = 0;         // pages the thread is putting now
  bool stop_ = false;
  bool sleeping_ = true;  // the thread waits without a timeout: Push must wake it
  std::thread thread_;
};

}  // namespace cleancache
