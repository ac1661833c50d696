// PageCodec: compresses and decompresses single pages for zcache.
// Thread-safe: LZ4 compression states are kept one per CPU, zstd contexts in
// a small internal pool.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "cleancache/zcache.h"

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;
union LZ4_stream_u;

namespace cleancache::zcache {

class PageCodec {
 public:
  // Worst case for a 64 KiB page under any codec (LZ4_COMPRESSBOUND(65536) =
  // 65809, ZSTD_COMPRESSBOUND(65536) = 65805), rounded up.
  static constexpr size_t kMaxCompressedBytes = 65536 + 512;
  PageCodec(Codec codec, int level);
  ~PageCodec();
  PageCodec(const PageCodec&) = delete;
  PageCodec& operator=(const PageCodec&) = delete;

  Codec codec() const { return codec_; }
  // Compresses `src` into at most `dst_capacity` bytes. Returns the size, or 0
  // when the result would not fit (the page is "poor" at this threshold).
  size_t Compress(const uint8_t* src, size_t size, uint8_t* dst, size_t dst_capacity) const;
  // Returns true only if `src` decompresses to exactly `page_size` bytes.
  bool Decompress(const uint8_t* src, size_t size, uint8_t* dst, size_t page_size) const;

 private:
  // An LZ4 state (16 KiB) that stays initialised between pages, so that a
  // page is compressed without zeroing a fresh one (what LZ4_compress_fast
  // does on every call: measured ~3% of put time, and it evicts a third of
  // L1). `busy` makes a slot single-owner; a thread that finds its CPU's
  // slot taken (it migrated mid-call) falls back to a fresh state.
  struct alignas(64) Lz4Slot {
    std::atomic<bool> busy{false};
    LZ4_stream_u* state = nullptr;
  };
  size_t CompressLz4(const uint8_t* src, size_t size, uint8_t* dst, size_t dst_capacity) const;

  ZSTD_CCtx_s* TakeCompressor() const;
  void ReturnCompressor(ZSTD_CCtx_s* ctx) const;
  ZSTD_DCtx_s* TakeDecompressor() const;
  void ReturnDecompressor(ZSTD_DCtx_s* ctx) const;

  const Codec codec_;
  const int level_;
  std::unique_ptr<Lz4Slot[]> lz4_slots_;
  unsigned lz4_slot_count_ = 0;
  mutable std::mutex pool_mutex_;
  mutable std::vector<ZSTD_CCtx_s*> compressors_;
  mutable std::vector<ZSTD_DCtx_s*> decompressors_;
};

}  // namespace cleancache::zcache
