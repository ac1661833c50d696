#include "memcached/connection_pool.h"

#include <algorithm>
#include <chrono>

namespace cleancache::memcached {

ConnectionPool::ConnectionPool(const MemcachedOptions& options) : options_(options) {}

ConnectionPool::~ConnectionPool() {
  for (auto& connection : all_) {
    memcached_result_free(&connection->result);
    memcached_free(connection->handle);
    memcached_result_free(&connection->delete_result);
    memcached_free(connection->delete_handle);
  }
  if (master_) memcached_free(master_);
}

Result<std::unique_ptr<ConnectionPool>> ConnectionPool::Create(const MemcachedOptions& options) {
  std::unique_ptr<ConnectionPool> pool(new ConnectionPool(options));
  pool->master_ = memcached_create(nullptr);
  if (!pool->master_) return Status::IOError("memcached: out of memory creating a client");
  memcached_st* master = pool->master_;
  const std::pair<memcached_behavior_t, uint64_t> behaviours[] = {
      {MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1},
      {MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1},
      {MEMCACHED_BEHAVIOR_TCP_NODELAY, 1},
      {MEMCACHED_BEHAVIOR_NO_BLOCK, 1},
      {MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, options.connect_timeout_ms},
      {MEMCACHED_BEHAVIOR_POLL_TIMEOUT, options.timeout_ms},
      {MEMCACHED_BEHAVIOR_SND_TIMEOUT, uint64_t{options.timeout_ms} * 1000},  // microseconds
      {MEMCACHED_BEHAVIOR_RCV_TIMEOUT, uint64_t{options.timeout_ms} * 1000},
      {MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT, options.failure_limit},
      {MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, options.retry_seconds},
      {MEMCACHED_BEHAVIOR_DEAD_TIMEOUT, options.retry_seconds},
  };
  for (auto [behaviour, value] : behaviours) {
    memcached_return_t rc = memcached_behavior_set(master, behaviour, value);
    if (rc != MEMCACHED_SUCCESS) {
      return Status::InvalidArgument(std::string("memcached: cannot set client behaviour: ") +
                                     memcached_strerror(master, rc));
    }
  }
  for (const MemcachedServer& server : options.servers) {
    memcached_return_t rc = memcached_server_add_with_weight(master, server.host.c_str(), server.port, server.weight);
    if (rc != MEMCACHED_SUCCESS) {
      return Status::InvalidArgument("memcached: bad server " + server.host + ":" + std::to_string(server.port) + ": " +
                                     memcached_last_error_message(master));
    }
  }
  return pool;
}

ConnectionPool::Lease ConnectionPool::Acquire() {
  std::unique_lock lock(mutex_);
  if (idle_.empty() && all_.size() < options_.connections) {
    auto connection = std::make_unique<Connection>();
    connection->handle = memcached_clone(nullptr, master_);
    if (!connection->handle) return {};
    connection->delete_handle = memcached_clone(nullptr, master_);
    if (!connection->delete_handle ||
        memcached_behavior_set(connection->delete_handle, MEMCACHED_BEHAVIOR_BUFFER_REQUESTS, 1) != MEMCACHED_SUCCESS) {
      memcached_free(connection->handle);
      if (connection->delete_handle) memcached_free(connection->delete_handle);
      return {};
    }
    memcached_result_create(connection->handle, &connection->result);
    memcached_result_create(connection->delete_handle, &connection->delete_result);
    idle_.push_back(connection.get());
    all_.push_back(std::move(connection));
  }
  if (idle_.empty() &&
      !returned_.wait_for(lock, std::chrono::milliseconds(options_.timeout_ms), [&] { return !idle_.empty(); })) {
    return {};
  }
  Connection* connection = idle_.back();
  idle_.pop_back();
  return Lease(this, connection);
}

void ConnectionPool::Release(Connection* connection) {
  if (connection->broken) {
    // Outside the pool lock: closing may wait for a send on a stuck server.
    // The next request on this handle reconnects.
    memcached_quit(connection->handle);
    memcached_quit(connection->delete_handle);
    connection->broken = false;
  }
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(connection);
  }
  returned_.notify_one();
}

size_t ConnectionPool::CountAnsweringServers() {
  // A control-path check: allow a slow (loaded, just started) server more
  // than the data path's few milliseconds, without waiting for ever.
  constexpr uint64_t kCheckTimeoutMs = 500;
  memcached_st* probe = nullptr;
  {
    std::lock_guard lock(mutex_);
    probe = memcached_clone(nullptr, master_);
  }
  if (!probe) return 0;
  memcached_behavior_set(probe, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT,
                         std::max<uint64_t>(options_.connect_timeout_ms, kCheckTimeoutMs));
  memcached_behavior_set(probe, MEMCACHED_BEHAVIOR_POLL_TIMEOUT,
                         std::max<uint64_t>(options_.timeout_ms, kCheckTimeoutMs));
  memcached_version(probe);
  size_t answering = 0;
  uint32_t count = memcached_server_count(probe);
  for (uint32_t i = 0; i < count; ++i) {
    const memcached_instance_st* server = memcached_server_instance_by_position(probe, i);
    if (server && memcached_server_major_version(server) != UINT8_MAX) ++answering;
  }
  memcached_free(probe);
  return answering;
}

std::string ConnectionPool::ServerList() const {
  std::string list;
  for (const MemcachedServer& server : options_.servers) {
    if (!list.empty()) list += ',';
    list += server.host;
    list += ':';
    list += std::to_string(server.port);
    if (server.weight != 1) {
      list += ':';
      list += std::to_string(server.weight);
    }
  }
  return list;
}

}  // namespace cleancache::memcached
