// Backend: the interface every transcendent-memory store implements (the
// "cleancache_ops" of Linux). Frontends never see it; they talk to the
// Cleancache instance, which forwards here.
//
// Contract every implementation keeps (docs/CONTRACT.md; the backend contract
// suite in tests/support/contract_suite.h checks it):
//  - Ephemeral: any page may be dropped at any time; a put may be ignored.
//  - A successful GetPage removes the page (exclusive get), unless the pool
//    keeps pages on get (KeepsOnGet(config): by default shared pools do,
//    private pools don't), where it leaves the page in place.
//  - put-put-get: after Put(A) then Put(B) on one (pool, key, index), a get
//    never returns A (B replaces A, or both are gone).
//  - get-get: once a get misses, gets keep missing until a new put.
//  - After InvalidatePage/Inode/ClosePool, gets of the covered pages miss.
//  - Data-path calls never report errors: a failure is a miss or a dropped
//    put, counted in the backend's stats.
// Thread safety: every method may be called concurrently from many threads,
// for the same or different keys. Calls on one key from different threads are
// ordered by the backend as if serialised in some order. The caller must not
// race ClosePool with other calls on the same pool (unmount quiesces first).
// Buffers are owned by the caller and only borrowed for the call.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "cleancache/file_key.h"
#include "cleancache/page_size.h"
#include "cleancache/status.h"

namespace cleancache {

// 128-bit identifier of a shared pool (Linux: the filesystem's on-disk UUID).
struct Uuid {
  std::array<uint8_t, 16> bytes{};
  // Accepts the canonical 8-4-4-4-12 form or 32 hex digits.
  static Result<Uuid> Parse(std::string_view text);
  std::string ToString() const;
  friend bool operator==(const Uuid&, const Uuid&) = default;
};

// A pool's configuration. Two independent properties:
//  - shared: the pool is joined by `uuid`; every OpenPool with the same uuid
//    sees the same pages (until the last member closes it).
//  - keep_on_get: a hit leaves the page in the pool (a copy); otherwise a hit
//    removes it (an exclusive get: the caller now holds the page). Unset, it
//    follows `shared`, as in Linux (shared pools keep, private pools don't):
//    use KeepsOnGet(config) to read it. A private pool may keep its pages
//    (a frontend whose primary cache may drop the page again, e.g. the
//    kernel's); members of a shared pool must agree with its creator.
struct PoolConfig {
  uint32_t page_size = kDefaultPageSize;  // the page-size rule: cleancache/page_size.h
  bool shared = false;
  Uuid uuid;                        // meaningful only when shared
  std::optional<bool> keep_on_get;  // unset: = shared
};

// The effective keep_on_get of a pool opened with `config`.
inline bool KeepsOnGet(const PoolConfig& config) { return config.keep_on_get.value_or(config.shared); }

// For a backend joining the shared pool created with `existing`: Ok if
// `joining` agrees with it (page size, keep_on_get), else an InvalidArgument
// "shared pool UUID has page size N, not M" / "... keeps pages on get".
Status CheckSharedJoin(const PoolConfig& existing, const PoolConfig& joining);

// A backend's handle for a pool. Backends never reuse a handle for the life of
// the backend object, so a late call with a closed handle is harmless.
using BackendPoolId = uint64_t;

// Figures every backend reports; zero where a figure does not apply.
struct BackendStats {
  uint64_t pages_stored = 0;             // pages currently retrievable
  uint64_t original_bytes = 0;           // pages_stored x page size
  uint64_t compressed_bytes = 0;         // payload bytes of stored pages
  uint64_t real_memory_bytes = 0;        // memory actually held: arenas + index + metadata
  uint64_t capacity_bytes = 0;           // configured limit on real_memory_bytes (0 = none)
  uint64_t evictions = 0;                // pages dropped to make room
  uint64_t rejected_incompressible = 0;  // puts refused: did not compress enough
  uint64_t stored_raw = 0;               // puts kept uncompressed: did not compress enough
  uint64_t same_filled_pages = 0;        // currently stored as a single repeated word
  uint64_t dropped_puts = 0;             // puts ignored for any other reason
  // Backend-specific figures (e.g. per-tenant or per-server counters).
  std::map<std::string, uint64_t> extra;
};

// Receives pages a backend drops to make room (not pages removed by a get or
// an invalidation), e.g. to demote them to a slower tier. OnEvict runs while
// the backend still serialises operations on that key, so every OnEvict for a
// key happens before any later operation on that key returns; it must be
// quick (copy and queue; no I/O), and must not call back into the backend.
class EvictionListener {
 public:
  virtual ~EvictionListener() = default;
  virtual void OnEvict(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<const uint8_t> page) = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Short human name, e.g. "zcache(lz4, 1 GiB)".
  virtual std::string Name() const = 0;

  // Creates a private pool, or joins the shared pool with config.uuid.
  // Refusal (bad page size, not authorised, out of pools) is an error.
  virtual Result<BackendPoolId> OpenPool(const PoolConfig& config) = 0;
  // Leaves a pool. A private pool's pages are dropped; a shared pool's pages
  // are dropped when its last member leaves.
  virtual void ClosePool(BackendPoolId pool) = 0;

  // `page` has exactly the pool's page size. Returns true on a hit.
  virtual bool GetPage(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<uint8_t> page) = 0;
  virtual void PutPage(BackendPoolId pool, const FileKey& key, uint64_t index, std::span<const uint8_t> page) = 0;
  virtual void InvalidatePage(BackendPoolId pool, const FileKey& key, uint64_t index) = 0;
  virtual void InvalidateInode(BackendPoolId pool, const FileKey& key) = 0;

  // Batched forms for readahead: `count` consecutive pages from `first`.
  // `pages` holds count x page size bytes; hit[i] is set to 1 or 0.
  // Returns the number of hits. The defaults loop over the single-page calls;
  // remote backends override them to save round trips.
  virtual size_t GetPages(BackendPoolId pool, const FileKey& key, uint64_t first, size_t count,
                          std::span<uint8_t> pages, std::span<uint8_t> hit);
  virtual void PutPages(BackendPoolId pool, const FileKey& key, uint64_t first, size_t count,
                        std::span<const uint8_t> pages);

  virtual BackendStats Stats() const = 0;

  // Memory control, for a governor sharing one budget among backends (the
  // daemon's tenants). Backends with no local memory (remote stores) keep the
  // defaults: they hold nothing to shrink.
  // Evicts oldest pages until real memory <= target; returns real memory after.
  virtual uint64_t Shrink(uint64_t target_real_bytes) { return Stats().real_memory_bytes; }
  // Changes the capacity limit; shrinks at once if now over it.
  virtual void SetCapacity(uint64_t capacity_bytes) {}
  // Installs (or, with nullptr, removes) the listener for evicted pages. The
  // listener must outlive the backend or be removed first. Backends that never
  // evict (remote stores evict on the server) never call it.
  virtual void SetEvictionListener(EvictionListener* listener) {}
};

}  // namespace cleancache
