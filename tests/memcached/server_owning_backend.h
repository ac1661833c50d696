// A backend built from a spec that names a memcached server this wrapper
// started and owns: the server lives exactly as long as the backend. Lets
// factories that must return a fresh backend per test (the contract suite)
// bring their own server. Test-only; forwards every call unchanged.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "cleancache/backend.h"
#include "memcached/memcached_server.h"

namespace cleancache::testing {

// Starts a memcached, builds CreateBackend(spec_for(server)), and returns a
// backend owning both. IOError if the server does not start.
Result<std::unique_ptr<Backend>> BackendWithOwnServer(
    const std::function<std::string(const MemcachedServer&)>& spec_for);

}  // namespace cleancache::testing
