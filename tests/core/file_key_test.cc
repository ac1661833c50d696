#include "cleancache/file_key.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace cleancache {
namespace {

// A temporary directory removed at the end of the test, even on failure.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/cc_file_key_XXXXXX";
    path_ = mkdtemp(pattern);
  }
  ~TempDir() {
    for (const auto& file : files_) unlink(file.c_str());
    rmdir(path_.c_str());
  }
  std::string Create(const std::string& name) {
    std::string file = path_ + "/" + name;
    int fd = open(file.c_str(), O_CREAT | O_WRONLY, 0600);
    EXPECT_GE(fd, 0);
    close(fd);
    files_.push_back(file);
    return file;
  }

 private:
  std::string path_;
  std::vector<std::string> files_;
};

TEST(FileKey, FromInodeEncodesDeviceAndInode) {
  const FileKey key = FileKey::FromInode(3, 77);
  EXPECT_TRUE(key.is_inode_fallback());
  EXPECT_EQ(key.type(), FileKey::kInodeType);
  EXPECT_EQ(key.size(), 16u);
  EXPECT_EQ(key, FileKey::FromInode(3, 77));
  EXPECT_FALSE(key == FileKey::FromInode(3, 78));
  EXPECT_FALSE(key == FileKey::FromInode(4, 77));
}

TEST(FileKey, FromBytesChecksLength) {
  std::vector<uint8_t> bytes(128, 1);
  EXPECT_TRUE(FileKey::FromBytes(2, bytes).ok());
  bytes.push_back(1);
  auto too_long = FileKey::FromBytes(2, bytes);
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(too_long.status().message().find("129"), std::string::npos);
}

TEST(FileKey, TypeAndLengthArePartOfIdentityAndHash) {
  const uint8_t bytes[4] = {9, 0, 0, 0};
  const FileKey a = FileKey::FromBytes(1, std::span(bytes, 1)).value();
  const FileKey longer = FileKey::FromBytes(1, std::span(bytes, 2)).value();
  const FileKey other_type = FileKey::FromBytes(2, std::span(bytes, 1)).value();
  EXPECT_FALSE(a == longer);
  EXPECT_FALSE(a == other_type);
  EXPECT_NE(a.hash(), longer.hash());
  EXPECT_NE(a.hash(), other_type.hash());
  EXPECT_EQ(a.hash(), FileKey::FromBytes(1, std::span(bytes, 1)).value().hash());
  EXPECT_EQ(FileKey(), FileKey::FromBytes(0, {}).value());
}

TEST(FileKey, ToStringShowsTypeAndHexBytes) {
  const uint8_t bytes[3] = {0x00, 0xab, 0x10};
  EXPECT_EQ(FileKey::FromBytes(0x12, bytes).value().ToString(), "00000012:00ab10");
}

TEST(FileKey, HandleOfAFileIsStableAndDistinct) {
  TempDir dir;
  const std::string one = dir.Create("one"), two = dir.Create("two");
  auto a = FileKey::FromHandleAt(AT_FDCWD, one.c_str(), true);
  if (!a.ok()) {
    // Filesystems without export support (e.g. overlayfs) must say so clearly.
    ASSERT_EQ(a.status().code(), Status::Code::kNotSupported) << a.status().ToString();
    int fd = open(one.c_str(), O_RDONLY);
    bool is_handle = true;
    auto fallback = FileKey::ForDescriptor(fd, &is_handle);
    close(fd);
    ASSERT_TRUE(fallback.ok());
    EXPECT_FALSE(is_handle);
    EXPECT_TRUE(fallback->is_inode_fallback());
    return;
  }
  EXPECT_FALSE(a->is_inode_fallback());
  EXPECT_GT(a->size(), 0u);
  auto again = FileKey::FromHandleAt(AT_FDCWD, one.c_str(), false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*a, again.value());
  auto b = FileKey::FromHandleAt(AT_FDCWD, two.c_str(), true);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(*a == b.value());
  int fd = open(one.c_str(), O_RDONLY);
  bool is_handle = false;
  auto from_fd = FileKey::ForDescriptor(fd, &is_handle);
  close(fd);
  ASSERT_TRUE(from_fd.ok());
  EXPECT_TRUE(is_handle);
  EXPECT_EQ(from_fd.value(), *a);
}

TEST(FileKey, ErrorsAreClear) {
  auto missing = FileKey::FromHandleAt(AT_FDCWD, "/nonexistent/cleancache/file", true);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_NE(missing.status().message().find("/nonexistent/cleancache/file"), std::string::npos);
  EXPECT_FALSE(FileKey::FromHandleAt(AT_FDCWD, nullptr, true).ok());
  auto bad_fd = FileKey::ForDescriptor(-1);
  ASSERT_FALSE(bad_fd.ok());
  EXPECT_EQ(bad_fd.status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace cleancache
