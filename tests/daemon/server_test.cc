#include "daemon/server.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <random>
#include <thread>

#include "cleancache/backend_spec.h"
#include "cleancache/cleancache.hpp"
#include "cleancache/version.h"
#include "daemon/stats_report.h"
#include "daemon_harness.h"
#include "support/prometheus_check.h"
#include "support/workloads.h"
#include "tmem/daemon_connection.h"

namespace cleancache::daemon {
namespace {

using testing::DaemonHarness;
using Clock = std::chrono::steady_clock;
constexpr uint32_t kPage = 4096;

std::vector<uint8_t> PageOf(uint64_t tag) {
  std::vector<uint8_t> page(kPage);
  std::mt19937_64 rng(tag);
  for (size_t i = 0; i < kPage; i += 8) {
    const uint64_t v = rng();
    std::memcpy(page.data() + i, &v, 8);
  }
  return page;
}

std::unique_ptr<Backend> Client(DaemonHarness& d, const std::string& extra = "") {
  auto client = CreateBackend(d.Spec(extra));
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return client.ok() ? std::move(*client) : nullptr;
}

// Waits (bounded) until `condition` holds.
template <typename F>
bool WaitFor(F condition, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

int RawConnect(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

// True when the daemon closed `fd` (EOF), within the receive timeout.
bool ClosedByDaemon(int fd) {
  char buf[256];
  for (int i = 0; i < 100; ++i) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n == 0) return true;
    if (n < 0) return false;
  }
  return false;
}

// Opens a private pool on a raw connection; 0 if refused.
uint64_t RawOpenPool(DaemonConnection& conn) {
  std::vector<uint8_t> frame;
  const uint64_t id = conn.NextRequestId();
  EncodeOpenPool(&frame, id, kPage, false, {});
  auto reply = conn.Call(frame, Opcode::kOpenPool, id);
  uint64_t pool = 0;
  if (!reply.ok() || reply->status != WireStatus::kOk || ParseOpenPoolReply(reply->body, &pool)) return 0;
  return pool;
}

// Sends Get/PutPages of one page at `offset` of the area; the reply, if any.
Result<Reply> RawPage(DaemonConnection& conn, Opcode op, uint64_t pool, uint32_t offset,
                      const std::vector<uint8_t>& key) {
  std::vector<uint8_t> frame;
  const uint64_t id = conn.NextRequestId();
  EncodePages(&frame, op, id, pool, 0, 1, offset, 1, key);
  return conn.Call(frame, op, id);
}

TEST(DaemonServer, PutGetBatchAndInvalidateThroughTheDaemon) {
  DaemonHarness d;
  auto client = Client(d);
  ASSERT_TRUE(client);
  auto pool = client->OpenPool(PoolConfig{});
  ASSERT_TRUE(pool.ok());
  const FileKey key = FileKey::FromInode(3, 4);
  std::vector<uint8_t> batch;
  for (uint64_t i = 0; i < 300; ++i) {
    auto p = PageOf(i);
    batch.insert(batch.end(), p.begin(), p.end());
  }
  client->PutPages(*pool, key, 0, 300, batch);  // more than one shared area's worth
  std::vector<uint8_t> out(batch.size());
  std::vector<uint8_t> hit(300);
  EXPECT_EQ(client->GetPages(*pool, key, 0, 300, out, hit), 300u);
  EXPECT_EQ(out, batch);
  EXPECT_EQ(client->GetPages(*pool, key, 0, 300, out, hit), 0u);  // private gets are exclusive
  const auto page = PageOf(7);
  client->PutPage(*pool, key, 1000, page);
  client->InvalidatePage(*pool, key, 1000);
  std::vector<uint8_t> one(kPage);
  EXPECT_FALSE(client->GetPage(*pool, key, 1000, one));
  client->PutPage(*pool, key, 1001, page);
  client->InvalidateInode(*pool, key);
  EXPECT_FALSE(client->GetPage(*pool, key, 1001, one));
  client->PutPage(*pool, key, 1002, page);
  ASSERT_TRUE(client->GetPage(*pool, key, 1002, one));
  EXPECT_EQ(one, page);
  const auto stats = d.server().Stats();
  EXPECT_EQ(stats["daemon"]["hits"].get<uint64_t>(), 301u);
  client->ClosePool(*pool);
}

TEST(DaemonServer, AnotherClientCannotNameAPrivatePool) {
  DaemonHarness d;
  auto area_a = SharedArea::Create(1 << 20);
  auto area_b = SharedArea::Create(1 << 20);
  ASSERT_TRUE(area_a.ok() && area_b.ok());
  auto a = DaemonConnection::Connect(d.socket(), 5000, &*area_a);
  auto b = DaemonConnection::Connect(d.socket(), 5000, &*area_b);
  ASSERT_TRUE(a.ok() && b.ok());
  const uint64_t pool_a = RawOpenPool(**a);
  ASSERT_NE(pool_a, 0u);
  const auto page = PageOf(1);
  std::memcpy(area_a->bytes().data(), page.data(), kPage);
  const std::vector<uint8_t> key = {1, 2, 3, 4};
  ASSERT_EQ(RawPage(**a, Opcode::kPutPages, pool_a, 0, key)->status, WireStatus::kOk);
  // B asks for A's pool id: the daemon does not know it in B's session.
  auto stolen = RawPage(**b, Opcode::kGetPages, pool_a, 0, key);
  ASSERT_TRUE(stolen.ok());
  EXPECT_EQ(stolen->status, WireStatus::kNotFound);
  EXPECT_NE(std::memcmp(area_b->bytes().data(), page.data(), kPage), 0);
  // A still has it.
  auto mine = RawPage(**a, Opcode::kGetPages, pool_a, kPage, key);
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->status, WireStatus::kOk);
  EXPECT_EQ(std::memcmp(area_a->bytes().data() + kPage, page.data(), kPage), 0);
}

TEST(DaemonServer, SharedPoolIsSharedWithTheSameUid) {
  DaemonHarness d;
  auto a = Client(d);
  auto b = Client(d, "spin_us=20");  // also covers the polling reply reader
  PoolConfig config;
  config.shared = true;
  config.uuid = *Uuid::Parse("0123456789abcdef0123456789abcdef");
  auto pa = a->OpenPool(config);
  auto pb = b->OpenPool(config);
  ASSERT_TRUE(pa.ok() && pb.ok());
  const FileKey key = FileKey::FromInode(1, 2);
  const auto page = PageOf(5);
  a->PutPage(*pa, key, 9, page);
  std::vector<uint8_t> out(kPage);
  ASSERT_TRUE(b->GetPage(*pb, key, 9, out));
  EXPECT_EQ(out, page);
  ASSERT_TRUE(a->GetPage(*pa, key, 9, out));  // shared gets are not exclusive
  b->InvalidatePage(*pb, key, 9);
  EXPECT_FALSE(a->GetPage(*pa, key, 9, out));
}

TEST(DaemonServer, UnauthorisedSharedJoinIsRefused) {
  auto config = DaemonHarness::DefaultConfig();
  const std::string uuid = "fedcba98-7654-3210-fedc-ba9876543210";
  config.shared_pools[uuid].allow = {"uid:4242424"};
  DaemonHarness d(config);
  auto client = Client(d);
  PoolConfig pool;
  pool.shared = true;
  pool.uuid = *Uuid::Parse(uuid);
  auto refused = client->OpenPool(pool);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kPermissionDenied);
  EXPECT_NE(refused.status().message().find("not authorised"), std::string::npos);
  pool.uuid = *Uuid::Parse("00000000000000000000000000000001");  // no section: creator's uid may join
  EXPECT_TRUE(client->OpenPool(pool).ok());
}

