#include "daemon/daemon_config.h"

#include <gtest/gtest.h>

namespace cleancache::daemon {
namespace {

TEST(DaemonConfig, ParsesEveryKey) {
  DaemonConfig c;
  const Status s = ParseDaemonConfig(R"(
# global settings
socket = /tmp/x/tmem.sock
socket_mode = 0660
capacity = 2G
backend = zcache:codec=zstd
tenant_by = cgroup
default_weight = 2
default_cap = 100M
max_clients = 8
max_shared_bytes = 4M
max_pools_per_client = 3
metrics = 127.0.0.1:9477

[tenant uid:1000]
weight = 3
cap = 512M   # trailing comment

[tenant cgroup:/system.slice/db.service]
weight = 5

[shared 01234567-89ab-cdef-0123-456789abcdef]
allow = uid:1000, gid:100 uid:1001
weight = 4
)",
                                     "test.conf", &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.socket_path, "/tmp/x/tmem.sock");
  EXPECT_EQ(c.socket_mode, 0660u);
  EXPECT_EQ(c.capacity, 2ull << 30);
  EXPECT_EQ(c.backend, "zcache:codec=zstd");
  EXPECT_EQ(c.tenant_by, TenantBy::kCgroup);
  EXPECT_EQ(c.default_tenant.weight, 2u);
  EXPECT_EQ(c.default_tenant.cap, 100ull << 20);
  EXPECT_EQ(c.max_clients, 8u);
  EXPECT_EQ(c.max_shared_bytes, 4ull << 20);
  EXPECT_EQ(c.max_pools_per_client, 3u);
  EXPECT_EQ(c.metrics, "127.0.0.1:9477");
  EXPECT_EQ(c.tenants.at("uid:1000").weight, 3u);
  EXPECT_EQ(c.tenants.at("uid:1000").cap, 512ull << 20);
  EXPECT_EQ(c.tenants.at("cgroup:/system.slice/db.service").weight, 5u);
  const auto& shared = c.shared_pools.at("01234567-89ab-cdef-0123-456789abcdef");
  EXPECT_EQ(shared.allow, (std::vector<std::string>{"uid:1000", "gid:100", "uid:1001"}));
  EXPECT_EQ(shared.policy.weight, 4u);
  EXPECT_EQ(c.PolicyFor("cgroup:/system.slice/db.service", 0).weight, 5u);
  EXPECT_EQ(c.PolicyFor("cgroup:/other", 1000).weight, 3u);  // falls back to the uid's section
  EXPECT_EQ(c.PolicyFor("cgroup:/other", 7).weight, 2u);
}

TEST(DaemonConfig, ErrorsNameFileLineAndCulprit) {
  struct Case {
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      {"capacity = lots", "f.conf:1: capacity"},
      {"\nbogus = 1", "f.conf:2: unknown key 'bogus'"},
      {"tenant_by = planet", "tenant_by must be uid, gid, cgroup or process"},
      {"metrics = 0.0.0.0:9000", "loopback"},
      {"metrics = 10.1.2.3:9000", "loopback"},
      {"backend = tmem:/x.sock", "cannot be tmem"},
      {"backend = nosuch", "unknown scheme"},
      {"backend = zcache:codec=nonsense", "f.conf:1: backend: zcache: unknown codec 'nonsense'"},
      {"backend = zcache:capacity=99999T", "more than this machine's memory"},
      {"[tenant bob]", "tenant name must be"},
      {"[tenant uid:1]\n[tenant uid:1]", "f.conf:2: duplicate section"},
      {"[tenant uid:1]\nweight = 0", "weight must be"},
      {"[tenant uid:1]\nallow = any", "unknown key 'allow'"},
      {"[shared not-a-uuid]", "f.conf:1: [shared UUID]"},
      {"[shared 0123456789abcdef0123456789abcdef]\nallow = everyone", "allow entry 'everyone'"},
      {"[pool x]", "unknown section 'pool'"},
      {"socket = relative.sock", "absolute path"},
      {"no equals sign", "expected 'key = value'"},
      {"[tenant uid:1", "must end with ']'"},
  };
  for (const Case& c : cases) {
    DaemonConfig config;
    const Status s = ParseDaemonConfig(c.text, "f.conf", &config);
    EXPECT_FALSE(s.ok()) << c.text;
    EXPECT_NE(s.message().find(c.expected), std::string::npos) << c.text << " -> " << s.message();
  }
}

// The INI reading (libinih) keeps the format's rules: indented keys are keys
// (not continuations of the previous value), `#` and ` ;` comments end a
// value, and a line too long for the parser is an error, not two lines.
TEST(DaemonConfig, IndentationCommentsAndLongLines) {
  DaemonConfig c;
  Status s = ParseDaemonConfig("[tenant uid:7]\n  weight = 3\n\tcap = 8M  # eight\n", "f.conf", &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.tenants.at("uid:7").weight, 3u);
  EXPECT_EQ(c.tenants.at("uid:7").cap, 8u << 20);
  EXPECT_EQ(c.tenant_by, TenantBy::kUid);
  DaemonConfig top;
  ASSERT_TRUE(ParseDaemonConfig("capacity = 2G ; two\n   max_clients = 5\n", "f.conf", &top).ok());
  EXPECT_EQ(top.capacity, 2ull << 30);
  EXPECT_EQ(top.max_clients, 5u);
  DaemonConfig longer;
  s = ParseDaemonConfig("capacity = 1G\nsocket = /" + std::string(300, 'a') + "\n", "f.conf", &longer);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("f.conf:2: line longer than"), std::string::npos) << s.message();
  // A syntax error before a bad value is the one reported, and vice versa.
  s = ParseDaemonConfig("no equals\nbogus = 1\n", "f.conf", &longer);
  EXPECT_NE(s.message().find("f.conf:1: expected"), std::string::npos) << s.message();
  s = ParseDaemonConfig("bogus = 1\nno equals\n", "f.conf", &longer);
  EXPECT_NE(s.message().find("f.conf:1: unknown key 'bogus'"), std::string::npos) << s.message();
}

