#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

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

#ifdef CLEANCACHE_HAVE_ZCACHE
uint64_t MachineMemory() {
  return static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

// One rule, in the zcache option validation every command goes through:
// a capacity the machine cannot hold is refused, naming both figures.
TEST(CheckBackendSpec, ZcacheCapacityAboveTheMachinesMemoryIsRefused) {
  for (const std::string& text :
       std::vector<std::string>{"zcache:capacity=99999T", "tier:zcache:capacity=99999T+zcache",
                                "zcache:capacity=" + std::to_string(MachineMemory() + 4096)}) {
    for (const Status& s : {ParseAndCheckBackendSpec(text).status(), CreateBackend(text).status()}) {
      ASSERT_FALSE(s.ok()) << text;
      EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
      EXPECT_NE(s.message().find("more than this machine's memory (" + FormatSize(MachineMemory()) + ")"),
                std::string::npos)
          << s.message();
      EXPECT_NE(s.message().find(text.substr(text.find('=') + 1, text.find('+') - text.find('=') - 1)),
                std::string::npos)
          << "names the value: " << s.message();
    }
  }
  EXPECT_TRUE(ParseAndCheckBackendSpec("zcache:capacity=" + std::to_string(MachineMemory())).ok());
}

TEST(CheckBackendSpec, SizesThatOverflowAreRefused) {
  for (const char* text :
       {"zcache:capacity=16777216T", "zcache:capacity=18446744073709551616", "zcache:capacity=99999999999999999999T"}) {
    const Status s = ParseAndCheckBackendSpec(text).status();
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_NE(s.message().find("too large"), std::string::npos) << text << " -> " << s.message();
  }
}

TEST(CheckBackendSpec, ChecksValuesWithoutCreatingAnything) {
  EXPECT_TRUE(ParseAndCheckBackendSpec("zcache:capacity=8M,codec=zstd").ok());
  EXPECT_NE(ParseAndCheckBackendSpec("zcache:codec=nonsense").status().message().find("nonsense"), std::string::npos);
  EXPECT_NE(ParseAndCheckBackendSpec("nosuch://x").status().message().find("nosuch"), std::string::npos);
#ifdef CLEANCACHE_HAVE_DAEMON
  // A valid tmem spec checks without a daemon to connect to.
  EXPECT_TRUE(ParseAndCheckBackendSpec("tmem:/nonexistent/tmem.sock").ok());
  EXPECT_FALSE(ParseAndCheckBackendSpec("tmem:/x.sock?shm=1K").ok());
#endif
}
#endif

}  // namespace
}  // namespace cleancache