TEST(DaemonServer, ASecondUidCannotJoinAnotherUidsSharedPool) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a client as a second uid";
  DaemonHarness d;
  auto owner = Client(d);
  PoolConfig pool;
  pool.shared = true;
  pool.uuid = *Uuid::Parse("00000000000000000000000000000002");
  auto id = owner->OpenPool(pool);
  ASSERT_TRUE(id.ok());
  owner->PutPage(*id, FileKey::FromInode(1, 1), 0, PageOf(1));
  const pid_t child = ::fork();
  if (child == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
    auto other = CreateBackend(d.Spec());
    if (!other.ok()) ::_exit(4);
    auto joined = (*other)->OpenPool(pool);
    ::_exit(!joined.ok() && joined.status().code() == Status::Code::kPermissionDenied ? 0 : 5);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(DaemonServer, MalformedFramesCloseOnlyThatConnection) {
  DaemonHarness d;
  auto good = Client(d);
  auto pool = good->OpenPool(PoolConfig{});
  ASSERT_TRUE(pool.ok());
  const FileKey key = FileKey::FromInode(1, 1);
  good->PutPage(*pool, key, 0, PageOf(1));

  struct Case {
    std::vector<uint8_t> bytes;
    const char* reason;
  };
  std::vector<Case> cases;
  cases.push_back({std::vector<uint8_t>(64, 0xAB), "bad magic"});
  std::vector<uint8_t> oversized;
  EncodeEmpty(&oversized, Opcode::kPing, 1);
  oversized[11] = 0x40;  // body_length = 1 GiB
  cases.push_back({oversized, "frame body above the size limit"});
  std::vector<uint8_t> before_hello;
  EncodeEmpty(&before_hello, Opcode::kPing, 1);
  cases.push_back({before_hello, "first request is not Hello"});
  std::vector<uint8_t> no_fd;
  EncodeHello(&no_fd, 1, 1 << 20);
  cases.push_back({no_fd, "passed no descriptor"});
  std::vector<uint8_t> bad_body;
  EncodeHello(&bad_body, 1, 0);
  EncodePages(&bad_body, Opcode::kGetPages, 2, 1, 0, 0, 0, 1, {});
  cases.push_back({bad_body, "page count is zero"});
  std::vector<uint8_t> no_area;
  EncodeHello(&no_area, 1, 0);
  EncodeOpenPool(&no_area, 2, kPage, false, {});
  cases.push_back({no_area, ""});
  for (const Case& c : cases) {
    const int fd = RawConnect(d.socket());
    ASSERT_EQ(::send(fd, c.bytes.data(), c.bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(c.bytes.size()));
    if (*c.reason != '\0') {
      EXPECT_TRUE(ClosedByDaemon(fd)) << c.reason;
      EXPECT_TRUE(WaitFor([&] { return d.LogContains(c.reason); })) << c.reason << "\n" << d.Log();
      EXPECT_TRUE(d.LogContains("[warning] ")) << d.Log();
    }
    ::close(fd);
  }
  // A page request that reaches outside the (absent) shared area.
  {
    auto conn = DaemonConnection::Connect(d.socket(), 5000, nullptr);
    ASSERT_TRUE(conn.ok());
    const uint64_t remote = RawOpenPool(**conn);
    ASSERT_NE(remote, 0u);
    EXPECT_FALSE(RawPage(**conn, Opcode::kGetPages, remote, 0, {}).ok());
    EXPECT_TRUE(WaitFor([&] { return d.LogContains("page request without a shared area"); }));
  }
  std::vector<uint8_t> out(kPage);
  ASSERT_TRUE(good->GetPage(*pool, key, 0, out));  // the well-behaved client never noticed
  EXPECT_EQ(out, PageOf(1));
  EXPECT_GE(d.server().Stats()["daemon"]["protocol_errors"].get<uint64_t>(), 5u);
}

TEST(DaemonServer, SharedAreaMustBeSealedAndWithinTheLimit) {
  auto config = DaemonHarness::DefaultConfig();
  config.max_shared_bytes = 1 << 20;
  DaemonHarness d(config);
  auto big = SharedArea::Create(2 << 20);
  ASSERT_TRUE(big.ok());
  auto refused = DaemonConnection::Connect(d.socket(), 5000, &*big);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("limit"), std::string::npos) << refused.status().message();

  // An unsealed memfd could be truncated under the daemon's mapping: refused.
  const int fd = ::memfd_create("unsealed", MFD_CLOEXEC);
  ASSERT_EQ(::ftruncate(fd, 1 << 16), 0);
  FrameSocket raw(RawConnect(d.socket()));
  std::vector<uint8_t> hello;
  EncodeHello(&hello, 1, 1 << 16);
  std::string error;
  ASSERT_TRUE(raw.WriteAll(hello, fd, &error));
  ::close(fd);
  FrameHeader header;
  std::span<const uint8_t> body;
  ASSERT_EQ(raw.ReadFrame(kMaxResponseBody, &header, &body, &error), FrameSocket::ReadResult::kFrame);
  EXPECT_EQ(header.status, static_cast<int32_t>(WireStatus::kInvalidArgument));
  EXPECT_NE(std::string(body.begin(), body.end()).find("sealed"), std::string::npos);
}

TEST(DaemonServer, ConnectionsBeyondMaxClientsAreRefused) {
  auto config = DaemonHarness::DefaultConfig();
  config.max_clients = 1;
  DaemonHarness d(config);
  auto first = Client(d);
  ASSERT_TRUE(first);
  auto second = CreateBackend(d.Spec());
  EXPECT_FALSE(second.ok());
  EXPECT_TRUE(WaitFor([&] { return d.LogContains("refusing a connection"); }));
  first.reset();
  EXPECT_TRUE(WaitFor([&] { return CreateBackend(d.Spec()).ok(); }));
}

TEST(DaemonServer, KilledClientMidBatchHasItsPagesFreed) {
  DaemonHarness d;
  auto survivor = Client(d);
  auto pool = survivor->OpenPool(PoolConfig{});
  ASSERT_TRUE(pool.ok());
  const pid_t child = ::fork();
  if (child == 0) {
    auto client = CreateBackend(d.Spec());
    if (!client.ok()) ::_exit(2);
    auto p = (*client)->OpenPool(PoolConfig{});
    std::vector<uint8_t> batch(64 * kPage, 0x5A);
    for (uint64_t i = 0; i < 1000000; ++i) (*client)->PutPages(*p, FileKey::FromInode(9, 9), i * 64, 64, batch);
    ::_exit(0);
  }
  const std::string tenant = "pid:" + std::to_string(child);
  auto tenant_pages = [&]() -> int64_t {
    const auto stats = d.server().Stats();
    for (const auto& t : stats["tenants"]) {
      if (t["name"] == tenant) return t["pages"].get<int64_t>();
    }
    return -1;
  };
  ASSERT_TRUE(WaitFor([&] { return tenant_pages() > 1000; })) << d.Log();
  ::kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WaitFor([&] { return tenant_pages() == -1; }));  // tenant, store and pages gone
  survivor->PutPage(*pool, FileKey::FromInode(1, 1), 0, PageOf(3));
  std::vector<uint8_t> out(kPage);
  ASSERT_TRUE(survivor->GetPage(*pool, FileKey::FromInode(1, 1), 0, out));
  EXPECT_EQ(out, PageOf(3));
}

