// MemcachedServer: a real memcached (/usr/bin/memcached) for tests, on
// 127.0.0.1 and a free port, owned by the test. Start waits (bounded) until it
// accepts connections; the destructor stops it (SIGTERM, then SIGKILL), and
// the child also gets SIGTERM if the test process dies. Restart keeps the port.
// Raw access (RawKeys/RawGet/RawSet) lets tests tamper with stored values.
// Not thread-safe: drive it from the test's main thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cleancache::testing {

class MemcachedServer {
 public:
  // kInspectable runs memcached without its LRU maintainer, so that RawKeys
  // sees every item exactly once; kStock is memcached's default (benchmarks).
  enum class Lru { kInspectable, kStock };

  // nullptr (with a gtest failure message logged) if memcached does not start.
  static std::unique_ptr<MemcachedServer> Start(uint32_t memory_mb = 64, Lru lru = Lru::kInspectable);
  ~MemcachedServer();
  MemcachedServer(const MemcachedServer&) = delete;
  MemcachedServer& operator=(const MemcachedServer&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  bool running() const { return pid_ > 0; }

  void Kill();     // SIGKILL, as a crash would
  bool Restart();  // a fresh, empty server on the same port
  void Pause();    // SIGSTOP: connections stay open, nothing answers
  void Resume();   // SIGCONT

  // Every key the server holds (lru_crawler metadump), URL-decoded, sorted,
  // each once.
  std::vector<std::string> RawKeys() const;
  std::optional<std::string> RawGet(const std::string& key) const;
  bool RawSet(const std::string& key, const std::string& value) const;
  bool RawDelete(const std::string& key) const;
  bool FlushAll() const;

 private:
  MemcachedServer(uint16_t port, uint32_t memory_mb, Lru lru) : port_(port), memory_mb_(memory_mb), lru_(lru) {}
  bool Launch();
  void Stop();
  // One text-protocol exchange; reads until `terminator` ends the reply, or
  // until it is one line starting with one of `one_line_replies`.
  std::optional<std::string> Exchange(const std::string& request, const std::string& terminator,
                                      std::initializer_list<std::string_view> one_line_replies = {}) const;

  uint16_t port_;
  uint32_t memory_mb_;
  Lru lru_;
  pid_t pid_ = -1;
};

// "memcached://a,b,c?extra" for the given servers.
std::string MemcachedSpec(const std::vector<const MemcachedServer*>& servers, const std::string& options = "");

// A TCP connection to 127.0.0.1:port, or -1. With timeout_seconds > 0, reads
// and writes on it give up after that long (a test must not hang on a
// server that stopped answering).
int ConnectLoopback(uint16_t port, int timeout_seconds = 0);

}  // namespace cleancache::testing