TEST(DaemonConfig, CheckRefusesStoresThatCannotBeMade) {
  DaemonConfig c;
  ASSERT_TRUE(ParseDaemonConfig("capacity = 99999T", "f.conf", &c).ok());  // a size; zcache decides
  Status s = CheckDaemonConfig(c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("capacity"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("more than this machine's memory"), std::string::npos) << s.message();
  DaemonConfig small;
  ASSERT_TRUE(ParseDaemonConfig("[tenant uid:5]\ncap = 100K", "f.conf", &small).ok());
  s = CheckDaemonConfig(small);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("[tenant uid:5] cap"), std::string::npos) << s.message();
  EXPECT_TRUE(CheckDaemonConfig(DaemonConfig{}).ok());
}

TEST(DaemonConfig, SharedSectionWithWeightOrCapIsItsOwnTenant) {
  DaemonConfig c;
  ASSERT_TRUE(ParseDaemonConfig("[shared 00000000000000000000000000000001]\nallow = any\n"
                                "[shared 00000000000000000000000000000002]\ncap = 4M\n",
                                "f.conf", &c)
                  .ok());
  EXPECT_FALSE(c.shared_pools.at("00000000-0000-0000-0000-000000000001").own_tenant);
  EXPECT_TRUE(c.shared_pools.at("00000000-0000-0000-0000-000000000002").own_tenant);
  EXPECT_EQ(c.PolicyFor("shared:00000000-0000-0000-0000-000000000002", 0).cap, 4u << 20);
}

TEST(DaemonConfig, ReloadTakesTenantsAndLimitsAndKeepsWhatNeedsARestart) {
  DaemonConfig running;
  DaemonConfig file;
  ASSERT_TRUE(ParseDaemonConfig("capacity = 2G\nmax_clients = 9\n[tenant uid:0]\ncap = 8M\n", "f.conf", &file).ok());
  const ConfigReload r = MergeReload(running, file);
  EXPECT_EQ(r.config.capacity, running.capacity);
  EXPECT_EQ(r.config.max_clients, 9u);
  EXPECT_EQ(r.config.tenants.at("uid:0").cap, 8u << 20);
  ASSERT_EQ(r.need_restart.size(), 1u);
  EXPECT_NE(r.need_restart[0].find("capacity"), std::string::npos);
  ASSERT_EQ(r.applied.size(), 2u);
  EXPECT_EQ(r.applied[0], "max_clients 256 -> 9");
  EXPECT_EQ(r.applied[1], "[tenant uid:0] added: weight 1, cap 8 MiB");
  EXPECT_TRUE(MergeReload(running, running).applied.empty());
}

