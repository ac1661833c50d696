/* Compiled as C (not C++) to prove cleancache.h is a valid C header, and run
 * from c_api_test.cc. Returns 0 when every step behaved, else the line number
 * of the first step that did not. With spec == NULL no backend is registered
 * and the pool stays a placeholder (all misses). */
#include <string.h>

#include "cleancache/cleancache.h"

int cc_smoke_test_from_c(const char* spec);

#define CHECK(cond) \
  do {              \
    if (!(cond)) {  \
      result = __LINE__; \
      goto done;    \
    }               \
  } while (0)

int cc_smoke_test_from_c(const char* spec) {
  int result = 0;
  unsigned char page[4096], got[4096];
  cc_file_key key;
  cc_counters counters;
  cc_backend_stats stats;
  int32_t pool;
  cc_cache* cache = cc_create();
  if (cache == NULL) return __LINE__;
  if (spec != NULL) CHECK(cc_register_backend(cache, spec) == CC_OK);
  pool = cc_init_fs(cache, 4096);
  CHECK(pool >= 0);
  CHECK(cc_init_fs(cache, 1000) == CC_EINVAL);
  CHECK(strstr(cc_last_error(cache), "1000") != NULL);
  cc_key_from_inode(&key, 1, 2);
  CHECK(key.type == CC_KEY_TYPE_INODE && key.size == 16);
  memset(page, 0x5A, sizeof page);
  page[0] = 1; /* not same-filled */
  CHECK(cc_put_page(cache, pool, &key, 3, page, sizeof page) == CC_OK);
  if (spec != NULL) {
    CHECK(cc_get_page(cache, pool, &key, 3, got, sizeof got) == CC_OK);
    CHECK(memcmp(page, got, sizeof page) == 0);
  }
  CHECK(cc_get_page(cache, pool, &key, 3, got, sizeof got) == CC_MISS);
  CHECK(cc_invalidate_page(cache, pool, &key, 3) == CC_OK);
  CHECK(cc_invalidate_inode(cache, pool, &key) == CC_OK);
  CHECK(cc_pool_counters(cache, pool, &counters) == CC_OK);
  CHECK(counters.failed_gets == 1);
  cc_total_counters(cache, &counters);
  CHECK(counters.failed_gets == 1);
  cc_backend_stats_get(cache, &stats);
  CHECK(cc_invalidate_fs(cache, pool) == CC_OK);
  CHECK(cc_get_page(cache, pool, &key, 3, got, sizeof got) == CC_ENOENT);
done:
  cc_destroy(cache);
  return result;
}
