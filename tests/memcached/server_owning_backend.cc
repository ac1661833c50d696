#include "memcached/server_owning_backend.h"

#include "cleancache/backend_spec.h"
#include "support/owning_backend.h"

namespace cleancache::testing {

Result<std::unique_ptr<Backend>> BackendWithOwnServer(
    const std::function<std::string(const MemcachedServer&)>& spec_for) {
  std::unique_ptr<MemcachedServer> server = MemcachedServer::Start();
  if (!server) return Status::IOError("cannot start /usr/bin/memcached");
  auto backend = CreateBackend(spec_for(*server));
  if (!backend.ok()) return backend.status();
  return std::unique_ptr<Backend>(std::make_unique<OwningBackend>(std::move(server), std::move(backend.value())));
}

}  // namespace cleancache::testing
