// Versioned keys and the racy rule (src/fuse/file_validator.h), no mount.
#include "fuse/file_validator.h"

#include <gtest/gtest.h>

#include <vector>

namespace cleancache::fuse {
namespace {

FileKey Handle(size_t size, uint8_t fill) {
  std::vector<uint8_t> bytes(size, fill);
  return FileKey::FromBytes(1, bytes).value();
}

TEST(FileValidator, AnyChangeOfSizeMtimeOrCtimeMovesTheKey) {
  FileKey id = Handle(8, 7);
  FileValidator v{100, 5'000'000'000, 6'000'000'000};
  FileKey base = VersionedKey(id, v);
  EXPECT_EQ(base, VersionedKey(id, v));
  for (auto changed : {FileValidator{101, v.mtime_ns, v.ctime_ns}, FileValidator{v.size, v.mtime_ns + 1, v.ctime_ns},
                       FileValidator{v.size, v.mtime_ns, v.ctime_ns + 1}}) {
    EXPECT_FALSE(base == VersionedKey(id, changed));
  }
  EXPECT_FALSE(base == VersionedKey(Handle(8, 8), v));
}

TEST(FileValidator, LongHandlesAreFoldedAndStayDistinct) {
  FileValidator v{1, 2, 3};
  FileKey a = VersionedKey(Handle(FileKey::kMaxBytes, 1), v);
  FileKey b = VersionedKey(Handle(FileKey::kMaxBytes, 2), v);
  EXPECT_LE(a.size(), FileKey::kMaxBytes);
  EXPECT_FALSE(a == b);
}

TEST(FileValidator, DeviceQualifiesHandlesButNotInodeKeys) {
  FileKey id = Handle(12, 3);
  EXPECT_FALSE(DeviceQualified(id, 1) == DeviceQualified(id, 2));
  EXPECT_EQ(DeviceQualified(id, 1), DeviceQualified(id, 1));
  FileKey inode = FileKey::FromInode(9, 42);
  EXPECT_EQ(DeviceQualified(inode, 9), inode);
  EXPECT_FALSE(DeviceQualified(Handle(FileKey::kMaxBytes, 1), 1) == DeviceQualified(Handle(FileKey::kMaxBytes, 1), 2));
}

TEST(FileValidator, RecentTimestampsAreRacy) {
  int64_t now = 1'000'000'000'000;
  EXPECT_TRUE(IsRacy({0, now - 1'000'000, now - 1'000'000}, now));            // ctime and mtime 1 ms ago
  EXPECT_TRUE(IsRacy({0, now - 10'000'000'000, now - 1'000'000}, now));       // only ctime recent
  EXPECT_TRUE(IsRacy({0, now + 10'000'000'000, now - 10'000'000'000}, now));  // mtime in the future
  EXPECT_FALSE(IsRacy({0, now - kRacyWindowNs - 1, now - kRacyWindowNs - 1}, now));
}

}  // namespace
}  // namespace cleancache::fuse
