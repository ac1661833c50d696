// A request the client gave up on (its reply did not come within timeout_ms)
// may still be running in the daemon after the client reconnected: that
// session's thread was only slow, not gone. Its page bytes must never mix
// with the new connection's: a late get must not overwrite pages the client
// is about to copy out, and a late put must not read pages the client wrote
// for a later request (it would store them under the old key: wrong data).
//
// The store below makes "slow" deterministic: the first call for the stalled
// key waits until the later request's last page is in, then finishes while
// that later request is still in the daemon, i.e. in the worst window.
// Waits are bounded so that a broken daemon fails the test instead of hanging it.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "accounted_store.h"
#include "cleancache/backend_spec.h"
#include "daemon_harness.h"

namespace cleancache::daemon {
namespace {

using testing::AccountedStore;
using testing::DaemonHarness;
constexpr uint32_t kPage = 4096;
// shm=64K holds exactly this many pages, so every batch the client sends uses
// the whole area: the two requests below meet at the same bytes if they
// share the area at all.
constexpr uint32_t kBatch = 16;
constexpr auto kBound = std::chrono::seconds(20);

struct StallScript {
  enum class Stall { kGet, kPut };
  explicit StallScript(Stall what) : what(what) {}
  const Stall what;  // which call of `stalled` stalls, and which of `later` resumes it
  FileKey stalled = FileKey::FromInode(9, 1);
  FileKey later = FileKey::FromInode(9, 2);
  std::mutex mutex;
  std::condition_variable changed;
  bool stall_used = false;
  bool resume = false;
  bool stalled_done = false;

  // The first call for `stalled` waits here until `later`'s last page.
  void MaybeStall() {
    std::unique_lock lock(mutex);
    if (stall_used) return;
    stall_used = true;
    changed.wait_for(lock, kBound, [this] { return resume; });
  }
  void StalledFinished() {
    std::lock_guard lock(mutex);
    stalled_done = true;
    changed.notify_all();
  }
  bool Done() {
    std::lock_guard lock(mutex);
    return stalled_done;
  }
  // On `later`'s last page: let the stalled call finish, and wait for it.
  void ResumeStalledAndWait() {
    std::unique_lock lock(mutex);
    resume = true;
    changed.notify_all();
    changed.wait_for(lock, kBound, [this] { return stalled_done; });
  }
};

class StallingStore final : public Backend {
 public:
  explicit StallingStore(std::shared_ptr<StallScript> script, uint64_t capacity)
      : script_(std::move(script)), inner_(capacity) {}

  std::string Name() const override { return "stalling-test-double"; }
  Result<BackendPoolId> OpenPool(const PoolConfig& config) override { return inner_.OpenPool(config); }
  void ClosePool(BackendPoolId pool) override { inner_.ClosePool(pool); }
  bool GetPage(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<uint8_t> page) override {
    const bool scripted = script_->what == StallScript::Stall::kGet;
    if (scripted && key == script_->stalled) {
      script_->MaybeStall();
      std::memset(page.data(), 0xEE, page.size());  // bytes of the late reply
      if (index == kBatch - 1) script_->StalledFinished();
      return true;
    }
    const bool hit = inner_.GetPage(pool, key, index, page);
    if (scripted && key == script_->later && index == kBatch - 1) script_->ResumeStalledAndWait();
    return hit;
  }
  void PutPage(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<const uint8_t> page) override {
    const bool scripted = script_->what == StallScript::Stall::kPut;
    if (scripted && key == script_->stalled) script_->MaybeStall();
    inner_.PutPage(pool, key, index, page);  // reads the page bytes only now
    if (scripted && key == script_->stalled && index == kBatch - 1) script_->StalledFinished();
    if (scripted && key == script_->later && index == kBatch - 1) script_->ResumeStalledAndWait();
  }
  void InvalidatePage(BackendPoolId pool, const FileKey& key, uint64_t index) override {
    inner_.InvalidatePage(pool, key, index);
  }
  void InvalidateInode(BackendPoolId pool, const FileKey& key) override { inner_.InvalidateInode(pool, key); }
  BackendStats Stats() const override { return inner_.Stats(); }
  uint64_t Shrink(uint64_t target) override { return inner_.Shrink(target); }
  void SetCapacity(uint64_t capacity) override { inner_.SetCapacity(capacity); }