TEST(DaemonServer, SeveralClientProcessesAtOnce) {
  DaemonHarness d;
  std::vector<pid_t> children;
  for (int c = 0; c < 4; ++c) {
    const pid_t child = ::fork();
    if (child == 0) {
      auto client = CreateBackend(d.Spec());
      if (!client.ok()) ::_exit(2);
      auto pool = (*client)->OpenPool(PoolConfig{});
      if (!pool.ok()) ::_exit(3);
      const FileKey key = FileKey::FromInode(7, static_cast<uint64_t>(c));
      std::vector<uint8_t> out(kPage);
      for (uint64_t i = 0; i < 500; ++i) {
        const auto page = PageOf(uint64_t(c) << 32 | i);
        (*client)->PutPage(*pool, key, i, page);
        if (!(*client)->GetPage(*pool, key, i, out) || out != page) ::_exit(4);
      }
      ::_exit(0);
    }
    children.push_back(child);
  }
  for (pid_t child : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  EXPECT_GE(d.server().Stats()["daemon"]["connections_total"].get<uint64_t>(), 4u);
}

TEST(DaemonServer, TwoTenantsWeightedOneToThreeSettleAtOneToThree) {
  // The children exist before the daemon starts, so their pids can name tenants.
  constexpr uint64_t kCapacity = 16ull << 20;
  auto config = DaemonHarness::DefaultConfig();
  config.capacity = kCapacity;
  config.backend = "zcache:segment=64K,shards=2";  // eviction granularity: 2 segments, not 8
  DaemonHarness d(config, {}, false);
  const std::string spec = d.Spec();
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  std::vector<pid_t> children;
  for (int c = 0; c < 2; ++c) {
    const pid_t child = ::fork();
    if (child == 0) {
      ::close(go[1]);
      char byte;
      if (::read(go[0], &byte, 1) != 1) ::_exit(2);
      auto client = CreateBackend(spec);
      if (!client.ok()) ::_exit(4);
      auto pool = (*client)->OpenPool(PoolConfig{});
      std::vector<uint8_t> batch;
      for (int i = 0; i < 64; ++i) {
        auto p = PageOf(uint64_t(c) << 40 | uint64_t(i));
        batch.insert(batch.end(), p.begin(), p.end());
      }
      // Three capacities' worth each, incompressible.
      for (uint64_t i = 0; i < 3 * kCapacity / (64 * kPage); ++i) {
        batch[0] = static_cast<uint8_t>(i);
        (*client)->PutPages(*pool, FileKey::FromInode(1, 1), i * 64, 64, batch);
      }
      ::pause();  // keep the pool alive until killed
      ::_exit(0);
    }
    children.push_back(child);
  }
  ::close(go[0]);
  d.config().tenants["pid:" + std::to_string(children[0])].weight = 1;
  d.config().tenants["pid:" + std::to_string(children[1])].weight = 3;
  d.Start();
  ASSERT_EQ(::write(go[1], "gg", 2), 2);
  auto memory = [&](pid_t pid) -> uint64_t {
    const auto stats = d.server().Stats();
    for (const auto& t : stats["tenants"]) {
      if (t["name"] == "pid:" + std::to_string(pid))
        return t["puts"].get<uint64_t>() >= 3 * kCapacity / kPage ? t["real_memory_bytes"].get<uint64_t>() + 1 : 0;
    }
    return 0;
  };
  const bool both_done =
      WaitFor([&] { return memory(children[0]) > 0 && memory(children[1]) > 0; }, std::chrono::seconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a few rebalance rounds
  const double a = static_cast<double>(memory(children[0]));
  const double b = static_cast<double>(memory(children[1]));
  for (pid_t child : children) {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
  }
  ::close(go[1]);
  ASSERT_TRUE(both_done) << d.Log();
  EXPECT_LE(a + b, static_cast<double>(kCapacity) * 1.02);
  EXPECT_GE(a + b, static_cast<double>(kCapacity) * 0.7);
  EXPECT_NEAR(a / (a + b), 0.25, 0.025) << "a=" << a << " b=" << b;
  std::cout << "occupancy a=" << a << " b=" << b << " a/(a+b)=" << a / (a + b) << "\n";
}

TEST(DaemonServer, DaemonRestartMeansMissesThenReconnection) {
  DaemonHarness d;
  auto client = Client(d);
  auto pool = client->OpenPool(PoolConfig{});
  ASSERT_TRUE(pool.ok());
  const FileKey key = FileKey::FromInode(1, 1);
  client->PutPage(*pool, key, 0, PageOf(1));
  const uint64_t old_epoch = d.server().epoch();
  d.Stop();
  std::vector<uint8_t> out(kPage);
  EXPECT_FALSE(client->GetPage(*pool, key, 0, out));  // daemon gone: a miss, not an error
  client->PutPage(*pool, key, 0, PageOf(2));          // dropped
  d.Start();
  EXPECT_NE(d.server().epoch(), old_epoch);
  EXPECT_FALSE(client->GetPage(*pool, key, 0, out));  // the new daemon is empty
  client->PutPage(*pool, key, 1, PageOf(3));
  ASSERT_TRUE(client->GetPage(*pool, key, 1, out));  // reconnected by itself
  EXPECT_EQ(out, PageOf(3));
  const auto stats = client->Stats();
  EXPECT_GE(stats.extra.at("tmem.connects"), 2u);
  EXPECT_GE(stats.dropped_puts, 1u);
}

TEST(DaemonServer, RestartUnderLoadServesNoStaleData) {
  DaemonHarness d;
  Cleancache cache;
  auto backend = CreateBackend(d.Spec());
  ASSERT_TRUE(backend.ok());
  ASSERT_TRUE(cache.RegisterBackend(std::move(*backend)).ok());
  const PoolId pool = cache.InitFs();
  ASSERT_GE(pool, 0);
  testing::WorkloadOptions options;
  options.threads = 3;
  options.time_limit = std::chrono::milliseconds(1500);
  testing::WorkloadReport report;
  std::thread load([&] { report = testing::RunOwnedKeysWorkload(cache, pool, kPage, true, true, options); });
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    d.Stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    d.Start();
  }
  load.join();
  EXPECT_TRUE(report.violations.empty()) << report.violations.front();
  EXPECT_GT(report.hits, 0u);
  EXPECT_GT(report.ops, 1000u);
}

TEST(DaemonServer, StatsOverTheSocketAndPrometheusMetrics) {
  auto config = DaemonHarness::DefaultConfig();
  config.metrics = "127.0.0.1:0";
  DaemonHarness d(config);
  auto client = Client(d);
  auto pool = client->OpenPool(PoolConfig{});
  const FileKey key = FileKey::FromInode(1, 1);
  std::vector<uint8_t> out(kPage);
  client->PutPage(*pool, key, 0, PageOf(1));
  ASSERT_TRUE(client->GetPage(*pool, key, 0, out));
  EXPECT_FALSE(client->GetPage(*pool, key, 0, out));
  auto text = FetchDaemonStats(d.socket(), 5000);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  const auto stats = nlohmann::json::parse(*text);
  const std::string me = "pid:" + std::to_string(::getpid());
  bool found = false;
  for (const auto& t : stats["tenants"]) {
    if (t["name"] != me) continue;
    found = true;
    EXPECT_EQ(t["hits"], 1);
    EXPECT_EQ(t["misses"], 1);
    EXPECT_EQ(t["weight"], 1);
    EXPECT_EQ(t["share_bytes"], config.capacity);
  }
  EXPECT_TRUE(found) << *text;
  EXPECT_NE(StatsTable(stats).find(me), std::string::npos);

  // Scraped over loopback and read line by line as Prometheus would.
  ASSERT_NE(d.server().metrics_port(), 0);
  auto reply = testing::HttpGet(d.server().metrics_port(), "/metrics");
  ASSERT_EQ(reply.status, 200);
  EXPECT_NE(reply.content_type.find("version=0.0.4"), std::string::npos) << reply.content_type;
  auto before = testing::CheckExposition(reply.body);
  ASSERT_TRUE(before.error.empty()) << before.error << "\n" << reply.body;
  const std::string tenant = "{tenant=\"" + me + "\"}";
  EXPECT_EQ(before.Value("cleancached_tenant_hits_total" + tenant), 1) << reply.body;
  EXPECT_EQ(before.Value("cleancached_hits_total"), 1) << reply.body;
  EXPECT_EQ(before.Value("cleancached_misses_total"), 1);
  EXPECT_EQ(before.Value("cleancached_puts_total"), 1);
  EXPECT_EQ(before.Value("cleancached_evictions_total"), 0);
  EXPECT_EQ(before.types.at("cleancached_hits_total"), "counter");
  EXPECT_EQ(before.types.at("cleancached_real_memory_bytes"), "gauge");
  EXPECT_EQ(before.Value(std::string("cleancached_build_info{version=\"") + Version() + "\",revision=\"" +
                         BuildRevision() + "\"}"),
            1)
      << reply.body;
  // Traffic moves the counters.
  for (uint64_t i = 1; i <= 5; ++i) client->PutPage(*pool, key, i, PageOf(i));
  for (uint64_t i = 1; i <= 5; ++i) EXPECT_TRUE(client->GetPage(*pool, key, i, out));
  EXPECT_FALSE(client->GetPage(*pool, key, 99, out));
  auto after = testing::CheckExposition(testing::HttpGet(d.server().metrics_port(), "/metrics").body);
  ASSERT_TRUE(after.error.empty()) << after.error;
  EXPECT_EQ(after.Value("cleancached_hits_total"), 6);
  EXPECT_EQ(after.Value("cleancached_misses_total"), 2);
  EXPECT_EQ(after.Value("cleancached_puts_total"), 6);
  EXPECT_EQ(after.Value("cleancached_tenant_hits_total" + tenant), 6);
  EXPECT_GT(after.Value("cleancached_real_memory_bytes"), 0);
  EXPECT_EQ(testing::HttpGet(d.server().metrics_port(), "/other").status, 404);
}

// A tenant's miss-ratio sizing, when its stats carry one, is shown in the
// table and exported as gauges (a hand-made snapshot: the figures themselves
// are the miss-ratio code's business).
TEST(DaemonStatsReport, SizingSectionIsShownAndExportedWhenPresent) {
  nlohmann::json stats = {{"schema_version", 1},
                          {"daemon", {{"capacity_bytes", 1u << 30}, {"tenants", 2}, {"tenant_by", "uid"}}},
                          {"tenants",
                           {{{"name", "uid:1000"},
                             {"sizing",
                              {{"memory_for_90pct_bytes", 64u << 20},
                               {"memory_for_95pct_bytes", 96u << 20},
                               {"memory_for_99pct_bytes", 200u << 20},
                               {"best_hit_ratio", 0.8},
                               {"hit_ratio_now", 0.5},
                               {"capacity_bytes", 32u << 20}}}},
                            {{"name", "uid:0"}}}}};
  const std::string table = StatsTable(stats);
  const auto at = table.find("sizing");
  ASSERT_NE(at, std::string::npos) << table;
  const std::string sizing = table.substr(at);
  EXPECT_NE(sizing.find("uid:1000"), std::string::npos) << table;
  EXPECT_NE(sizing.find("64 MiB"), std::string::npos) << table;
  EXPECT_NE(sizing.find("80.0%"), std::string::npos) << table;
  EXPECT_EQ(sizing.find("uid:0 "), std::string::npos) << "a tenant without sizing gets no row\n" << table;
  const auto e = testing::CheckExposition(MetricsText(stats));
  ASSERT_TRUE(e.error.empty()) << e.error;
  EXPECT_EQ(e.Value("cleancached_tenant_sizing_memory_for_90pct_bytes{tenant=\"uid:1000\"}"), 64u << 20);
  EXPECT_EQ(e.Value("cleancached_tenant_sizing_best_hit_ratio{tenant=\"uid:1000\"}"), 0.8);
  EXPECT_EQ(e.Value("cleancached_tenant_sizing_best_hit_ratio{tenant=\"uid:0\"}"), -1);
  stats["tenants"][0].erase("sizing");
  EXPECT_EQ(StatsTable(stats).find("sizing"), std::string::npos);
  EXPECT_EQ(MetricsText(stats).find("sizing"), std::string::npos);
}

TEST(DaemonServer, TenantThatCyclesPastItsMemoryGetsASizingSection) {
  auto config = DaemonHarness::DefaultConfig();
  config.capacity = 4ull << 20;
  config.backend = "zcache:segment=64K,shards=1";
  DaemonHarness d(config);
  auto client = Client(d);
  auto pool = client->OpenPool(PoolConfig{});
  const FileKey key = FileKey::FromInode(1, 1);
  std::vector<uint8_t> batch;
  for (uint64_t i = 0; i < 64; ++i) {
    auto p = PageOf(i);
    batch.insert(batch.end(), p.begin(), p.end());
  }
  std::vector<uint8_t> out(batch.size()), hit(64);
  // A working set of 8 MiB (2048 pages) read in a loop through 4 MiB.
  for (int round = 0; round < 12; ++round) {  // enough rounds that cold misses are < 10%
    for (uint64_t first = 0; first < 2048; first += 64) {
      client->GetPages(*pool, key, first, 64, out, hit);
      client->PutPages(*pool, key, first, 64, batch);
    }
  }
  const auto stats = d.server().Stats();
  const std::string me = "pid:" + std::to_string(::getpid());
  for (const auto& t : stats["tenants"]) {
    if (t["name"] != me) continue;
    ASSERT_TRUE(t["memory_for_90pct_bytes"].is_number()) << t.dump();
    EXPECT_GT(t["memory_for_90pct_bytes"].get<uint64_t>(), 6ull << 20) << t.dump();
    EXPECT_LT(t["memory_for_90pct_bytes"].get<uint64_t>(), 20ull << 20) << t.dump();
    // The curve's section: a loop of 8 MiB hits nothing in 4 MiB (LRU) and
    // all but the first round's cold misses once it fits.
    const auto& sizing = t.at("sizing");
    EXPECT_EQ(sizing["memory_for_90pct_bytes"], t["memory_for_90pct_bytes"]);
    EXPECT_EQ(sizing["capacity_bytes"], t["share_bytes"]);
    EXPECT_GT(sizing["best_hit_ratio"].get<double>(), 0.8) << sizing.dump();
    EXPECT_LT(sizing["hit_ratio_now"].get<double>(), 0.3) << sizing.dump();
    EXPECT_GE(sizing["memory_for_95pct_bytes"].get<uint64_t>(), sizing["memory_for_90pct_bytes"].get<uint64_t>());
    EXPECT_GE(sizing["memory_for_99pct_bytes"].get<uint64_t>(), sizing["memory_for_95pct_bytes"].get<uint64_t>());
    EXPECT_EQ(sizing["reads"].get<uint64_t>(), 12u * 2048);
    // And as Prometheus gauges (docs/STATS.md: cleancached_tenant_sizing_*).
    const auto e = testing::CheckExposition(MetricsText(stats));
    ASSERT_TRUE(e.error.empty()) << e.error;
    for (const char* field : {"memory_for_90pct_bytes", "memory_for_95pct_bytes", "memory_for_99pct_bytes",
                              "best_hit_ratio", "hit_ratio_now"}) {
      const std::string series = std::string("cleancached_tenant_sizing_") + field + "{tenant=\"" + me + "\"}";
      EXPECT_DOUBLE_EQ(e.Value(series), sizing[field].get<double>()) << series;
    }
    return;
  }
  FAIL() << "tenant not found: " << stats.dump();
}

TEST(DaemonServer, StartRefusesABusySocketAndBadBackend) {
  DaemonHarness d;
  ServerOptions options;
  options.config = DaemonHarness::DefaultConfig();
  options.config.socket_path = d.socket();
  auto second = Server::Start(options);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kBusy);
  options.config.socket_path = d.socket() + ".other";
  options.config.backend = "zcache:codec=nonsense";
  auto bad = Server::Start(options);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("codec"), std::string::npos) << bad.status().message();
}

