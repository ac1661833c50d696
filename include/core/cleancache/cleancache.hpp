// Cleancache: the shim between frontends (filesystems, page caches) and one
// registered backend. The C++ face of libcleancache; cleancache.h is the C one.
//
// Contract (docs/CONTRACT.md; Linux mm/cleancache.c):
//  - A frontend opts in by creating a pool (InitFs / InitSharedFs); nothing is
//    cached for anyone who did not. Pool ids are >= 0; a negative id means
//    refused. Ids are never reused by one instance.
//  - Keys are pool + FileKey + 64-bit page index. Pages are clean copies: the
//    frontend must invalidate before the file changes (InvalidatePage when a
//    page is dirtied or partly truncated, InvalidateInode on truncate/delete,
//    InvalidateFs at unmount, which also ends the pool).
//  - Late registration: pools created before a backend is registered get a
//    placeholder; until RegisterBackend binds it, gets miss and puts are
//    dropped. A second RegisterBackend is refused (Status::Busy).
//  - get/put/invalidate never fail: a miss or a dropped put is the answer.
//    The shim counts succ_gets, failed_gets, puts, invalidates per pool and in
//    total, and refuses pages of the wrong size (dropped put / miss).
//    As in Linux: every get on a live pool counts (a placeholder or a
//    wrong-size buffer is a failed get); puts and invalidates count when
//    handed to the backend; calls on unknown or ended ids count nowhere.
//  - Each InitSharedFs is its own pool id (a membership); ids opened with the
//    same uuid see the same pages. InvalidateFs ends one membership.
// Thread safety: all methods may run concurrently; there is no global lock on
// the data path. InvalidateFs must not race other calls on the same pool.
// Ownership: the instance owns its backend; FileKeys and buffers are borrowed.
// No process-global state: create as many instances as you like.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "cleancache/backend.h"
#include "cleancache/file_key.h"
#include "cleancache/status.h"

namespace cleancache {

using PoolId = int32_t;
constexpr PoolId kNoPool = -1;

struct PoolCounters {
  uint64_t succ_gets = 0;
  uint64_t failed_gets = 0;
  uint64_t puts = 0;
  uint64_t invalidates = 0;
};

struct PoolInfo {
  PoolId id = kNoPool;
  uint32_t page_size = 0;
  bool shared = false;
  bool keep_on_get = false;  // effective: a hit leaves the page (see PoolConfig)
  bool bound = false;        // false while waiting for a backend (placeholder)
  Uuid uuid;
};

class Cleancache {
 public:
  // The page-size rule (cleancache/page_size.h), under the names users know.
  static constexpr uint32_t kDefaultPageSize = cleancache::kDefaultPageSize;
  static constexpr uint32_t kMinPageSize = cleancache::kMinPageSize;
  static constexpr uint32_t kMaxPageSize = cleancache::kMaxPageSize;

  Cleancache();
  ~Cleancache();
  Cleancache(const Cleancache&) = delete;
  Cleancache& operator=(const Cleancache&) = delete;

  // Binds every existing placeholder pool. Busy if a backend is registered.
  Status RegisterBackend(std::unique_ptr<Backend> backend);
  bool has_backend() const;

  PoolId InitFs(uint32_t page_size = kDefaultPageSize);
  PoolId InitSharedFs(const Uuid& uuid, uint32_t page_size = kDefaultPageSize);
  // Like InitFs, with the reason when refused.
  Result<PoolId> OpenPool(const PoolConfig& config);

  bool GetPage(PoolId pool, const FileKey& key, uint64_t index, std::span<uint8_t> page);
  void PutPage(PoolId pool, const FileKey& key, uint64_t index, std::span<const uint8_t> page);
  void InvalidatePage(PoolId pool, const FileKey& key, uint64_t index);
  void InvalidateInode(PoolId pool, const FileKey& key);
  void InvalidateFs(PoolId pool);

  // Readahead: `count` consecutive pages; see Backend::GetPages.
  size_t GetPages(PoolId pool, const FileKey& key, uint64_t first, size_t count, std::span<uint8_t> pages,
                  std::span<uint8_t> hit);
  void PutPages(PoolId pool, const FileKey& key, uint64_t first, size_t count, std::span<const uint8_t> pages);

  Result<PoolInfo> Info(PoolId pool) const;
  PoolCounters Counters(PoolId pool) const;  // zeros for an unknown pool
  PoolCounters TotalCounters() const;        // all pools, including ended ones
  BackendStats BackendStatistics() const;    // zeros when no backend
  std::string BackendName() const;           // "" when no backend

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cleancache
