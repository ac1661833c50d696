#include "pagecache/put_feeder.h"

#include <malloc.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>

namespace cleancache {
namespace {
constexpr size_t kBatch = 64;
// Polled this often while pages arrive; after kIdlePolls empty polls
// (100 ms) the thread sleeps until a reader wakes it.
constexpr std::chrono::milliseconds kPollInterval{2};
constexpr unsigned kIdlePolls = 50;
// Free buffers kept once the queue is empty (a batch's worth): more would be
// memory held for nothing between bursts.
constexpr size_t kSpareBuffers = kBatch;
}  // namespace

PutFeeder::PutFeeder(uint64_t max_pages, uint32_t page_size, PutFn put)
    : max_pages_(max_pages), page_size_(page_size), put_(std::move(put)) {
  thread_ = std::thread([this] { Run(); });
}

PutFeeder::~PutFeeder() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_.notify_all();
  thread_.join();
}

std::vector<std::unique_ptr<uint8_t[]>> PutFeeder::TakeBuffers(size_t n) {
  std::vector<std::unique_ptr<uint8_t[]>> taken;
  std::lock_guard lock(mu_);
  while (taken.size() < n && !free_.empty()) {
    taken.push_back(std::move(free_.back()));
    free_.pop_back();
  }
  // Buffers are allocated as needed up to the bound and then recycled.
  const uint64_t allocated = buffers_out_ + free_.size() + taken.size();
  const uint64_t fresh = std::min<uint64_t>(n - taken.size(), max_pages_ - std::min(max_pages_, allocated));
  for (uint64_t i = 0; i < fresh; ++i) taken.push_back(std::make_unique_for_overwrite<uint8_t[]>(page_size_));
  buffers_out_ += taken.size();
  return taken;
}

void PutFeeder::GiveBack(std::vector<std::unique_ptr<uint8_t[]>>& buffers) {
  std::lock_guard lock(mu_);
  for (auto& b : buffers) {
    if (!b) continue;
    free_.push_back(std::move(b));
    --buffers_out_;
  }
  buffers.clear();
}

// A reader wakes the thread only when it sleeps without a timeout (idle for
// a while); during a stream of reads the thread polls instead. Waking it for
// every read cost more than the put saved (cold random 4 KiB reads through
// FUSE: 0.75 of passthrough with a wake-up per read, 0.90 polling).
void PutFeeder::Push(std::vector<QueuedPut>& puts) {
  if (puts.empty()) return;
  bool wake;
  {
    std::lock_guard lock(mu_);
    for (auto& p : puts) queue_.push_back(std::move(p));
    wake = sleeping_;
  }
  puts.clear();
  if (wake) work_.notify_one();
}

void PutFeeder::Drain() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [this] { return stop_ || (queue_.empty() && busy_ == 0); });
}

uint64_t PutFeeder::queued_pages() const {
  std::lock_guard lock(mu_);
  return buffers_out_;
}

void PutFeeder::Run() {
  // Lowest priority: compress only on a CPU that would otherwise idle.
  sched_param param{};
  pthread_setschedparam(pthread_self(), SCHED_IDLE, &param);  // best effort
  pthread_setname_np(pthread_self(), "cc-put-feeder");
  std::vector<QueuedPut> batch;
  unsigned idle_polls = kIdlePolls;  // asleep until the first page
  bool freed_since_trim = false;
  std::unique_lock lock(mu_);
  for (;;) {
    auto ready = [this] { return stop_ || !queue_.empty(); };
    if (idle_polls >= kIdlePolls) {
      if (freed_since_trim) {
        // Buffers freed below went back to malloc's free lists; give the
        // pages to the kernel before a long sleep (they count in a budget).
        lock.unlock();
        malloc_trim(0);
        lock.lock();
        freed_since_trim = false;
        if (ready()) continue;
      }
      sleeping_ = true;
      work_.wait(lock, ready);
      sleeping_ = false;
    } else if (!work_.wait_for(lock, kPollInterval, ready)) {
      ++idle_polls;
      continue;
    }
    if (stop_) break;
    idle_polls = 0;
    const size_t n = std::min(kBatch, queue_.size());
    batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.begin() + n));
    queue_.erase(queue_.begin(), queue_.begin() + n);
    busy_ = n;
    lock.unlock();
    for (QueuedPut& p : batch) put_(p);
    lock.lock();
    for (QueuedPut& p : batch) free_.push_back(std::move(p.data));
    buffers_out_ -= n;
    // A burst (a sequential read) fills the queue; afterwards only a few
    // buffers are in use at a time, and the rest would be idle memory.
    if (queue_.empty() && free_.size() > kSpareBuffers) {
      free_.resize(kSpareBuffers);
      freed_since_trim = true;
    }
    batch.clear();
    busy_ = 0;
    if (queue_.empty()) idle_.notify_all();
  }
  // Dropped on stop: cleancache puts are optional.
  buffers_out_ -= queue_.size();
  queue_.clear();
  busy_ = 0;
  idle_.notify_all();
}

}  // namespace cleancache