TEST(DaemonServer, ClientCreationFailsClearlyWithoutADaemon) {
  auto missing = CreateBackend("tmem:/nonexistent/dir/tmem.sock");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("cannot reach cleancached"), std::string::npos);
  auto lazy = CreateBackend("tmem:/nonexistent/dir/tmem.sock?connect=lazy");
  ASSERT_TRUE(lazy.ok());
  auto pool = (*lazy)->OpenPool(PoolConfig{});
  ASSERT_TRUE(pool.ok());  // bound when the daemon appears
  std::vector<uint8_t> out(kPage);
  EXPECT_FALSE((*lazy)->GetPage(*pool, FileKey::FromInode(1, 1), 0, out));
  EXPECT_FALSE(CreateBackend("tmem:relative.sock").ok());
  EXPECT_FALSE(CreateBackend("tmem:/x.sock?shm=1K").ok());
  EXPECT_FALSE(CreateBackend("tmem:/x.sock?color=red").ok());
}

// ---- tenant accounting: keep-on-get pools, caps, dropped puts, shares ----

std::string MyUid() { return "uid:" + std::to_string(::geteuid()); }

// The stats row of tenant `name`, or null.
nlohmann::json TenantRow(const nlohmann::json& stats, const std::string& name) {
  for (const auto& t : stats["tenants"]) {
    if (t["name"] == name) return t;
  }
  return nullptr;
}

