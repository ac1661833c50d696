// SortedFileWalk: the regular files under a list of roots, in an order that
// depends only on the names (depth first, each directory's entries sorted
// byte-wise), so that corpora built from a walk are reproducible.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace cleancache {

class SortedFileWalk {
 public:
  // Roots are visited in the order given; a root may be a file or a directory.
  explicit SortedFileWalk(std::vector<std::string> roots);

  // The next regular file, or nullopt at the end. Symlinks, devices and
  // unreadable directories are skipped (never followed, so no cycles).
  std::optional<std::string> Next();

 private:
  struct Level {
    std::vector<std::string> paths;
    size_t next = 0;
  };
  std::vector<Level> stack_;
};

}  // namespace cleancache
