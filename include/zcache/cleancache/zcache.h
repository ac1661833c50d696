// ZCache: the embedded compressed-RAM backend (the default).
//
// Guarantees, beyond the Backend contract:
//  - Real memory (segments actually touched, index, metadata) never exceeds
//    `capacity`; a put that would exceed it first evicts the oldest pages
//    (segment CLOCK: shared-pool pages hit since they were stored get one more
//    round; private pools are exclusive, so age order is LRU order).
//  - A page whose 64-bit words are all equal is kept as that word: no data.
//  - A page whose compressed size exceeds `threshold` is stored raw or
//    rejected, per `incompressible`; counted either way.
//  - Compressed pages live in large segments (log-structured, objects packed
//    back to back), not one allocation per page; holes left by gets and
//    invalidations are reclaimed by compaction when they pass
//    `max_fragmentation` of the segment space.
//  - Segments emptied by gets and invalidations stay mapped in an idle pool
//    (at most a quarter of the capacity, counted as real memory) to be reused
//    without page faults; they are the first memory given up when room is
//    needed, and by Shrink/SetCapacity.
//  - Shards and segment size are fixed at construction (at least 4 segments
//    per shard of the capacity given then). SetCapacity below one segment
//    per shard leaves the shards no room to open a segment: every compressed
//    put is then dropped (counted in dropped_puts) until capacity grows back.
//    Build the store for the smallest capacity it will be set to.
//  - InvalidateInode costs O(pages of that file); ClosePool O(pages of that
//    pool): neither scans the cache.
// Thread safety: fully concurrent; pages are spread over independently
// locked shards (a file's pages in stripes of 64), so no lock is global.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "cleancache/backend.h"
#include "cleancache/spec_parser.h"

namespace cleancache {

enum class Codec { kLz4, kZstd, kNone };

struct ZCacheOptions {
  uint64_t capacity = 256ull << 20;  // bytes of real memory
  Codec codec = Codec::kLz4;
  int level = 0;                            // zstd level (0 = zstd default 3); lz4 acceleration (0 = 1)
  uint32_t threshold_percent = 90;          // a page compressing above this % of its size is "poor"
  bool store_incompressible = true;         // poor pages: true = store raw, false = reject
  bool same_filled = true;                  // detect same-filled pages
  uint32_t shards = 0;                      // 0 = chosen from capacity and cores
  uint32_t segment_bytes = 1u << 20;        // segment size (power of two, 64 KiB .. 16 MiB)
  uint32_t max_fragmentation_percent = 25;  // compact segments when holes exceed this

  // From "zcache:capacity=1G,codec=zstd,level=3,...". Keys: capacity, codec,
  // level, threshold, incompressible (raw|reject), same_filled (on|off),
  // shards, segment, max_fragmentation.
  static Result<ZCacheOptions> FromSpec(const BackendSpec& spec);
};

std::unique_ptr<Backend> NewZCache(const ZCacheOptions& options);
// The "zcache" entry of the composition layer's scheme table.
BackendScheme ZCacheScheme();

// Codec name <-> enum ("lz4", "zstd", "none").
Result<Codec> ParseCodec(std::string_view name);
const char* CodecName(Codec codec);

}  // namespace cleancache
