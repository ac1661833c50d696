/* An outside C program built against an installed libcleancache with only
 * `pkg-config --cflags --libs cleancache` (tests/install/install_test.sh):
 * the version, a zcache backend, put, get, the counters. Exit 0 when every
 * step behaved, else prints the failing step. */
#include <stdio.h>
#include <string.h>

#include <cleancache/cleancache.h>

#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      fprintf(stderr, "consumer.c:%d: %s failed\n", __LINE__, #cond); \
      return 1;                                                       \
    }                                                                 \
  } while (0)

int main(void) {
  unsigned char page[4096], got[4096];
  cc_file_key key;
  cc_counters counters;
  cc_backend_stats stats;
  cc_cache* cache;
  int32_t pool;

  /* The library found at run time is the one the headers describe. */
  CHECK(strcmp(cc_version(), CLEANCACHE_VERSION_STRING) == 0);
  cache = cc_create();
  CHECK(cache != NULL);
  CHECK(cc_register_backend(cache, "zcache:capacity=8M") == CC_OK);
  CHECK(cc_register_backend(cache, "zcache") == CC_EBUSY);
  pool = cc_init_fs(cache, 4096);
  CHECK(pool >= 0);
  cc_key_from_inode(&key, 1, 2);
  memset(page, 'c', sizeof page);
  page[0] = 1; /* not same-filled: goes through LZ4 */
  CHECK(cc_put_page(cache, pool, &key, 7, page, sizeof page) == CC_OK);
  CHECK(cc_get_page(cache, pool, &key, 7, got, sizeof got) == CC_OK);
  CHECK(memcmp(page, got, sizeof page) == 0);
  CHECK(cc_get_page(cache, pool, &key, 8, got, sizeof got) == CC_MISS);
  CHECK(cc_pool_counters(cache, pool, &counters) == CC_OK);
  CHECK(counters.puts == 1 && counters.succ_gets == 1 && counters.failed_gets == 1);
  cc_backend_stats_get(cache, &stats);
  CHECK(stats.capacity_bytes == 8u << 20);
  cc_destroy(cache);
  printf("cleancache %s: put, get, miss and counters as expected\n", cc_version());
  return 0;
}
