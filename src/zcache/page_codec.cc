#include "zcache/page_codec.h"

#define LZ4_STATIC_LINKING_ONLY  // LZ4_compress_fast_extState_fastReset
#include <lz4.h>
#include <sched.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <thread>

namespace cleancache::zcache {

PageCodec::PageCodec(Codec codec, int level) : codec_(codec), level_(level) {
  if (codec_ != Codec::kLz4) return;
  lz4_slot_count_ = std::max(1u, std::thread::hardware_concurrency());
  lz4_slots_ = std::make_unique<Lz4Slot[]>(lz4_slot_count_);
  for (unsigned i = 0; i < lz4_slot_count_; ++i) lz4_slots_[i].state = LZ4_createStream();
}

PageCodec::~PageCodec() {
  for (unsigned i = 0; i < lz4_slot_count_; ++i) LZ4_freeStream(lz4_slots_[i].state);
  for (auto* c : compressors_) ZSTD_freeCCtx(c);
  for (auto* d : decompressors_) ZSTD_freeDCtx(d);
}

size_t PageCodec::Compress(const uint8_t* src, size_t size, uint8_t* dst, size_t dst_capacity) const {
  switch (codec_) {
    case Codec::kLz4: return CompressLz4(src, size, dst, dst_capacity);
    case Codec::kZstd: {
      ZSTD_CCtx* ctx = TakeCompressor();
      size_t n = ZSTD_compressCCtx(ctx, dst, dst_capacity, src, size, level_ != 0 ? level_ : ZSTD_CLEVEL_DEFAULT);
      ReturnCompressor(ctx);
      return ZSTD_isError(n) ? 0 : n;
    }
    case Codec::kNone:
      if (dst_capacity < size) return 0;
      std::memcpy(dst, src, size);
      return size;
  }
  return 0;
}

size_t PageCodec::CompressLz4(const uint8_t* src, size_t size, uint8_t* dst, size_t dst_capacity) const {
  const int acceleration = level_ > 0 ? level_ : 1;
  const char* in = reinterpret_cast<const char*>(src);
  char* out = reinterpret_cast<char*>(dst);
  const int cpu = sched_getcpu();
  Lz4Slot& slot = lz4_slots_[static_cast<unsigned>(std::max(cpu, 0)) % lz4_slot_count_];
  int n;
  if (!slot.busy.exchange(true, std::memory_order_acquire)) {
    n = LZ4_compress_fast_extState_fastReset(slot.state, in, out, static_cast<int>(size),
                                             static_cast<int>(dst_capacity), acceleration);
    slot.busy.store(false, std::memory_order_release);
  } else {
    n = LZ4_compress_fast(in, out, static_cast<int>(size), static_cast<int>(dst_capacity), acceleration);
  }
  return n > 0 ? static_cast<size_t>(n) : 0;
}

bool PageCodec::Decompress(const uint8_t* src, size_t size, uint8_t* dst, size_t page_size) const {
  switch (codec_) {
    case Codec::kLz4:
      return LZ4_decompress_safe(reinterpret_cast<const char*>(src), reinterpret_cast<char*>(dst),
                                 static_cast<int>(size), static_cast<int>(page_size)) == static_cast<int>(page_size);
    case Codec::kZstd: {
      ZSTD_DCtx* ctx = TakeDecompressor();
      size_t n = ZSTD_decompressDCtx(ctx, dst, page_size, src, size);
      ReturnDecompressor(ctx);
      return !ZSTD_isError(n) && n == page_size;
    }
    case Codec::kNone:
      if (size != page_size) return false;
      std::memcpy(dst, src, size);
      return true;
  }
  return false;
}

// zstd contexts are large (hundreds of KiB) and slow to create, so they are
// pooled; the pool grows to the number of threads compressing at once.
ZSTD_CCtx* PageCodec::TakeCompressor() const {
  {
    std::lock_guard lock(pool_mutex_);
    if (!compressors_.empty()) {
      ZSTD_CCtx* c = compressors_.back();
      compressors_.pop_back();
      return c;
    }
  }
  return ZSTD_createCCtx();
}

void PageCodec::ReturnCompressor(ZSTD_CCtx* ctx) const {
  std::lock_guard lock(pool_mutex_);
  compressors_.push_back(ctx);
}

ZSTD_DCtx* PageCodec::TakeDecompressor() const {
  {
    std::lock_guard lock(pool_mutex_);
    if (!decompressors_.empty()) {
      ZSTD_DCtx* d = decompressors_.back();
      decompressors_.pop_back();
      return d;
    }
  }
  return ZSTD_createDCtx();
}

void PageCodec::ReturnDecompressor(ZSTD_DCtx* ctx) const {
  std::lock_guard lock(pool_mutex_);
  decompressors_.push_back(ctx);
}

}  // namespace cleancache::zcache