// Puts `pages` incompressible pages at indexes from `first`, 64 per batch.
void FillPool(Backend& client, BackendPoolId pool, uint64_t first, uint64_t pages) {
  std::vector<uint8_t> batch;
  for (uint64_t i = 0; i < 64; ++i) {
    auto p = PageOf(1000 + i);
    batch.insert(batch.end(), p.begin(), p.end());
  }
  for (uint64_t done = 0; done < pages; done += 64) {
    std::memcpy(batch.data(), &done, sizeof(done));  // every batch differs
    const uint64_t n = std::min<uint64_t>(64, pages - done);
    client.PutPages(pool, FileKey::FromInode(7, 7), first + done, n, std::span<const uint8_t>(batch.data(), n * kPage));
  }
}

PoolConfig SharedPoolConfig(const std::string& uuid) {
  PoolConfig config;
  config.shared = true;
  config.uuid = *Uuid::Parse(uuid);
  return config;
}

// Tenants by uid, zcache at its default 1 MiB segments, the caller's uid
// capped at `cap`.
DaemonConfig CappedUidConfig(uint64_t cap) {
  auto config = DaemonHarness::DefaultConfig();
  config.tenant_by = TenantBy::kUid;
  config.backend = "zcache";
  if (cap != 0) config.tenants[MyUid()].cap = cap;
  return config;
}

