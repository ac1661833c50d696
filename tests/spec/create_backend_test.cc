#include <gtest/gtest.h>

#include "cleancache/backend_spec.h"

namespace cleancache {
namespace {

TEST(CreateBackend, ParseErrorsPassThrough) {
  auto backend = CreateBackend("zcache:capacity");
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(backend.status().message().find("has no value"), std::string::npos);
}

TEST(CreateBackend, UnknownSchemeListsTheBuiltOnes) {
  BackendSpec spec;
  spec.text = "rocksdb:/x";
  spec.scheme = "rocksdb";
  auto backend = CreateBackend(spec);
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(backend.status().message().find("unknown scheme 'rocksdb'"), std::string::npos);
  EXPECT_NE(backend.status().message().find("known schemes: "), std::string::npos);
#ifdef CLEANCACHE_HAVE_ZCACHE
  EXPECT_NE(backend.status().message().find("zcache"), std::string::npos) << backend.status().message();
#endif
}

#ifndef CLEANCACHE_HAVE_MEMCACHED
TEST(CreateBackend, SchemeNotBuiltInSaysSo) {
  auto backend = CreateBackend("memcached://127.0.0.1:1");
  ASSERT_FALSE(backend.ok());
  EXPECT_NE(backend.status().message().find("memcached backend is not built into this library"), std::string::npos)
      << backend.status().message();
}
#endif

#ifdef CLEANCACHE_HAVE_ZCACHE
TEST(CreateBackend, Zcache) {
  auto backend = CreateBackend("zcache:capacity=8M");
  ASSERT_TRUE(backend.ok()) << backend.status().ToString();
  EXPECT_EQ(backend.value()->Stats().capacity_bytes, 8u << 20);
  auto defaults = CreateBackend(kDefaultBackendSpec);
  ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();
  auto bad = CreateBackend("zcache:colour=blue");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("colour"), std::string::npos) << bad.status().message();
}
#endif

}  // namespace
}  // namespace cleancache
