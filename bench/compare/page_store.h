// PageStore: one contestant of `compare` -- something that keeps 4 KiB pages
// by their number in a corpus (our backend through the Cleancache shim,
// RocksDB's CompressedSecondaryCache, kernel zram, a raw codec, memcpy).
//
// Contract:
//  - Put offers a page; the store may keep it, evict others, or drop it.
//    Get returns true and fills `out` only with the bytes last put for that
//    page. Neither reports errors: a failure is a miss. Gets leave the page in
//    place, except in stores built to mimic Linux's private pools (exclusive
//    gets), which say so in their name.
//  - PrepareForPut is called (untimed) for every page before a timed put pass,
//    for stores whose admission policy must have seen a key before the put
//    that stores it (RocksDB's two-touch admission). The default does nothing.
//  - Memory() is the store's own account of the memory it holds, when it has
//    one that is honest (zram's mem_used_total, a raw codec's payload bytes);
//    nullopt means "measure my process memory instead" (see process_memory.h).
// Thread safety: none; one thread drives a store. Buffers are borrowed.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cleancache/corpus.h"
#include "cleancache/file_key.h"
#include "cleancache/status.h"

namespace cleancache::compare {

class PageStore {
 public:
  virtual ~PageStore() = default;
  virtual void PrepareForPut(uint64_t page, std::span<const uint8_t> data) {}
  virtual void Put(uint64_t page, std::span<const uint8_t> data) = 0;
  virtual bool Get(uint64_t page, std::span<uint8_t> out) = 0;
  virtual std::optional<uint64_t> Memory() const { return std::nullopt; }
};

// Where a page of a corpus comes from: the same identity every store keys by
// (file = (device, inode) of the corpus file, index = page within it).
class PageIds {
 public:
  explicit PageIds(const PageCorpus& corpus);
  size_t size() const { return file_of_page_.size(); }
  const FileKey& file_key(uint64_t page) const { return file_keys_[file_of_page_[page]]; }
  uint64_t device(uint64_t page) const { return devices_[file_of_page_[page]]; }
  uint64_t inode(uint64_t page) const { return inodes_[file_of_page_[page]]; }
  uint64_t index(uint64_t page) const { return index_of_page_[page]; }

 private:
  std::vector<FileKey> file_keys_;  // per corpus file
  std::vector<uint64_t> devices_;
  std::vector<uint64_t> inodes_;
  std::vector<uint32_t> file_of_page_;
  std::vector<uint64_t> index_of_page_;
};

// What a store is built for: `capacity_bytes` bounds its memory (0: room for
// all of `corpus`, nothing evicted).
struct StoreSetup {
  const PageCorpus* corpus = nullptr;
  const PageIds* ids = nullptr;
  uint64_t capacity_bytes = 0;
};

}  // namespace cleancache::compare
