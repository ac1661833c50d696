// RocksDB's CompressedSecondaryCache (LZ4), driven through its public
// SecondaryCache interface exactly as RocksDB's block cache drives it: Insert
// with a CacheItemHelper that copies the page out, Lookup with a create
// callback that copies it back. Keys are (device, inode, index), 24 bytes.
// Its admission is two-touch: the first Insert of a key stores only a
// placeholder; PrepareForPut makes that first touch. Gets always keep the page.
#include <rocksdb/cache.h>
#include <rocksdb/secondary_cache.h>

#include <cstring>

#include "compare/stores.h"

namespace cleancache::compare {
namespace {

constexpr size_t kKeyBytes = 24;

class RocksDbStore final : public PageStore {
 public:
  RocksDbStore(const PageIds& ids, std::shared_ptr<rocksdb::SecondaryCache> cache, uint32_t page_size)
      : ids_(ids), cache_(std::move(cache)), page_size_(page_size) {
    // The page being put is the cache "object"; it is copied out, never owned.
    helper_ =
        rocksdb::Cache::CacheItemHelper([](void* object) -> size_t { return static_cast<PageObject*>(object)->size; },
                                        [](void* object, size_t offset, size_t length, void* out) -> rocksdb::Status {
                                          std::memcpy(out, static_cast<PageObject*>(object)->data + offset, length);
                                          return rocksdb::Status::OK();
                                        },
                                        [](const rocksdb::Slice&, void*) {});
    // Lookup hands the uncompressed bytes to this callback, which copies them
    // into the caller's buffer (the "object" it creates).
    create_ = [this](const void* buffer, size_t size, void** object, size_t* charge) -> rocksdb::Status {
      if (size != get_target_.size()) return rocksdb::Status::Corruption("page of the wrong size");
      std::memcpy(get_target_.data(), buffer, size);
      *object = get_target_.data();
      *charge = size;
      return rocksdb::Status::OK();
    };
  }

  void PrepareForPut(uint64_t page, std::span<const uint8_t> data) override { Put(page, data); }

  void Put(uint64_t page, std::span<const uint8_t> data) override {
    PageObject object{data.data(), data.size()};
    Key key(ids_, page);
    (void)cache_->Insert(key.slice(), &object, &helper_);
  }

  bool Get(uint64_t page, std::span<uint8_t> out) override {
    if (out.size() != page_size_) return false;
    get_target_ = out;
    Key key(ids_, page);
    bool in_secondary = false;
    // advise_erase=false: the page stays, RocksDB's cheapest hit (an erase
    // would also insert a placeholder).
    std::unique_ptr<rocksdb::SecondaryCacheResultHandle> handle =
        cache_->Lookup(key.slice(), create_, /*wait=*/true, /*advise_erase=*/false, in_secondary);
    return handle != nullptr && handle->Value() != nullptr;
  }

 private:
  struct PageObject {
    const uint8_t* data;
    size_t size;
  };
  class Key {
   public:
    Key(const PageIds& ids, uint64_t page) {
      const uint64_t words[3] = {ids.device(page), ids.inode(page), ids.index(page)};
      std::memcpy(bytes_, words, sizeof bytes_);
    }
    rocksdb::Slice slice() const { return rocksdb::Slice(bytes_, kKeyBytes); }

   private:
    char bytes_[kKeyBytes];
  };

  const PageIds& ids_;
  std::shared_ptr<rocksdb::SecondaryCache> cache_;
  uint32_t page_size_;
  rocksdb::Cache::CacheItemHelper helper_;
  rocksdb::Cache::CreateCallback create_;
  std::span<uint8_t> get_target_;
};

}  // namespace

Contestant RocksDbContestant() {
  return Contestant{"rocksdb-lz4", MemoryBasis::kProcessMemory, true,
                    [](const StoreSetup& setup) -> Result<std::unique_ptr<PageStore>> {
                      rocksdb::CompressedSecondaryCacheOptions options;
                      options.capacity = setup.capacity_bytes != 0 ? setup.capacity_bytes
                                                                   : 2 * setup.corpus->bytes().size() + (64u << 20);
                      options.compression_type = rocksdb::kLZ4Compression;
                      std::shared_ptr<rocksdb::SecondaryCache> cache = rocksdb::NewCompressedSecondaryCache(options);
                      if (!cache) return Status::Unavailable("RocksDB refused to create a CompressedSecondaryCache");
                      return std::unique_ptr<PageStore>(
                          std::make_unique<RocksDbStore>(*setup.ids, std::move(cache), setup.corpus->page_size()));
                    }};
}

}  // namespace cleancache::compare