 private:
  std::shared_ptr<StallScript> script_;
  AccountedStore inner_;
};

std::vector<uint8_t> Pages(uint8_t fill) { return std::vector<uint8_t>(size_t{kBatch} * kPage, fill); }

struct LateRequestFixture {
  explicit LateRequestFixture(StallScript::Stall what)
      : script(std::make_shared<StallScript>(what)),
        daemon(DaemonHarness::DefaultConfig(), [s = script](uint64_t capacity) -> Result<std::unique_ptr<Backend>> {
          return std::unique_ptr<Backend>(std::make_unique<StallingStore>(s, capacity));
        }) {
    // A short timeout makes the stalled request one the client gives up on.
    auto backend = CreateBackend("tmem:" + daemon.socket() + "?timeout_ms=300&reconnect_ms=0&shm=64K");
    EXPECT_TRUE(backend.ok()) << backend.status().ToString();
    if (backend.ok()) client = std::move(*backend);
  }
  std::shared_ptr<StallScript> script;
  DaemonHarness daemon;
  std::unique_ptr<Backend> client;
};

TEST(DaemonLateRequest, ALateGetNeverWritesIntoALaterReply) {
  LateRequestFixture f(StallScript::Stall::kGet);
  ASSERT_TRUE(f.client);
  auto pool = f.client->OpenPool(PoolConfig{});
  ASSERT_TRUE(pool.ok());
  std::vector<uint8_t> out(size_t{kBatch} * kPage), hit(kBatch);
  // The daemon stalls on this get; the client times out: a miss.
  EXPECT_EQ(f.client->GetPages(*pool, f.script->stalled, 0, kBatch, out, hit), 0u);
  // Next calls go through a new connection (new session, new private pool).
  const auto written = Pages(0x11);
  f.client->PutPages(*pool, f.script->later, 0, kBatch, written);
  ASSERT_EQ(f.client->GetPages(*pool, f.script->later, 0, kBatch, out, hit), kBatch);
  EXPECT_TRUE(f.script->Done()) << "the stalled get never finished: the test did not test";
  EXPECT_EQ(out, written) << "bytes of the get the client gave up on reached a later reply";
}

TEST(DaemonLateRequest, ALatePutNeverStoresBytesOfALaterRequest) {
  LateRequestFixture f(StallScript::Stall::kPut);
  ASSERT_TRUE(f.client);
  PoolConfig config;  // shared, so the late put lands where a later get can see it
  config.shared = true;
  config.uuid = *Uuid::Parse("5eed5eed5eed5eed5eed5eed5eed5eed");
  auto pool = f.client->OpenPool(config);
  ASSERT_TRUE(pool.ok());
  const auto stalled_bytes = Pages(0x22);
  f.client->PutPages(*pool, f.script->stalled, 0, kBatch, stalled_bytes);  // stalls; the client gives up
  f.client->PutPages(*pool, f.script->later, 0, kBatch, Pages(0x33));      // new connection
  EXPECT_TRUE(f.script->Done()) << "the stalled put never finished: the test did not test";
  std::vector<uint8_t> out(size_t{kBatch} * kPage), hit(kBatch);
  f.client->GetPages(*pool, f.script->stalled, 0, kBatch, out, hit);
  for (uint32_t i = 0; i < kBatch; ++i) {
    if (hit[i] == 0) continue;  // a miss is always allowed
    EXPECT_EQ(std::memcmp(out.data() + size_t{i} * kPage, stalled_bytes.data(), kPage), 0)
        << "page " << i << " of the late put holds bytes of a later request";
  }
}

}  // namespace
}  // namespace cleancache::daemon
