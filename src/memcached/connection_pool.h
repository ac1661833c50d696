// ConnectionPool: a bounded set of libmemcached handles configured from
// MemcachedOptions (binary protocol, weighted ketama, millisecond timeouts,
// failure limit + retry so dead servers are skipped and come back).
//
// A memcached_st is not thread-safe, so each thread leases one (with its own
// scratch buffers) for the duration of a request. Handles are cloned from a
// master lazily, up to `connections`; when all are busy, Acquire waits at
// most the request timeout and then returns an empty lease (the caller treats
// it as a miss). Keys are never remapped when a server fails (no ejection),
// so a server that comes back can only serve what it really holds.
// Thread safety: Acquire and lease destruction may run concurrently.
#pragma once

#include <libmemcached/memcached.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cleancache/memcached_backend.h"
#include "cleancache/status.h"

namespace cleancache::memcached {

struct Connection {
  memcached_st* handle = nullptr;
  memcached_result_st result;  // reused by fetches: no allocation per get
  std::vector<uint8_t> scratch;
  std::vector<uint8_t> value;
};

class ConnectionPool {
 public:
  class Lease {
   public:
    Lease() = default;
    Lease(ConnectionPool* pool, Connection* connection) : pool_(pool), connection_(connection) {}
    Lease(Lease&& other) noexcept : pool_(other.pool_), connection_(other.connection_) { other.connection_ = nullptr; }
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (connection_) pool_->Release(connection_);
    }
    explicit operator bool() const { return connection_ != nullptr; }
    Connection* operator->() const { return connection_; }

   private:
    ConnectionPool* pool_ = nullptr;
    Connection* connection_ = nullptr;
  };

  // InvalidArgument for a server libmemcached refuses.
  static Result<std::unique_ptr<ConnectionPool>> Create(const MemcachedOptions& options);
  ~ConnectionPool();

  Lease Acquire();
  // Number of servers that answered a version request (one round trip each).
  size_t CountAnsweringServers();
  std::string ServerList() const;

 private:
  explicit ConnectionPool(const MemcachedOptions& options);
  void Release(Connection* connection);

  MemcachedOptions options_;
  memcached_st* master_ = nullptr;
  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Connection>> all_;
  std::vector<Connection*> idle_;
};

}  // namespace cleancache::memcached