TEST(DaemonConfig, GovernorPolicyAndMinShare) {
  DaemonConfig c;
  EXPECT_EQ(c.policy, GovernorPolicy::kWeight);
  ASSERT_TRUE(ParseDaemonConfig("policy = curve\nmin_share = 25%\n", "t", &c).ok());
  EXPECT_EQ(c.policy, GovernorPolicy::kCurve);
  EXPECT_DOUBLE_EQ(c.min_share, 0.25);
  ASSERT_TRUE(ParseDaemonConfig("min_share = 0.05\npolicy = weight\n", "t", &c).ok());
  EXPECT_DOUBLE_EQ(c.min_share, 0.05);
  EXPECT_EQ(c.policy, GovernorPolicy::kWeight);
  for (const char* bad :
       {"policy = fair\n", "min_share = 150%\n", "min_share = -0.1\n", "min_share = lots\n", "min_share = \n"}) {
    const Status s = ParseDaemonConfig(bad, "f.conf", &c);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.message().find("f.conf:1"), std::string::npos) << s.message();
  }
  // Fixed for the daemon's life: a reload keeps the running policy.
  DaemonConfig running, file;
  file.policy = GovernorPolicy::kCurve;
  const ConfigReload r = MergeReload(running, file);
  EXPECT_EQ(r.config.policy, GovernorPolicy::kWeight);
  ASSERT_EQ(r.need_restart.size(), 1u);
  EXPECT_NE(r.need_restart[0].find("policy"), std::string::npos);
}

TEST(DaemonConfig, MissingFileIsAClearError) {
  DaemonConfig c;
  const Status s = LoadDaemonConfig("/nonexistent/cleancached.conf", &c);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_NE(s.message().find("/nonexistent/cleancached.conf"), std::string::npos);
}

}  // namespace
}  // namespace cleancache::daemon

namespace cleancache::daemon {
namespace {

TEST(DaemonConfig, ShippedConfigParsesToTheDefaults) {
  DaemonConfig shipped;
  const Status s = LoadDaemonConfig(DIST_CONFIG, &shipped);
  ASSERT_TRUE(s.ok()) << s.ToString();
  const DaemonConfig defaults;
  EXPECT_EQ(shipped.socket_path, defaults.socket_path);
  EXPECT_EQ(shipped.socket_mode, defaults.socket_mode);
  EXPECT_EQ(shipped.capacity, defaults.capacity);
  EXPECT_EQ(shipped.backend, defaults.backend);
  EXPECT_EQ(shipped.tenant_by, defaults.tenant_by);
  EXPECT_EQ(shipped.default_tenant.weight, defaults.default_tenant.weight);
  EXPECT_EQ(shipped.default_tenant.cap, defaults.default_tenant.cap);
  EXPECT_EQ(shipped.max_clients, defaults.max_clients);
  EXPECT_EQ(shipped.policy, defaults.policy);
  EXPECT_EQ(shipped.min_share, defaults.min_share);
  EXPECT_EQ(shipped.max_shared_bytes, defaults.max_shared_bytes);
  EXPECT_EQ(shipped.max_pools_per_client, defaults.max_pools_per_client);
  EXPECT_EQ(shipped.metrics, defaults.metrics);
  EXPECT_TRUE(shipped.tenants.empty());
}

// log_level: checked, reloadable; capacity may be a share of memory.
TEST(DaemonConfig, LogLevelAndCapacityShare) {
  DaemonConfig c;
  ASSERT_TRUE(ParseDaemonConfig("log_level = debug\ncapacity = 1%\n", "test.conf", &c).ok());
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_GT(c.capacity, 0u);
  EXPECT_EQ(c.capacity % 4096, 0u);
  const Status bad = ParseDaemonConfig("log_level = loud\n", "test.conf", &c);
  EXPECT_EQ(bad.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(bad.message().find("test.conf:1: log_level must be error, warn, info or debug"), std::string::npos)
      << bad.message();
  const Status share = ParseDaemonConfig("capacity = 300%\n", "test.conf", &c);
  EXPECT_NE(share.message().find("bad share '300%'"), std::string::npos) << share.message();
  DaemonConfig running, file;
  file.log_level = "warn";
  const ConfigReload r = MergeReload(running, file);
  EXPECT_EQ(r.config.log_level, "warn");
  ASSERT_EQ(r.applied.size(), 1u);
  EXPECT_EQ(r.applied[0], "log_level info -> warn");
}

}  // namespace
}  // namespace cleancache::daemon