// A pool whose gets keep the page (a kernel-mode mount's) is its uid's
// tenant, under its cap, whether it is private with keep_on_get or shared
// with nobody (a random UUID, as mounts did before keep_on_get).
void ExpectKeepOnGetPoolCountsAgainstItsCreatorsUidAndCap(const PoolConfig& config) {
  constexpr uint64_t kCap = 8ull << 20;
  DaemonHarness d(CappedUidConfig(kCap));
  auto client = Client(d);
  auto pool = client->OpenPool(config);
  ASSERT_TRUE(pool.ok());
  FillPool(*client, *pool, 0, 4096);  // 16 MiB of incompressible pages
  const FileKey key = FileKey::FromInode(7, 7);
  const auto page = PageOf(99);
  client->PutPage(*pool, key, 1u << 20, page);
  std::vector<uint8_t> out(kPage);
  ASSERT_TRUE(client->GetPage(*pool, key, 1u << 20, out));
  ASSERT_TRUE(client->GetPage(*pool, key, 1u << 20, out));  // still there: gets keep the page
  EXPECT_EQ(out, page);
  const auto stats = d.server().Stats();
  for (const auto& t : stats["tenants"]) EXPECT_FALSE(t["name"].get<std::string>().starts_with("shared:")) << t.dump();
  const auto row = TenantRow(stats, MyUid());
  ASSERT_FALSE(row.is_null()) << stats.dump(2);
  EXPECT_EQ(row["cap_bytes"], kCap);
  EXPECT_EQ(row["puts"], 4097u);
  EXPECT_LE(row["real_memory_bytes"].get<uint64_t>(), kCap);
  EXPECT_GT(row["pages"].get<uint64_t>(), 0u);
  EXPECT_GT(row["evictions"].get<uint64_t>(), 0u);
  EXPECT_EQ(row["hits"], 2u);
}

