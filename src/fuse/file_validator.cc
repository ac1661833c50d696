#include "fuse/file_validator.h"

#include <cstring>
#include <vector>

namespace cleancache::fuse {
namespace {

int64_t ToNs(const struct timespec& ts) { return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec; }

// FNV-1a: a long identity is folded to 64 bits; a collision needs two live
// files whose handles collide AND whose validators are equal.
uint64_t Fnv1a(std::span<const uint8_t> bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint8_t b : bytes) h = (h ^ b) * 0x100000001b3ull;
  return h;
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
  std::vector<uint8_t> bytes(identity.bytes().begin(), identity.bytes().end());
  uint64_t dev = device;
  if (bytes.size() + sizeof(dev) > FileKey::kMaxBytes) {
    uint64_t folded = Fnv1a(bytes);
    bytes.resize(sizeof(folded));
    std::memcpy(bytes.data(), &folded, sizeof(folded));
  }
  size_t at = bytes.size();
  bytes.resize(at + sizeof(dev));
  std::memcpy(bytes.data() + at, &dev, sizeof(dev));
  return FileKey::FromBytes(identity.type(), bytes).value();
}

FileKey VersionedKey(const FileKey& identity, const FileValidator& validator) {
  std::vector<uint8_t> bytes;
  constexpr size_t kValidatorBytes = sizeof(FileValidator);
  if (identity.size() + kValidatorBytes <= FileKey::kMaxBytes) {
    bytes.assign(identity.bytes().begin(), identity.bytes().end());
  } else {
    uint64_t folded = Fnv1a(identity.bytes());
    bytes.resize(sizeof(folded));
    std::memcpy(bytes.data(), &folded, sizeof(folded));
  }
  size_t at = bytes.size();
  bytes.resize(at + kValidatorBytes);
  std::memcpy(bytes.data() + at, &validator.size, 8);
  std::memcpy(bytes.data() + at + 8, &validator.mtime_ns, 8);
  std::memcpy(bytes.data() + at + 16, &validator.ctime_ns, 8);
  return FileKey::FromBytes(identity.type(), bytes).value();
}

}  // namespace cleancache::fuse
