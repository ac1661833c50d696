// The backend contract suite, run against the tmem client talking to a
// daemon that each test starts for itself (so shared pools start empty).
#include <memory>

#include "cleancache/backend_spec.h"
#include "daemon_harness.h"
#include "support/contract_suite.h"

namespace cleancache::testing {
namespace {

// Owns a daemon and a client of it; the client goes first.
class DaemonAndClient : public Backend {
 public:
  DaemonAndClient(std::unique_ptr<DaemonHarness> daemon, std::unique_ptr<Backend> client)
      : daemon_(std::move(daemon)), client_(std::move(client)) {}
  ~DaemonAndClient() override { client_.reset(); }
  std::string Name() const override { return client_->Name(); }
  Result<BackendPoolId> OpenPool(const PoolConfig& c) override { return client_->OpenPool(c); }
  void ClosePool(BackendPoolId p) override { client_->ClosePool(p); }
  bool GetPage(BackendPoolId p, const FileKey& k, uint64_t i, std::span<uint8_t> page) override {
    return client_->GetPage(p, k, i, page);
  }
  void PutPage(BackendPoolId p, const FileKey& k, uint64_t i, std::span<const uint8_t> page) override {
    client_->PutPage(p, k, i, page);
  }
  void InvalidatePage(BackendPoolId p, const FileKey& k, uint64_t i) override { client_->InvalidatePage(p, k, i); }
  void InvalidateInode(BackendPoolId p, const FileKey& k) override { client_->InvalidateInode(p, k); }
  size_t GetPages(BackendPoolId p, const FileKey& k, uint64_t first, size_t count, std::span<uint8_t> pages,
                  std::span<uint8_t> hit) override {
    return client_->GetPages(p, k, first, count, pages, hit);
  }
  void PutPages(BackendPoolId p, const FileKey& k, uint64_t first, size_t count,
                std::span<const uint8_t> pages) override {
    client_->PutPages(p, k, first, count, pages);
  }
  BackendStats Stats() const override { return client_->Stats(); }

 private:
  std::unique_ptr<DaemonHarness> daemon_;
  std::unique_ptr<Backend> client_;
};

Result<std::unique_ptr<Backend>> MakeTmem() {
  auto daemon = std::make_unique<DaemonHarness>();
  auto client = CreateBackend(daemon->Spec());
  if (!client.ok()) return client.status();
  return std::unique_ptr<Backend>(std::make_unique<DaemonAndClient>(std::move(daemon), std::move(*client)));
}

INSTANTIATE_TEST_SUITE_P(Tmem, BackendContractTest, ::testing::Values(BackendFactory{"tmem", MakeTmem}),
                         BackendFactoryName);

}  // namespace
}  // namespace cleancache::testing
