#include "cleancache/file_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <xxhash.h>

#include <cerrno>
#include <cstdio>

namespace cleancache {
namespace {

// name_to_handle_at's buffer: the kernel header fields followed by room for
// the largest handle the kernel hands out (MAX_HANDLE_SZ = 128).
struct HandleBuffer {
  struct file_handle header;
  unsigned char room[FileKey::kMaxBytes];
};

Status HandleError(int err, const char* what) {
  std::string msg = std::string("name_to_handle_at(") + what + "): " + std::strerror(err);
  switch (err) {
    case EOPNOTSUPP:
    case EOVERFLOW:  // a handle larger than 128 bytes: no usable handle
      return Status::NotSupported(msg);
    case ENOENT:
    case ENOTDIR: return Status::NotFound(msg);
    case EBADF:
    case EINVAL: return Status::InvalidArgument(msg);
    case EACCES:
    case EPERM: return Status::PermissionDenied(msg);
    default: return Status::IOError(msg);
  }
}

Result<FileKey> HandleAt(int dirfd, const char* path, int flags, const char* what) {
  HandleBuffer buffer{};
  buffer.header.handle_bytes = FileKey::kMaxBytes;
  int mount_id = 0;
  if (name_to_handle_at(dirfd, path, &buffer.header, &mount_id, flags) != 0) {
    return HandleError(errno, what);
  }
  return FileKey::FromBytes(static_cast<uint32_t>(buffer.header.handle_type),
                            std::span<const uint8_t>(buffer.header.f_handle, buffer.header.handle_bytes));
}

}  // namespace

FileKey FileKey::FromInode(uint64_t dev, uint64_t ino) {
  uint8_t bytes[16];
  std::memcpy(bytes, &dev, sizeof dev);
  std::memcpy(bytes + 8, &ino, sizeof ino);
  return FromBytes(kInodeType, bytes).value();
}

Result<FileKey> FileKey::FromBytes(uint32_t type, std::span<const uint8_t> bytes) {
  if (bytes.size() > kMaxBytes) {
    return Status::InvalidArgument("file key of " + std::to_string(bytes.size()) + " bytes is longer than the " +
                                   std::to_string(kMaxBytes) + "-byte maximum");
  }
  FileKey key;
  key.type_ = type;
  key.size_ = static_cast<uint8_t>(bytes.size());
  if (!bytes.empty()) std::memcpy(key.bytes_.data(), bytes.data(), bytes.size());
  key.Rehash();
  return key;
}

Result<FileKey> FileKey::FromHandleAt(int dirfd, const char* path, bool follow) {
  if (path == nullptr) return Status::InvalidArgument("FromHandleAt: null path");
  return HandleAt(dirfd, path, follow ? AT_SYMLINK_FOLLOW : 0, path);
}

Result<FileKey> FileKey::ForDescriptor(int fd, bool* is_handle) {
  Result<FileKey> handle = HandleAt(fd, "", AT_EMPTY_PATH, "descriptor");
  if (handle.ok()) {
    if (is_handle != nullptr) *is_handle = true;
    return handle;
  }
  if (handle.status().code() != Status::Code::kNotSupported) return handle.status();
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return Status::InvalidArgument(std::string("fstat(descriptor): ") + std::strerror(errno));
  }
  if (is_handle != nullptr) *is_handle = false;
  return FromInode(static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino));
}

std::string FileKey::ToString() const {
  static constexpr char kHex[] = "0123456789abcdef";
  char type_text[16];
  std::snprintf(type_text, sizeof type_text, "%08x:", type_);
  std::string text = type_text;
  for (size_t i = 0; i < size_; ++i) {
    text += kHex[bytes_[i] >> 4];
    text += kHex[bytes_[i] & 15];
  }
  return text;
}

// The hash covers type and length as well as the bytes, so keys that differ
// only in type or length hash differently (and equality checks all three).
void FileKey::Rehash() {
  uint8_t buffer[sizeof(uint32_t) + 1 + kMaxBytes];
  std::memcpy(buffer, &type_, sizeof type_);
  buffer[sizeof type_] = size_;
  std::memcpy(buffer + sizeof type_ + 1, bytes_.data(), size_);
  hash_ = XXH3_64bits(buffer, sizeof type_ + 1 + size_);
}

}  // namespace cleancache
