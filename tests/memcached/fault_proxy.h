// FaultProxy: a TCP relay between a backend and a real memcached that breaks
// the binary protocol on purpose, to test what the backend does when deletes
// go wrong. It listens on 127.0.0.1 and a free port, forwards each client
// connection to the upstream server, and reads the client's requests whole
// (24-byte header + body), so it can act on the first request of a kind it
// sees after Arm():
//  - kCloseConnection: close both sides before forwarding the delete -- the
//    server is lost between a get and its deletes, but keeps its data.
//  - kRefuseDelete: turn the first delete into an unknown command -- the
//    server answers with an error and deletes nothing.
//  - kMissDelete: change one byte of the first delete's key -- the server
//    answers NOT_FOUND and the real key stays.
//  - kConflictDelete: give the first delete a CAS value no item has -- the
//    server answers EXISTS and the key stays.
// Each fault applies once; afterwards everything is relayed unchanged.
// Not thread-safe: drive it from the test's main thread (relaying runs on
// the proxy's own threads).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cleancache::testing {

class FaultProxy {
 public:
  enum class Fault { kNone, kCloseConnection, kRefuseDelete, kMissDelete, kConflictDelete };

  // nullptr (with a gtest failure logged) if it cannot listen.
  static std::unique_ptr<FaultProxy> Start(uint16_t upstream_port);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  void Arm(Fault fault) { armed_.store(fault); }
  // Faults applied so far (an armed fault counts once it has acted).
  int faults_applied() const { return applied_.load(); }

 private:
  FaultProxy(int listener, uint16_t port, uint16_t upstream_port)
      : listener_(listener), port_(port), upstream_port_(upstream_port) {}
  void AcceptLoop();
  void Relay(int client, int server);
  // Applies the armed fault to one whole request; false = drop the connection.
  bool Inspect(std::vector<uint8_t>& request);

  int listener_;
  uint16_t port_;
  uint16_t upstream_port_;
  std::atomic<bool> stopping_{false};
  std::atomic<Fault> armed_{Fault::kNone};
  std::atomic<int> applied_{0};
  std::thread acceptor_;
  std::mutex relays_mutex_;
  std::vector<std::thread> relays_;
};

}  // namespace cleancache::testing
