// ReplyPoll: how long a tmem client polls for the daemon's reply before it
// sleeps.
//
// Polling saves the wake-up of a sleeping thread. On a VM whose idle vCPUs
// halt, a wake-up costs 15-45 us (a halted vCPU must be woken by the host),
// while a 32-page get is about 50 us of work in the daemon, so sleeping for
// the reply nearly doubles the time per batch. Polling only pays when the
// reply comes within the budget, though: a 1024-page get takes over a
// millisecond, and polling through the first `budget` of it burns CPU and
// still ends in a sleep. So the wait is predicted from earlier replies and a
// request whose predicted wait is beyond the budget does not poll at all.
//
// Model: wait = fixed + pages x per_page(kind), kind = get or put (a put
// compresses, a get decompresses). `fixed` is learnt from requests of at most
// one page, per_page from batches. Each is the smallest of its last
// kWindow observations, not an average: a wait that overran (the daemon was
// preempted, or we slept and paid the wake-up) must not stop the polling
// that would have caught the usual reply; a prediction that is too low only
// costs one poll of at most `budget`.
// Not thread-safe (one per connection, whose calls are serialised).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>

#include "tmem/protocol.h"

namespace cleancache::daemon {

class ReplyPoll {
 public:
  static constexpr size_t kWindow = 16;

  explicit ReplyPoll(std::chrono::microseconds budget) : budget_(budget) {}

  // How long to poll for the reply to a request of `op` moving `pages` pages:
  // the budget if the predicted wait fits in it, else zero.
  std::chrono::microseconds For(Opcode op, uint32_t pages) const;
  // Records how long the reply to such a request took, from before the send
  // to the reply in hand.
  void Observe(Opcode op, uint32_t pages, std::chrono::nanoseconds waited);

 private:
  // The smallest of the last kWindow values put in; zero while empty.
  class WindowMin {
   public:
    void Add(int64_t value);
    int64_t min() const { return min_; }

   private:
    std::array<int64_t, kWindow> values_{};
    size_t count_ = 0;
    size_t next_ = 0;
    int64_t min_ = 0;
  };
  enum Kind { kGet, kPut, kKinds };
  static int KindOf(Opcode op);

  const std::chrono::microseconds budget_;
  WindowMin fixed_ns_;
  std::array<WindowMin, kKinds> per_page_ns_;
};

}  // namespace cleancache::daemon
