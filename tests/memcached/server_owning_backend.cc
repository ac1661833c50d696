#include "memcached/server_owning_backend.h"

#include "cleancache/backend_spec.h"

namespace cleancache::testing {
namespace {

class ServerOwningBackend final : public Backend {
 public:
  ServerOwningBackend(std::unique_ptr<MemcachedServer> server, std::unique_ptr<Backend> backend)
      : server_(std::move(server)), backend_(std::move(backend)) {}
  ~ServerOwningBackend() override { backend_.reset(); }  // the client goes before its server

  std::string Name() const override { return backend_->Name(); }
  Result<BackendPoolId> OpenPool(const PoolConfig& config) override { return backend_->OpenPool(config); }
  void ClosePool(BackendPoolId pool) override { backend_->ClosePool(pool); }
  bool GetPage(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<uint8_t> page) override {
    return backend_->GetPage(pool, key, index, page);
  }
  void PutPage(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<const uint8_t> page) override {
    backend_->PutPage(pool, key, index, page);
  }
  void InvalidatePage(BackendPoolId pool, const FileKey& key, uint64_t index) override {
    backend_->InvalidatePage(pool, key, index);
  }
  void InvalidateInode(BackendPoolId pool, const FileKey& key) override { backend_->InvalidateInode(pool, key); }
  size_t GetPages(BackendPoolId pool, const FileKey& key, uint64_t first, size_t count, std::span<uint8_t> pages,
                  std::span<uint8_t> hit) override {
    return backend_->GetPages(pool, key, first, count, pages, hit);
  }
  void PutPages(BackendPoolId pool, const FileKey& key, uint64_t first, size_t count,
                std::span<const uint8_t> pages) override {
    backend_->PutPages(pool, key, first, count, pages);
  }
  BackendStats Stats() const override { return backend_->Stats(); }

 private:
  std::unique_ptr<MemcachedServer> server_;
  std::unique_ptr<Backend> backend_;
};

}  // namespace

Result<std::unique_ptr<Backend>> BackendWithOwnServer(
    const std::function<std::string(const MemcachedServer&)>& spec_for) {
  std::unique_ptr<MemcachedServer> server = MemcachedServer::Start();
  if (!server) return Status::IOError("cannot start /usr/bin/memcached");
  auto backend = CreateBackend(spec_for(*server));
  if (!backend.ok()) return backend.status();
  return std::unique_ptr<Backend>(std::make_unique<ServerOwningBackend>(std::move(server), std::move(backend.value())));
}

}  // namespace cleancache::testing
