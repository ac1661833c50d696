#include "tmem/reply_poll.h"

#include <algorithm>

namespace cleancache::daemon {

void ReplyPoll::WindowMin::Add(int64_t value) {
  values_[next_] = value;
  next_ = (next_ + 1) % kWindow;
  count_ = std::min(count_ + 1, kWindow);
  min_ = *std::min_element(values_.begin(), values_.begin() + static_cast<std::ptrdiff_t>(count_));
}

int ReplyPoll::KindOf(Opcode op) {
  if (op == Opcode::kGetPages) return kGet;
  if (op == Opcode::kPutPages) return kPut;
  return -1;
}

std::chrono::microseconds ReplyPoll::For(Opcode op, uint32_t pages) const {
  if (budget_ <= std::chrono::microseconds::zero()) return std::chrono::microseconds::zero();
  const int kind = KindOf(op);
  int64_t predicted_ns = fixed_ns_.min();
  if (kind >= 0 && pages > 1) predicted_ns += int64_t{pages} * per_page_ns_[kind].min();
  if (predicted_ns > std::chrono::duration_cast<std::chrono::nanoseconds>(budget_).count()) {
    return std::chrono::microseconds::zero();
  }
  return budget_;
}

void ReplyPoll::Observe(Opcode op, uint32_t pages, std::chrono::nanoseconds waited) {
  const int kind = KindOf(op);
  if (kind < 0 || pages <= 1) {
    fixed_ns_.Add(waited.count());
    return;
  }
  const int64_t beyond_fixed = std::max<int64_t>(0, waited.count() - fixed_ns_.min());
  per_page_ns_[kind].Add(beyond_fixed / pages);
}

}  // namespace cleancache::daemon
