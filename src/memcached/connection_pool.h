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
// A lease whose exchange failed is marked broken: its sockets are closed
// before the handles are reused, because a failure can leave replies unread
// (an error reply ends libmemcached's reading of a batch of buffered deletes
// with the others still on the socket), and libmemcached would hand them to
// the next request as its own.
// Thread safety: Acquire and lease destruction may run concurrently.
#pragma once

#include <libmemcached/memcached.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "cleancache/memcached_backend.h"
#include "cleancache/status.h"
#include "memcached/page_sealer.h"

namespace cleancache::memcached {

struct KeyName {
  char chars[PageSealer::kKeyChars];
};

// The keys of one request, in the layout memcached_mget takes. Reused by
// every request on the connection, so a multi-get allocates nothing.
class KeyTable {
 public:
  void Resize(size_t count) {
    if (names_.size() < count) {
      names_.resize(count);
      pointers_.resize(count);
      lengths_.assign(count, PageSealer::kKeyChars);
      for (size_t i = 0; i < count; ++i) pointers_[i] = names_[i].chars;
    }
  }
  char (&name(size_t i))[PageSealer::kKeyChars] { return names_[i].chars; }
  std::string_view view(size_t i) const { return {names_[i].chars, PageSealer::kKeyChars}; }
  const char* const* pointers() const { return pointers_.data(); }
  const size_t* lengths() const { return lengths_.data(); }

 private:
  std::vector<KeyName> names_;
  std::vector<const char*> pointers_;
  std::vector<size_t> lengths_;
};

struct Connection {
  memcached_st* handle = nullptr;
  memcached_result_st result;  // reused by fetches: no allocation per get
  // Exclusive gets' deletes only: buffered requests (MEMCACHED_BEHAVIOR_
  // BUFFER_REQUESTS), so a batch of deletes leaves in one write per server.
  // A handle of its own because the behaviour cannot be switched per request
  // (setting it closes the handle's sockets) and every other request must
  // read its own reply at once. Its sockets open on first use.
  memcached_st* delete_handle = nullptr;
  memcached_result_st delete_result;
  SealerScratch sealing;
  KeyTable keys;
  bool broken = false;  // an exchange failed: close the sockets before reuse
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
    Connection& operator*() const { return *connection_; }
    // The exchange failed: the connection's sockets may hold a late reply.
    void MarkBroken() { connection_->broken = true; }

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
