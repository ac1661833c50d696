// The C API, called from C++ (and, through c_api_smoke.c, from C).
#include "cleancache/cleancache.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "cleancache/file_key.h"

extern "C" int cc_smoke_test_from_c(const char* spec);

namespace {

struct CacheHandle {
  cc_cache* cache = cc_create();
  ~CacheHandle() { cc_destroy(cache); }
};

std::string LastError(const cc_cache* cache) { return cc_last_error(cache); }

TEST(CApi, VersionOfTheLibraryMatchesTheHeaders) {
  EXPECT_STREQ(cc_version(), CLEANCACHE_VERSION_STRING);
  const std::string expected = std::to_string(CLEANCACHE_VERSION_MAJOR) + "." +
                               std::to_string(CLEANCACHE_VERSION_MINOR) + "." + std::to_string(CLEANCACHE_VERSION_PATCH);
  EXPECT_EQ(expected, cc_version());
  EXPECT_EQ(CLEANCACHE_VERSION_NUMBER,
            CLEANCACHE_VERSION_MAJOR * 10000 + CLEANCACHE_VERSION_MINOR * 100 + CLEANCACHE_VERSION_PATCH);
}

TEST(CApi, SmokeFromCWithoutBackend) { EXPECT_EQ(cc_smoke_test_from_c(nullptr), 0) << "failed at c_api_smoke.c line"; }

TEST(CApi, RegisterBackendReportsSpecErrors) {
  CacheHandle h;
  ASSERT_NE(h.cache, nullptr);
  EXPECT_EQ(cc_register_backend(h.cache, "bogus:x"), CC_EINVAL);
  EXPECT_NE(LastError(h.cache).find("unknown scheme 'bogus'"), std::string::npos) << LastError(h.cache);
  EXPECT_EQ(cc_register_backend(h.cache, "zcache:capacity"), CC_EINVAL);
  EXPECT_NE(LastError(h.cache).find("'capacity' has no value"), std::string::npos) << LastError(h.cache);
  EXPECT_EQ(cc_register_backend(h.cache, nullptr), CC_EINVAL);
  EXPECT_EQ(cc_register_backend(nullptr, "zcache"), CC_EINVAL);
  EXPECT_STREQ(cc_last_error(nullptr), "null cc_cache handle");
}

TEST(CApi, PoolErrorsAndPlaceholderBehaviour) {
  CacheHandle h;
  EXPECT_EQ(cc_init_fs(h.cache, 3000), CC_EINVAL);
  EXPECT_NE(LastError(h.cache).find("page size 3000"), std::string::npos) << LastError(h.cache);
  EXPECT_EQ(cc_init_shared_fs(h.cache, nullptr, 4096), CC_EINVAL);
  const uint8_t uuid[16] = {1, 2, 3};
  const int32_t shared_a = cc_init_shared_fs(h.cache, uuid, 4096);
  const int32_t shared_b = cc_init_shared_fs(h.cache, uuid, 4096);
  EXPECT_GE(shared_a, 0);
  EXPECT_GT(shared_b, shared_a);
  const int32_t pool = cc_init_fs(h.cache, 8192);
  ASSERT_GE(pool, 0);

  cc_file_key key;
  cc_key_from_inode(&key, 1, 1);
  std::vector<uint8_t> page(8192, 1);
  EXPECT_EQ(cc_put_page(h.cache, pool, &key, 0, page.data(), page.size()), CC_OK);  // dropped: no backend
  EXPECT_EQ(cc_get_page(h.cache, pool, &key, 0, page.data(), page.size()), CC_MISS);
  EXPECT_EQ(cc_get_page(h.cache, pool, &key, 0, page.data(), 4096), CC_EINVAL);
  EXPECT_EQ(cc_put_page(h.cache, pool, &key, 0, page.data(), 4096), CC_EINVAL);
  EXPECT_EQ(cc_get_page(h.cache, 999, &key, 0, page.data(), page.size()), CC_ENOENT);
  EXPECT_EQ(cc_put_page(h.cache, -3, &key, 0, page.data(), page.size()), CC_ENOENT);
  EXPECT_EQ(cc_invalidate_page(h.cache, 999, &key, 0), CC_ENOENT);
  EXPECT_EQ(cc_invalidate_inode(h.cache, 999, &key), CC_ENOENT);
  EXPECT_EQ(cc_invalidate_fs(h.cache, 999), CC_ENOENT);
  EXPECT_NE(LastError(h.cache).find("999"), std::string::npos);
  EXPECT_EQ(cc_get_page(h.cache, pool, nullptr, 0, page.data(), page.size()), CC_EINVAL);
  EXPECT_EQ(cc_get_page(h.cache, pool, &key, 0, nullptr, page.size()), CC_EINVAL);
  EXPECT_EQ(cc_put_page(nullptr, pool, &key, 0, page.data(), page.size()), CC_EINVAL);
  cc_file_key too_long = key;
  too_long.size = CC_MAX_KEY_BYTES + 1;
  EXPECT_EQ(cc_get_page(h.cache, pool, &too_long, 0, page.data(), page.size()), CC_EINVAL);
  EXPECT_EQ(cc_invalidate_inode(h.cache, pool, &too_long), CC_EINVAL);

  cc_counters counters{};
  ASSERT_EQ(cc_pool_counters(h.cache, pool, &counters), CC_OK);
  EXPECT_EQ(counters.failed_gets, 2u);  // the miss and the wrong-size get
  EXPECT_EQ(counters.puts, 0u);
  EXPECT_EQ(cc_pool_counters(h.cache, 999, &counters), CC_ENOENT);
  EXPECT_EQ(cc_pool_counters(h.cache, pool, nullptr), CC_EINVAL);
  cc_backend_stats stats;
  std::memset(&stats, 0xFF, sizeof stats);
  cc_backend_stats_get(h.cache, &stats);
  EXPECT_EQ(stats.pages_stored, 0u);
  EXPECT_EQ(stats.capacity_bytes, 0u);

  EXPECT_EQ(cc_invalidate_fs(h.cache, pool), CC_OK);
  EXPECT_EQ(cc_pool_counters(h.cache, pool, &counters), CC_ENOENT);
  cc_total_counters(h.cache, &counters);
  EXPECT_EQ(counters.failed_gets, 2u);  // ended pools stay in the total
}

TEST(CApi, KeysMatchTheCppKeys) {
  cc_file_key key;
  cc_key_from_inode(&key, 5, 6);
  const cleancache::FileKey cpp = cleancache::FileKey::FromInode(5, 6);
  EXPECT_EQ(key.type, cpp.type());
  ASSERT_EQ(key.size, cpp.size());
  EXPECT_EQ(std::memcmp(key.data, cpp.bytes().data(), key.size), 0);

  char path[] = "/tmp/cc_c_api_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  cc_file_key from_fd;
  EXPECT_EQ(cc_key_from_fd(&from_fd, fd), CC_OK);
  auto expected = cleancache::FileKey::ForDescriptor(fd);
  close(fd);
  unlink(path);
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(from_fd.type, expected->type());
  ASSERT_EQ(from_fd.size, expected->size());
  EXPECT_EQ(std::memcmp(from_fd.data, expected->bytes().data(), from_fd.size), 0);
  EXPECT_LT(cc_key_from_fd(&from_fd, -1), 0);
  EXPECT_EQ(cc_key_from_fd(nullptr, 0), CC_EINVAL);
}

#ifdef CLEANCACHE_HAVE_ZCACHE
TEST(CApi, SmokeFromCWithZcache) { EXPECT_EQ(cc_smoke_test_from_c("zcache:capacity=16M"), 0); }

TEST(CApi, ZcacheRoundTripAndSecondRegistrationBusy) {
  CacheHandle h;
  const int32_t early = cc_init_fs(h.cache, 4096);  // placeholder, bound at registration
  ASSERT_EQ(cc_register_backend(h.cache, "zcache:capacity=16M"), CC_OK) << LastError(h.cache);
  EXPECT_EQ(cc_register_backend(h.cache, "zcache"), CC_EBUSY);
  EXPECT_NE(LastError(h.cache).find("already registered"), std::string::npos) << LastError(h.cache);
  cc_file_key key;
  cc_key_from_inode(&key, 9, 9);
  std::vector<uint8_t> page(4096), got(4096);
  for (size_t i = 0; i < page.size(); ++i) page[i] = static_cast<uint8_t>(i * 7 + i / 100);
  ASSERT_EQ(cc_put_page(h.cache, early, &key, 1, page.data(), page.size()), CC_OK);
  ASSERT_EQ(cc_get_page(h.cache, early, &key, 1, got.data(), got.size()), CC_OK);
  EXPECT_EQ(got, page);
  EXPECT_EQ(cc_get_page(h.cache, early, &key, 1, got.data(), got.size()), CC_MISS);  // exclusive

  const uint8_t uuid[16] = {7};
  const int32_t a = cc_init_shared_fs(h.cache, uuid, 4096), b = cc_init_shared_fs(h.cache, uuid, 4096);
  ASSERT_EQ(cc_put_page(h.cache, a, &key, 2, page.data(), page.size()), CC_OK);
  EXPECT_EQ(cc_get_page(h.cache, b, &key, 2, got.data(), got.size()), CC_OK);
  EXPECT_EQ(cc_get_page(h.cache, b, &key, 2, got.data(), got.size()), CC_OK);  // shared: not consumed
  cc_backend_stats stats;
  cc_backend_stats_get(h.cache, &stats);
  EXPECT_EQ(stats.pages_stored, 1u);
  EXPECT_EQ(stats.capacity_bytes, 16u << 20);
  EXPECT_EQ(cc_invalidate_inode(h.cache, a, &key), CC_OK);
  EXPECT_EQ(cc_get_page(h.cache, b, &key, 2, got.data(), got.size()), CC_MISS);
}
#else
TEST(CApi, RegisteringAnUnbuiltBackendSaysSo) {
  CacheHandle h;
  EXPECT_EQ(cc_register_backend(h.cache, "zcache"), CC_EINVAL);
  EXPECT_NE(LastError(h.cache).find("not built into this library"), std::string::npos) << LastError(h.cache);
}
#endif

TEST(CApi, LastErrorIsPerThread) {
  CacheHandle h;
  EXPECT_EQ(cc_init_fs(h.cache, 1000), CC_EINVAL);
  const char* mine = cc_last_error(h.cache);
  std::thread other([&] {
    EXPECT_STREQ(cc_last_error(h.cache), "");  // this thread has not failed yet
    EXPECT_EQ(cc_init_fs(h.cache, 3), CC_EINVAL);
    EXPECT_NE(std::string(cc_last_error(h.cache)).find("page size 3 "), std::string::npos);
  });
  other.join();
  EXPECT_NE(std::string(mine).find("page size 1000"), std::string::npos) << mine;  // still valid, not overwritten
}

TEST(CApi, ConcurrentCallsOnOneHandle) {
  CacheHandle h;
  const int32_t pool = cc_init_fs(h.cache, 4096);
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      cc_file_key key;
      cc_key_from_inode(&key, 1, t);
      std::vector<uint8_t> page(4096);
      for (int i = 0; i < 500; ++i) {
        EXPECT_EQ(cc_get_page(h.cache, pool, &key, i, page.data(), page.size()), CC_MISS);
        EXPECT_EQ(cc_init_fs(h.cache, 100), CC_EINVAL);  // failing control calls race on last_error
        EXPECT_FALSE(LastError(h.cache).empty());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  cc_counters counters;
  ASSERT_EQ(cc_pool_counters(h.cache, pool, &counters), CC_OK);
  EXPECT_EQ(counters.failed_gets, 1500u);
}

}  // namespace
