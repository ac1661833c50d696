// An outside C++ program against the installed package (find_package): the
// C++ API (CreateBackend, the Cleancache shim, PageCache) and the version.
#include <cleancache/backend_spec.h>
#include <cleancache/page_cache.h>
#include <cleancache/version.h>
#include <cleancache/cleancache.hpp>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#define CHECK(cond)                                                         \
  do {                                                                      \
    if (!(cond)) {                                                          \
      std::fprintf(stderr, "consumer.cc:%d: %s failed\n", __LINE__, #cond); \
      return 1;                                                             \
    }                                                                       \
  } while (0)

int main() {
  CHECK(std::string(cleancache::Version()) == CLEANCACHE_VERSION_STRING);
  auto backend = cleancache::CreateBackend("zcache:capacity=8M");
  CHECK(backend.ok());
  cleancache::Cleancache cache;
  CHECK(cache.RegisterBackend(std::move(*backend)).ok());
  const cleancache::PoolId pool = cache.InitFs(4096);
  CHECK(pool >= 0);
  const cleancache::FileKey key = cleancache::FileKey::FromInode(1, 2);
  std::vector<uint8_t> page(4096, 'p'), got(4096);
  page[0] = 1;
  cache.PutPage(pool, key, 3, page);
  CHECK(cache.GetPage(pool, key, 3, got));
  CHECK(got == page);
  CHECK(!cache.GetPage(pool, key, 4, got));
  const cleancache::PoolCounters counters = cache.Counters(pool);
  CHECK(counters.puts == 1 && counters.succ_gets == 1 && counters.failed_gets == 1);
  // A bad spec is an error naming the culprit, not an exception.
  auto bad = cleancache::CreateBackend("zcache:codec=nope");
  CHECK(!bad.ok() && bad.status().message().find("nope") != std::string::npos);
  std::printf("cleancache %s (C++ API): put, get, miss and counters as expected\n", cleancache::Version());
  return 0;
}
