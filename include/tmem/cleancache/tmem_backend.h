// TmemBackend: the `tmem:/path/to/socket` backend, a client of cleancached.
// Any frontend (the mount, PageCache, the C API) can use it in place of an
// in-process backend.
//
// Spec keys: timeout_ms (per request, default 2000), shm (shared area size,
// default 1M: the largest batch is shm / page size), reconnect_ms (least time
// between reconnect attempts, default 200), connect (now: creation fails if
// the daemon is unreachable, the default; lazy: start disconnected), spin_us
// (the most a request polls for its reply before sleeping, default 100; 0 =
// never. Polling saves a wake-up per request at the price of CPU while the
// daemon works; a request whose reply is expected later than this sleeps at
// once, see ReplyPoll).
//
// Guarantees beyond the Backend contract:
//  - Daemon loss is never an error to the frontend: gets miss, puts are
//    dropped (counted), and the backend reconnects by itself on a later call,
//    at most once per reconnect_ms.
//  - After a reconnect every pool is opened anew in the new session: private
//    pools are new and empty, so nothing from before can be served, and ids
//    of the old session are never sent on the new one. A shared pool whose
//    invalidation could not be delivered is flushed when it is re-joined.
//  - Pages move through a sealed memfd shared with the daemon, a new one for
//    each connection (a request we gave up on may still be running in the
//    daemon); batched calls carry up to shm / page size pages per round trip.
// Thread safety: all methods may be called concurrently; requests share one
// connection and are serialised on it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "cleancache/backend.h"
#include "cleancache/spec_parser.h"

namespace cleancache::daemon {

struct TmemOptions {
  std::string socket_path;
  uint32_t timeout_ms = 2000;
  uint64_t shared_bytes = 1u << 20;
  uint32_t reconnect_ms = 200;
  bool connect_now = true;
  uint32_t spin_us = 100;

  static Result<TmemOptions> FromSpec(const BackendSpec& spec);
};

Result<std::unique_ptr<Backend>> NewTmemBackend(const TmemOptions& options);
// The "tmem" entry of the composition layer's scheme table.
BackendScheme TmemScheme();

}  // namespace cleancache::daemon
