// TempTree: a temporary directory for corpus tests, removed on destruction.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace cleancache::testing {

class TempTree {
 public:
  TempTree() {
    std::string pattern = (std::filesystem::temp_directory_path() / "cleancache-corpus-XXXXXX").string();
    root_ = mkdtemp(pattern.data());
  }
  ~TempTree() {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;

  const std::string& root() const { return root_; }

  // Writes `bytes` to root/relative (parents created); returns the full path.
  std::string Write(const std::string& relative, const std::vector<uint8_t>& bytes) const {
    const std::filesystem::path path = std::filesystem::path(root_) / relative;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return path.string();
  }
  std::string Write(const std::string& relative, const std::string& text) const {
    return Write(relative, std::vector<uint8_t>(text.begin(), text.end()));
  }

 private:
  std::string root_;
};

// `size` bytes of a pattern that never contains a zero byte.
inline std::vector<uint8_t> Pattern(size_t size, uint8_t salt) {
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>('a' + (i * 7 + salt) % 26);
  return bytes;
}

}  // namespace cleancache::testing
