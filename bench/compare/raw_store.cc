// The physical limits: a page compressed by the bare codec (LZ4 at its
// default acceleration, zstd at the level our backend uses), or copied, and
// appended to one packed, pre-touched arena (pages back to back, as a
// log-structured store keeps them). No index, no allocator, no locking: what
// a compressing cache could at best do with the same codec. Memory is the
// payload bytes alone. A page put again is appended again; when the arena
// (room for every page once, at the codec's bound) is full, puts are dropped.
#include <lz4.h>
#include <zstd.h>

#include <cstring>
#include <vector>

#include "compare/stores.h"

namespace cleancache::compare {
namespace {

// Codec: size_t Compress(src, size, dst, capacity) (0 = failed), bool
// Decompress(src, size, dst, page_size), size_t Bound(page_size).
template <typename Codec>
class ArenaStore final : public PageStore {
 public:
  ArenaStore(size_t pages, uint32_t page_size, Codec codec)
      : codec_(std::move(codec)),
        page_size_(page_size),
        bound_(codec_.Bound(page_size)),
        arena_(pages * bound_, 1),  // touched now, so puts do not pay first-touch faults
        offset_(pages, 0),
        size_(pages, 0) {}

  void Put(uint64_t page, std::span<const uint8_t> data) override {
    payload_ -= size_[page];
    size_[page] = 0;
    if (end_ + bound_ > arena_.size()) return;
    const size_t n = codec_.Compress(data.data(), data.size(), arena_.data() + end_, bound_);
    offset_[page] = end_;
    size_[page] = static_cast<uint32_t>(n);
    end_ += n;
    payload_ += n;
  }

  bool Get(uint64_t page, std::span<uint8_t> out) override {
    return size_[page] != 0 && codec_.Decompress(arena_.data() + offset_[page], size_[page], out.data(), out.size());
  }

  std::optional<uint64_t> Memory() const override { return payload_; }

 private:
  Codec codec_;
  uint32_t page_size_;
  size_t bound_;
  std::vector<uint8_t> arena_;
  std::vector<uint64_t> offset_;
  std::vector<uint32_t> size_;
  uint64_t end_ = 0;
  uint64_t payload_ = 0;
};

struct Lz4Codec {
  size_t Bound(uint32_t page_size) const { return static_cast<size_t>(LZ4_compressBound(static_cast<int>(page_size))); }
  size_t Compress(const uint8_t* src, size_t size, uint8_t* dst, size_t capacity) const {
    const int n = LZ4_compress_default(reinterpret_cast<const char*>(src), reinterpret_cast<char*>(dst),
                                       static_cast<int>(size), static_cast<int>(capacity));
    return n > 0 ? static_cast<size_t>(n) : 0;
  }
  bool Decompress(const uint8_t* src, size_t size, uint8_t* dst, size_t page_size) const {
    return LZ4_decompress_safe(reinterpret_cast<const char*>(src), reinterpret_cast<char*>(dst), static_cast<int>(size),
                               static_cast<int>(page_size)) == static_cast<int>(page_size);
  }
};

class ZstdCodec {
 public:
  explicit ZstdCodec(int level) : level_(level), cctx_(ZSTD_createCCtx()), dctx_(ZSTD_createDCtx()) {}
  ZstdCodec(ZstdCodec&& other) noexcept
      : level_(other.level_), cctx_(std::exchange(other.cctx_, nullptr)), dctx_(std::exchange(other.dctx_, nullptr)) {}
  ZstdCodec(const ZstdCodec&) = delete;
  ZstdCodec& operator=(const ZstdCodec&) = delete;
  ZstdCodec& operator=(ZstdCodec&&) = delete;
  ~ZstdCodec() {
    ZSTD_freeCCtx(cctx_);
    ZSTD_freeDCtx(dctx_);
  }
  size_t Bound(uint32_t page_size) const { return ZSTD_compressBound(page_size); }
  size_t Compress(const uint8_t* src, size_t size, uint8_t* dst, size_t capacity) const {
    const size_t n = ZSTD_compressCCtx(cctx_, dst, capacity, src, size, level_);
    return ZSTD_isError(n) ? 0 : n;
  }
  bool Decompress(const uint8_t* src, size_t size, uint8_t* dst, size_t page_size) const {
    const size_t n = ZSTD_decompressDCtx(dctx_, dst, page_size, src, size);
    return !ZSTD_isError(n) && n == page_size;
  }

 private:
  int level_;
  ZSTD_CCtx* cctx_;
  ZSTD_DCtx* dctx_;
};

struct CopyCodec {
  size_t Bound(uint32_t page_size) const { return page_size; }
  size_t Compress(const uint8_t* src, size_t size, uint8_t* dst, size_t capacity) const {
    std::memcpy(dst, src, size);
    return size;
  }
  bool Decompress(const uint8_t* src, size_t size, uint8_t* dst, size_t page_size) const {
    std::memcpy(dst, src, size);
    return true;
  }
};

template <typename Codec, typename... Args>
Contestant ArenaContestant(std::string name, Args... args) {
  return Contestant{std::move(name), MemoryBasis::kCompressedOnly, false,
                    [args...](const StoreSetup& setup) -> Result<std::unique_ptr<PageStore>> {
                      return std::unique_ptr<PageStore>(std::make_unique<ArenaStore<Codec>>(
                          setup.corpus->page_count(), setup.corpus->page_size(), Codec(args...)));
                    }};
}

}  // namespace

Contestant RawLz4Contestant() { return ArenaContestant<Lz4Codec>("raw-lz4"); }
Contestant RawZstdContestant(int level) {
  return ArenaContestant<ZstdCodec>("raw-zstd-" + std::to_string(level), level);
}
Contestant MemcpyContestant() { return ArenaContestant<CopyCodec>("memcpy"); }

}  // namespace cleancache::compare
