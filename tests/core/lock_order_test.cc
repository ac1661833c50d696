// The debug-build lock-order check (cleancache/lock_order.h).
#include <gtest/gtest.h>

#include <mutex>

#include "cleancache/lock_order.h"

namespace cleancache {
namespace {

TEST(LockOrder, DownTheOrderIsFine) {
  OrderedMutex<LockLevel::kPageCacheShard> page_cache_a, page_cache_b;
  OrderedMutex<LockLevel::kBackendShard> backend;
  std::lock_guard a(page_cache_a);
  std::lock_guard b(page_cache_b);  // several of one level, in order
  std::lock_guard c(backend);
  const LockLevelScope listener(LockLevel::kEvictionListener);
}

TEST(LockOrder, UpTheOrderFailsInDebugBuilds) {
#ifdef NDEBUG
  GTEST_SKIP() << "release build: the check compiles to nothing";
#else
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        OrderedMutex<LockLevel::kBackendShard> backend;
        const LockLevelScope listener(LockLevel::kEvictionListener);
        std::lock_guard lock(backend);  // an OnEvict calling back into the backend
      },
      "lock order violated");
#endif
}

}  // namespace
}  // namespace cleancache
