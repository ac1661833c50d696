// MemcachedBackend: clean pages in the RAM of a memcached cluster (the seed's
// "memory blades" / RAMster tier), through libmemcached.
//
// Guarantees, beyond the Backend contract:
//  - Failure is a miss: a dead, slow or restarted server costs at most the
//    configured timeouts and is reported only in Stats(); servers marked dead
//    after `failure_limit` errors are retried after `retry` seconds.
//  - Invalidation never scans: every key carries the file's generation,
//    kept locally; InvalidateInode/ClosePool only bump or drop local state.
//    A file whose remote state is uncertain (a failed set, delete or get) has
//    its generation bumped, so an old copy can never become visible again.
//  - Integrity: every value carries an AEAD tag (AES-256-GCM, or
//    XChaCha20-Poly1305 without AES-NI) under a random per-pool key held only
//    in this process; the associated data binds pool, file key, file
//    generation and page index, so a corrupted, forged, copied or replayed
//    value is a miss. Pages are LZ4-compressed, then encrypted;
//    `insecure_plaintext=1` keeps the tag but sends the payload in clear.
//  - A get returns data only if its file's generation is unchanged after the
//    fetch, so an InvalidateInode that completes during the round trip makes
//    the get miss rather than return the page it just invalidated.
//  - Private pools: a hit is deleted from the server. The deletes of one get
//    or multi-get leave together and cost one more round trip (to all their
//    servers at once), whatever the number of hits; unless every one is
//    acknowledged, the file's generation is bumped instead.
//  - A connection on which a request failed is closed before it is reused,
//    so a reply left unread by the failure is never taken for another's.
// Pools live in this object: a shared pool is shared by the callers of this
// backend object, not across processes (each process has its own keys).
// Thread safety: fully concurrent; connections come from a bounded set of
// libmemcached handles (`connections`), each used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cleancache/backend.h"
#include "cleancache/spec_parser.h"

namespace cleancache {

struct MemcachedServer {
  std::string host;
  uint16_t port = 11211;
  uint32_t weight = 1;
};

struct MemcachedOptions {
  std::vector<MemcachedServer> servers;
  uint32_t timeout_ms = 5;  // send / receive / poll timeout
  uint32_t connect_timeout_ms = 5;
  uint32_t retry_seconds = 1;             // a server marked dead is retried after this
  uint32_t failure_limit = 2;             // consecutive failures before marking a server dead
  uint32_t connections = 8;               // libmemcached handles (concurrent requests)
  uint32_t expire_seconds = 0;            // memcached item expiry; 0 = only LRU eviction
  bool encrypt = true;                    // false = insecure_plaintext (still authenticated)
  bool compress = true;                   // LZ4 before sealing
  uint64_t max_tracked_files = 1u << 20;  // bound on the local generation map
  bool check_servers = true;              // creation fails if no server answers

  // From "memcached://h:p[,h:p...][?key=value&...]". Keys: timeout,
  // connect_timeout (milliseconds), retry (seconds), failure_limit,
  // connections, ttl (seconds), insecure_plaintext (0|1), compress (lz4|none),
  // max_files, check (0|1), weights (one per server, in order: "3,1,1").
  static Result<MemcachedOptions> FromSpec(const BackendSpec& spec);
};

// IOError when check_servers is set and no server answers.
Result<std::unique_ptr<Backend>> NewMemcachedBackend(const MemcachedOptions& options);
// The "memcached" entry of the composition layer's scheme table.
BackendScheme MemcachedScheme();

}  // namespace cleancache