TEST(DaemonTenants, KeepOnGetPrivatePoolCountsAgainstItsCreatorsUidAndCap) {
  ExpectKeepOnGetPoolCountsAgainstItsCreatorsUidAndCap(
      PoolConfig{.page_size = kPage, .shared = false, .uuid = {}, .keep_on_get = true});
}

TEST(DaemonTenants, KeepOnGetPoolSharedWithNobodyCountsAgainstItsCreatorsUidAndCap) {
  ExpectKeepOnGetPoolCountsAgainstItsCreatorsUidAndCap(SharedPoolConfig("5a1d7e3c-0b9f-4e2a-8c61-3f0d9b7a2e15"));
}

// Every put is stored, evicted later or counted as dropped, also under a cap
// far below the store's default size (a store built at 256M then capped at
// 8M had shards too small for one segment and kept nothing, silently).
TEST(DaemonTenants, PutsBeyondACapEvictAndEveryPutIsAccountedFor) {
  constexpr uint64_t kCap = 8ull << 20;
  DaemonHarness d(CappedUidConfig(kCap));
  auto client = Client(d);
  auto pool = client->OpenPool(PoolConfig{});
  ASSERT_TRUE(pool.ok());
  FillPool(*client, *pool, 0, 6144);  // 24 MiB: three caps' worth
  const auto row = TenantRow(d.server().Stats(), MyUid());
  ASSERT_FALSE(row.is_null());
  EXPECT_EQ(row["puts"], 6144u);
  EXPECT_GT(row["pages"].get<uint64_t>(), 1024u) << row.dump();  // at least half the cap holds pages
  EXPECT_LE(row["real_memory_bytes"].get<uint64_t>(), kCap);
  EXPECT_GT(row["evictions"].get<uint64_t>(), 0u);
  EXPECT_EQ(row["pages"].get<uint64_t>() + row["evictions"].get<uint64_t>() + row["dropped_puts"].get<uint64_t>(),
            6144u)
      << row.dump();
}

TEST(DaemonTenants, DroppedPutsAreCountedInStatsTableAndMetrics) {
  auto config = DaemonHarness::DefaultConfig();
  config.backend = "zcache:segment=64K,incompressible=reject";
  DaemonHarness d(config);
  auto client = Client(d);
  auto pool = client->OpenPool(PoolConfig{});
  ASSERT_TRUE(pool.ok());
  FillPool(*client, *pool, 0, 64);  // incompressible: all refused by the store
  // A put naming a pool the session does not have reaches no tenant.
  auto area = SharedArea::Create(1 << 20);
  ASSERT_TRUE(area.ok());
  auto raw = DaemonConnection::Connect(d.socket(), 5000, &*area);
  ASSERT_TRUE(raw.ok());
  auto refused = RawPage(**raw, Opcode::kPutPages, 0xdead, 0, {1, 2, 3});
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, WireStatus::kNotFound);
  const auto stats = d.server().Stats();
  const std::string me = "pid:" + std::to_string(::getpid());
  const auto row = TenantRow(stats, me);
  ASSERT_FALSE(row.is_null());
  EXPECT_EQ(row["dropped_puts"], 64u);
  EXPECT_EQ(row["rejected_puts"], 64u);
  EXPECT_EQ(row["pages"], 0u);
  EXPECT_EQ(stats["daemon"]["refused_puts"], 1u);
  EXPECT_EQ(stats["daemon"]["dropped_puts"], 65u);
  EXPECT_NE(StatsTable(stats).find("DROPPED"), std::string::npos);
  EXPECT_NE(StatsTable(stats).find("65 puts dropped"), std::string::npos) << StatsTable(stats);
  const std::string metrics = MetricsText(stats);
  EXPECT_NE(metrics.find("cleancached_tenant_dropped_puts_total{tenant=\"" + me + "\"} 64"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("cleancached_dropped_puts_total 65"), std::string::npos) << metrics;
}

