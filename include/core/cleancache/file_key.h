// FileKey: the identity of a file inside a pool.
//
// Contract (seed point 1 and 3): a key names the *file*, never an in-memory
// object, so cached pages survive close() and inode-cache pruning and are
// dropped only by an explicit invalidation. A key is up to 128 opaque bytes
// plus a 32-bit type; equality and hashing cover type, length and bytes.
// Preferred source: the backing filesystem's export handle
// (name_to_handle_at), which carries the inode generation, so a recycled inode
// number never matches old pages. Fallback: (st_dev, st_ino), which can match
// a recycled inode number; frontends using it must invalidate on unlink.
// FileKey is a small immutable value; safe to share between threads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "cleancache/status.h"

namespace cleancache {

class FileKey {
 public:
  static constexpr size_t kMaxBytes = 128;
  // Type used for (st_dev, st_ino) fallback keys; kernel handle types are small.
  static constexpr uint32_t kInodeType = 0xCC000001u;

  FileKey() { Rehash(); }

  // (dev, ino) fallback key.
  static FileKey FromInode(uint64_t dev, uint64_t ino);
  // A raw key; fails if bytes.size() > kMaxBytes.
  static Result<FileKey> FromBytes(uint32_t type, std::span<const uint8_t> bytes);
  // The export handle of the file at `path` (relative to dirfd), following
  // symlinks only if `follow`. NotSupported if the filesystem has no handles.
  static Result<FileKey> FromHandleAt(int dirfd, const char* path, bool follow);
  // Handle of an open descriptor if supported, else the (st_dev, st_ino)
  // fallback; `*is_handle` says which one was used.
  static Result<FileKey> ForDescriptor(int fd, bool* is_handle = nullptr);

  uint32_t type() const { return type_; }
  std::span<const uint8_t> bytes() const { return {bytes_.data(), size_}; }
  size_t size() const { return size_; }
  uint64_t hash() const { return hash_; }  // computed once, at construction
  bool is_inode_fallback() const { return type_ == kInodeType; }
  std::string ToString() const;  // "type:hexbytes", for logs and tests

  friend bool operator==(const FileKey& a, const FileKey& b) {
    return a.hash_ == b.hash_ && a.type_ == b.type_ && a.size_ == b.size_ &&
           std::memcmp(a.bytes_.data(), b.bytes_.data(), a.size_) == 0;
  }

 private:
  void Rehash();
  uint64_t hash_ = 0;
  uint32_t type_ = 0;
  uint8_t size_ = 0;
  std::array<uint8_t, kMaxBytes> bytes_{};
};

struct FileKeyHash {
  size_t operator()(const FileKey& k) const { return static_cast<size_t>(k.hash()); }
};

}  // namespace cleancache
