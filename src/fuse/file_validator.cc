#include "fuse/file_validator.h"

#include <xxhash.h>

#include <array>
#include <cstring>

namespace cleancache::fuse {
namespace {

int64_t ToNs(const struct timespec& ts) { return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec; }

// A long identity is folded to 64 bits (XXH3); a collision needs two live
// files whose handles collide AND whose validators are equal. The folded
// value reaches the backend as part of a key, so a shared pool or a
// memcached server holds keys of older builds too (they folded with FNV-1a):
// those only ever miss, as a key from another hash names no page of ours,
// and only handles longer than 128 - 24 bytes are folded at all.
uint64_t Fold(std::span<const uint8_t> bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

// The identity's bytes followed by `suffix`; an identity too long for both
// is folded to 64 bits first. Built on the stack: this runs on every read.
FileKey Append(const FileKey& identity, std::span<const uint8_t> suffix) {
  std::array<uint8_t, FileKey::kMaxBytes> bytes;
  size_t at = identity.size();
  if (at + suffix.size() <= bytes.size()) {
    std::memcpy(bytes.data(), identity.bytes().data(), at);
  } else {
    uint64_t folded = Fold(identity.bytes());
    at = sizeof(folded);
    std::memcpy(bytes.data(), &folded, at);
  }
  std::memcpy(bytes.data() + at, suffix.data(), suffix.size());
  return FileKey::FromBytes(identity.type(), {bytes.data(), at + suffix.size()}).value();
}

}  // namespace

FileValidator FileValidator::FromStat(const struct stat& st) {
  return FileValidator{static_cast<int64_t>(st.st_size), ToNs(st.st_mtim), ToNs(st.st_ctim)};
}

bool IsRacy(const FileValidator& validator, int64_t now_ns) {
  return now_ns - validator.ctime_ns < kRacyWindowNs || now_ns - validator.mtime_ns < kRacyWindowNs;
}

int64_t RealtimeNowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ToNs(ts);
}

FileKey DeviceQualified(const FileKey& identity, dev_t device) {
  if (identity.is_inode_fallback()) return identity;
  uint64_t dev = device;
  return Append(identity, {reinterpret_cast<const uint8_t*>(&dev), sizeof(dev)});
}

FileKey VersionedKey(const FileKey& identity, const FileValidator& validator) {
  std::array<uint8_t, 24> suffix;
  std::memcpy(suffix.data(), &validator.size, 8);
  std::memcpy(suffix.data() + 8, &validator.mtime_ns, 8);
  std::memcpy(suffix.data() + 16, &validator.ctime_ns, 8);
  return Append(identity, suffix);
}

}  // namespace cleancache::fuse