TEST(DaemonTenants, ShareShownIsTheEnforcedOneAtMostTheCap) {
  auto config = DaemonHarness::DefaultConfig();  // 64 MiB
  const std::string me = "pid:" + std::to_string(::getpid());
  config.tenants[me].cap = 8ull << 20;
  DaemonHarness d(config);
  auto client = Client(d);
  auto pool = client->OpenPool(PoolConfig{});
  ASSERT_TRUE(pool.ok());
  client->PutPage(*pool, FileKey::FromInode(1, 1), 0, PageOf(1));
  const auto stats = d.server().Stats();
  const auto row = TenantRow(stats, me);
  ASSERT_FALSE(row.is_null());
  EXPECT_EQ(row["share_bytes"], 8ull << 20);  // not 64 MiB: it may never hold more than its cap
  const std::string table = StatsTable(stats);
  const auto line = table.find(me);
  ASSERT_NE(line, std::string::npos);
  EXPECT_NE(table.substr(line, table.find('\n', line) - line).find("8 MiB"), std::string::npos) << table;
  EXPECT_NE(MetricsText(stats).find("cleancached_tenant_share_bytes{tenant=\"" + me + "\"} 8388608"),
            std::string::npos);
}

TEST(DaemonTenants, SharedPoolWithItsOwnWeightOrCapIsItsOwnTenant) {
  auto config = DaemonHarness::DefaultConfig();
  const std::string uuid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
  config.shared_pools[uuid].policy.cap = 4ull << 20;
  config.shared_pools[uuid].own_tenant = true;
  DaemonHarness d(config);
  auto client = Client(d);
  auto id = client->OpenPool(SharedPoolConfig(uuid));
  ASSERT_TRUE(id.ok());
  FillPool(*client, *id, 0, 2048);
  const auto row = TenantRow(d.server().Stats(), "shared:" + uuid);
  ASSERT_FALSE(row.is_null());
  EXPECT_EQ(row["cap_bytes"], 4ull << 20);
  EXPECT_LE(row["real_memory_bytes"].get<uint64_t>(), 4ull << 20);
}

TEST(DaemonServer, ReloadAppliesNewCapsToLiveTenantsAndKeepsTheOldConfigWhenInvalid) {
  constexpr uint64_t kCap = 8ull << 20;
  DaemonHarness d(CappedUidConfig(0));
  auto client = Client(d);
  auto pool = client->OpenPool(PoolConfig{});
  ASSERT_TRUE(pool.ok());
  FillPool(*client, *pool, 0, 4096);  // 16 MiB, no cap yet
  EXPECT_GT(TenantRow(d.server().Stats(), MyUid())["real_memory_bytes"].get<uint64_t>(), kCap);

  DaemonConfig file = d.config();
  file.tenants[MyUid()] = TenantPolicy{3, kCap};
  file.capacity = 128ull << 20;  // not reloadable: logged and kept
  ASSERT_TRUE(d.server().Reload(file).ok()) << d.Log();
  auto row = TenantRow(d.server().Stats(), MyUid());
  EXPECT_EQ(row["cap_bytes"], kCap);
  EXPECT_EQ(row["weight"], 3u);
  EXPECT_EQ(row["share_bytes"], kCap);
  EXPECT_LE(row["real_memory_bytes"].get<uint64_t>(), kCap);  // shrunk at once
  EXPECT_TRUE(d.LogContains(MyUid() + ": weight 1 -> 3, cap none -> 8 MiB")) << d.Log();
  EXPECT_TRUE(d.LogContains("capacity")) << d.Log();
  EXPECT_TRUE(d.LogContains("needs a restart")) << d.Log();
  // Each line carries its level: what is kept is a warning, what is applied info.
  EXPECT_TRUE(d.LogContains("[warning] reload: capacity")) << d.Log();
  EXPECT_TRUE(d.LogContains("[info] reload: tenant " + MyUid())) << d.Log();
  EXPECT_EQ(d.server().Stats()["daemon"]["capacity_bytes"], d.config().capacity);
  // Puts go on within the lowered cap: over it by at most the pages between
  // two of the governor's samples (64) and a segment's populate step.
  FillPool(*client, *pool, 1u << 20, 4096);
  EXPECT_LE(TenantRow(d.server().Stats(), MyUid())["real_memory_bytes"].get<uint64_t>(), kCap + (1u << 20));

  DaemonConfig bad = file;
  bad.tenants[MyUid()].cap = 100 << 10;  // below the smallest zcache
  EXPECT_FALSE(d.server().Reload(bad).ok());
  EXPECT_TRUE(d.LogContains("keeping the old one")) << d.Log();
  EXPECT_EQ(TenantRow(d.server().Stats(), MyUid())["cap_bytes"], kCap);
  // A new connection of the tenant still works under the kept config.
  auto second = Client(d);
  auto other = second->OpenPool(PoolConfig{});
  ASSERT_TRUE(other.ok());
}

}  // namespace
}  // namespace cleancache::daemon
