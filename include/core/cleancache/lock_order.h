// The lock order across layers (docs/ARCHITECTURE.md, "Lock order"), checked
// in debug builds (no NDEBUG: the ASan and TSan builds of scripts/test):
//   1 PageCache shard      (src/pagecache; several only in shard order)
//   2 backend shard        (zcache's Shard; a tier's local backend runs here)
//   3 eviction listener    (EvictionListener::OnEvict, e.g. the tier's)
// A thread holding a lock of one level may take locks of its own or a higher
// level only: an OnEvict that called back into the backend, or a backend that
// called into a PageCache, fails an assertion at once instead of deadlocking
// some day. OrderedMutex<level> is a std::mutex that does the bookkeeping
// (a thread-local count per level); LockLevelScope marks code that runs at a
// level without a mutex of its own (the listener). In release builds both are
// a plain std::mutex and nothing.
#pragma once

#include <array>
#include <cassert>
#include <cstdint>
#include <mutex>

namespace cleancache {

enum class LockLevel : uint8_t { kPageCacheShard = 1, kBackendShard = 2, kEvictionListener = 3 };

namespace lock_order {
#ifndef NDEBUG
inline constexpr size_t kLevels = 4;
inline thread_local std::array<uint32_t, kLevels> held{};
inline void Enter(LockLevel level) {
  for (size_t above = static_cast<size_t>(level) + 1; above < kLevels; ++above) {
    assert(held[above] == 0 && "lock order violated: see docs/ARCHITECTURE.md, Lock order");
  }
  ++held[static_cast<size_t>(level)];
}
inline void Leave(LockLevel level) { --held[static_cast<size_t>(level)]; }
#else
inline void Enter(LockLevel) {}
inline void Leave(LockLevel) {}
#endif
}  // namespace lock_order

template <LockLevel kLevel>
class OrderedMutex {
 public:
  void lock() {
    lock_order::Enter(kLevel);
    mutex_.lock();
  }
  bool try_lock() {
    if (!mutex_.try_lock()) return false;
    lock_order::Enter(kLevel);
    return true;
  }
  void unlock() {
    mutex_.unlock();
    lock_order::Leave(kLevel);
  }

 private:
  std::mutex mutex_;
};

class LockLevelScope {
 public:
  explicit LockLevelScope(LockLevel level) : level_(level) { lock_order::Enter(level_); }
  ~LockLevelScope() { lock_order::Leave(level_); }
  LockLevelScope(const LockLevelScope&) = delete;
  LockLevelScope& operator=(const LockLevelScope&) = delete;

 private:
  const LockLevel level_;
};

}  // namespace cleancache
