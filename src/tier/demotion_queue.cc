#include "tier/demotion_queue.h"

namespace cleancache::tier {

bool DemotionQueue::Push(Demotion&& demotion) {
  {
    std::lock_guard lock(mutex_);
    if (stopped_ || items_.size() >= capacity_) return false;
    items_.push_back(std::move(demotion));
  }
  ready_.notify_one();
  return true;
}

bool DemotionQueue::Pop(Demotion& demotion) {
  std::unique_lock lock(mutex_);
  ready_.wait(lock, [&] { return stopped_ || !items_.empty(); });
  if (stopped_) return false;
  demotion = std::move(items_.front());
  items_.pop_front();
  return true;
}

void DemotionQueue::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    items_.clear();
  }
  ready_.notify_all();
}

size_t DemotionQueue::size() const {
  std::lock_guard lock(mutex_);
  return items_.size();
}

}  // namespace cleancache::tier
