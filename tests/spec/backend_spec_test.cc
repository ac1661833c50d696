#include "cleancache/backend_spec.h"

#include <gtest/gtest.h>

namespace cleancache {
namespace {

using Options = std::vector<std::pair<std::string, std::string>>;

BackendSpec Parse(std::string_view text) {
  auto spec = ParseBackendSpec(text);
  EXPECT_TRUE(spec.ok()) << text << ": " << spec.status().ToString();
  return spec.ok() ? spec.value() : BackendSpec{};
}

TEST(BackendSpec, PlainZcache) {
  const BackendSpec spec = Parse("zcache");
  EXPECT_EQ(spec.text, "zcache");
  EXPECT_EQ(spec.scheme, "zcache");
  EXPECT_EQ(spec.location, "");
  EXPECT_TRUE(spec.options.empty());
  EXPECT_TRUE(spec.tiers.empty());
}

TEST(BackendSpec, ZcacheWithOptionsKeepsTheirOrder) {
  const BackendSpec spec = Parse("zcache:capacity=1G,codec=zstd,level=3");
  EXPECT_EQ(spec.options, (Options{{"capacity", "1G"}, {"codec", "zstd"}, {"level", "3"}}));
  ASSERT_NE(spec.Find("codec"), nullptr);
  EXPECT_EQ(*spec.Find("codec"), "zstd");
  EXPECT_EQ(spec.Find("threshold"), nullptr);
}

TEST(BackendSpec, SurroundingWhitespaceIsTrimmed) {
  EXPECT_EQ(Parse("  zcache:capacity=1G \n").text, "zcache:capacity=1G");
}

TEST(BackendSpec, Memcached) {
  const BackendSpec one = Parse("memcached://127.0.0.1:11211");
  EXPECT_EQ(one.scheme, "memcached");
  EXPECT_EQ(one.location, "127.0.0.1:11211");
  EXPECT_TRUE(one.options.empty());
  const BackendSpec many = Parse("memcached://a.example:1,[::1]:11211,b:65535?timeout_ms=50&replicas=2");
  EXPECT_EQ(many.location, "a.example:1,[::1]:11211,b:65535");
  EXPECT_EQ(many.options, (Options{{"timeout_ms", "50"}, {"replicas", "2"}}));
}

TEST(BackendSpec, Tmem) {
  const BackendSpec spec = Parse("tmem:/run/cleancached.sock");
  EXPECT_EQ(spec.scheme, "tmem");
  EXPECT_EQ(spec.location, "/run/cleancached.sock");
  const BackendSpec with = Parse("tmem:/tmp/a+b/sock?tenant=alice&weight=2");
  EXPECT_EQ(with.location, "/tmp/a+b/sock");
  EXPECT_EQ(with.options, (Options{{"tenant", "alice"}, {"weight", "2"}}));
}

TEST(BackendSpec, TierSplitsAtTopLevelPlus) {
  const BackendSpec spec = Parse("tier:zcache:capacity=64M+memcached://h:1,g:2?timeout_ms=5");
  EXPECT_EQ(spec.scheme, "tier");
  ASSERT_EQ(spec.tiers.size(), 2u);
  EXPECT_EQ(spec.tiers[0].text, "zcache:capacity=64M");
  EXPECT_EQ(spec.tiers[0].Find("capacity") != nullptr, true);
  EXPECT_EQ(spec.tiers[1].scheme, "memcached");
  EXPECT_EQ(spec.tiers[1].location, "h:1,g:2");
  const BackendSpec three = Parse("tier:zcache+tmem:/x+y/s+zcache:codec=zstd");
  ASSERT_EQ(three.tiers.size(), 3u);
  EXPECT_EQ(three.tiers[1].location, "/x+y/s");  // '+' inside a path is not a split
  EXPECT_EQ(three.tiers[2].text, "zcache:codec=zstd");
}

TEST(BackendSpec, CheckKeysNamesTheUnknownKeyAndTheValidOnes) {
  const BackendSpec spec = Parse("zcache:capacity=1G,colour=blue");
  EXPECT_TRUE(spec.CheckKeys({"capacity", "colour"}).ok());
  Status status = spec.CheckKeys({"capacity", "codec"});
  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(status.message().find("unknown option 'colour' for zcache"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("valid: capacity, codec"), std::string::npos) << status.message();
  EXPECT_NE(spec.CheckKeys({}).message().find("valid: none"), std::string::npos);
}

struct BadSpec {
  const char* text;
  const char* message_part;
};

void PrintTo(const BadSpec& spec, std::ostream* out) { *out << "'" << spec.text << "'"; }

class BadSpecTest : public ::testing::TestWithParam<BadSpec> {};

TEST_P(BadSpecTest, IsRefusedWithAClearMessage) {
  auto spec = ParseBackendSpec(GetParam().text);
  ASSERT_FALSE(spec.ok()) << GetParam().text;
  EXPECT_EQ(spec.status().code(), Status::Code::kInvalidArgument);
  const std::string& message = spec.status().message();
  EXPECT_NE(message.find(GetParam().message_part), std::string::npos) << message;
  EXPECT_NE(message.find("backend spec '"), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    AllErrors, BadSpecTest,
    ::testing::Values(
        BadSpec{"", "empty spec"}, BadSpec{"   ", "empty spec"}, BadSpec{"Zcache", "'Zcache' is not a backend scheme"},
        BadSpec{":capacity=1G", "'' is not a backend scheme"}, BadSpec{"redis://h:1", "unknown scheme 'redis'"},
        BadSpec{"zcache:", "nothing after 'zcache:'"}, BadSpec{"zcache://x", "zcache takes options"},
        BadSpec{"zcache:capacity", "option 'capacity' has no value"}, BadSpec{"zcache:=1G", "option '=1G' has no key"},
        BadSpec{"zcache:capacity=", "option 'capacity' has an empty value"},
        BadSpec{"zcache:capacity=1G,", "empty option (a stray ',')"}, BadSpec{"zcache:a=1,,b=2", "empty option"},
        BadSpec{"zcache:capacity=1G,capacity=2G", "option 'capacity' is given twice"},
        BadSpec{"zcache:cap$city=1", "option key 'cap$city'"},
        BadSpec{"zcache:capacity=1 G", "whitespace or control character at position 18"},
        BadSpec{"memcached:h:1", "expected memcached://host:port"},
        BadSpec{"memcached://", "no memcached server given"}, BadSpec{"memcached://?x=1", "no memcached server given"},
        BadSpec{"memcached://localhost", "server 'localhost' needs a port"},
        BadSpec{"memcached://h:1,,g:2", "empty memcached server"},
        BadSpec{"memcached://h:1,", "empty memcached server"}, BadSpec{"memcached://:11211", "has an empty host"},
        BadSpec{"memcached://h:0", "port '0' is not a number from 1 to 65535"},
        BadSpec{"memcached://h:65536", "port '65536'"}, BadSpec{"memcached://h:http", "port 'http'"},
        BadSpec{"memcached://h:", "port ''"},
        BadSpec{"memcached://::1:11211", "write IPv6 addresses as [address]:port"},
        BadSpec{"memcached://[::1:11211", "missing ']'"}, BadSpec{"memcached://[::1]", "needs a port ([address]:port)"},
        BadSpec{"memcached://[]:1", "has an empty host"}, BadSpec{"memcached://h:1?", "nothing after '?'"},
        BadSpec{"memcached://h:1?a=1&", "empty option (a stray '&')"},
        BadSpec{"memcached://h:1?timeout", "option 'timeout' has no value"},
        BadSpec{"tmem:", "needs the daemon's socket path"}, BadSpec{"tmem", "needs the daemon's socket path"},
        BadSpec{"tmem:?a=1", "needs the daemon's socket path"}, BadSpec{"tmem:run/sock", "'run/sock' must be absolute"},
        BadSpec{"tmem:/s?a", "option 'a' has no value"}, BadSpec{"tier:", "tier needs at least two specs"},
        BadSpec{"tier", "tier needs at least two specs"}, BadSpec{"tier:zcache", "tier needs at least two specs"},
        BadSpec{"tier:zcache+", "tier part 2 is empty"}, BadSpec{"tier:+zcache", "tier part 1 is empty"},
        BadSpec{"tier:zcache++zcache", "tier part 2 is empty"},
        BadSpec{"tier:zcache+tier:zcache+zcache", "nested tier 'tier:zcache'"},
        BadSpec{"tier:zcache+bogus:x", "unknown scheme 'bogus'"},
        BadSpec{"tier:zcache+memcached://h", "server 'h' needs a port"},
        BadSpec{"tier:zcache:capacity+zcache", "option 'capacity' has no value"}));

}  // namespace
}  // namespace cleancache
