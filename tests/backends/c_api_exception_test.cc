// No exception crosses the C API: a backend that throws (std::exception or
// anything else) below every kind of entry point gives a CC_E* code and a
// message in cc_last_error, never a terminated program. Linked with the
// backend set in which "zcache" is the throwing test backend
// (throwing_backend.h).
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "cleancache/cleancache.h"

namespace {

struct Handle {
  explicit Handle(const std::string& spec) : cache(cc_create()), registered(cc_register_backend(cache, spec.c_str())) {}
  ~Handle() { cc_destroy(cache); }
  cc_cache* cache;
  int registered;
};

std::string LastError(const cc_cache* cache) { return cc_last_error(cache); }

TEST(CApiExceptions, ThrowWhileCreatingTheBackend) {
  Handle std_error("zcache:at=create");
  EXPECT_EQ(std_error.registered, CC_EIO);
  EXPECT_EQ(LastError(std_error.cache), "internal error: throwing backend: create");
  Handle other("zcache:at=create,what=other");
  EXPECT_EQ(other.registered, CC_EIO);
  EXPECT_EQ(LastError(other.cache), "internal error: unknown exception");
}

TEST(CApiExceptions, ThrowWhileOpeningAPool) {
  Handle h("zcache:at=open");
  ASSERT_EQ(h.registered, CC_OK);
  EXPECT_EQ(cc_init_fs(h.cache, 4096), CC_EIO);
  EXPECT_EQ(LastError(h.cache), "internal error: throwing backend: open");
  const uint8_t uuid[16] = {1};
  EXPECT_EQ(cc_init_shared_fs(h.cache, uuid, 4096), CC_EIO);
}

TEST(CApiExceptions, ThrowOnTheDataPath) {
  for (const char* what : {"std", "other"}) {
    Handle h(std::string("zcache:at=get,what=") + what);
    ASSERT_EQ(h.registered, CC_OK);
    const int32_t pool = cc_init_fs(h.cache, 4096);
    ASSERT_GE(pool, 0);
    cc_file_key key;
    cc_key_from_inode(&key, 1, 2);
    uint8_t page[4096] = {};
    EXPECT_EQ(cc_get_page(h.cache, pool, &key, 0, page, sizeof page), CC_EIO);
    EXPECT_EQ(LastError(h.cache), std::strcmp(what, "std") == 0 ? "internal error: throwing backend: get"
                                                                : "internal error: unknown exception");
  }
  Handle put("zcache:at=put");
  const int32_t pool = cc_init_fs(put.cache, 4096);
  cc_file_key key;
  cc_key_from_inode(&key, 1, 2);
  uint8_t page[4096] = {};
  EXPECT_EQ(cc_put_page(put.cache, pool, &key, 0, page, sizeof page), CC_EIO);
  EXPECT_EQ(LastError(put.cache), "internal error: throwing backend: put");
}

TEST(CApiExceptions, ThrowInAVoidFunction) {
  Handle h("zcache:at=stats");
  ASSERT_EQ(h.registered, CC_OK);
  cc_backend_stats stats;
  std::memset(&stats, 0xFF, sizeof stats);
  cc_backend_stats_get(h.cache, &stats);  // returns, zeros stand
  EXPECT_EQ(stats.pages_stored, 0u);
  EXPECT_EQ(LastError(h.cache), "internal error: throwing backend: stats");
}

}  // namespace
