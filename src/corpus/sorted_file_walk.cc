#include "corpus/sorted_file_walk.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace cleancache {
namespace {

std::vector<std::string> SortedChildren(const std::string& dir) {
  std::vector<std::string> names;
  std::unique_ptr<DIR, int (*)(DIR*)> handle(opendir(dir.c_str()), closedir);
  if (!handle) return names;
  while (const dirent* entry = readdir(handle.get())) {
    if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
    names.emplace_back(entry->d_name);
  }
  std::sort(names.begin(), names.end());
  const std::string prefix = dir.ends_with('/') ? dir : dir + "/";
  for (std::string& name : names) name = prefix + name;
  return names;
}

}  // namespace

SortedFileWalk::SortedFileWalk(std::vector<std::string> roots) { stack_.push_back(Level{std::move(roots)}); }

std::optional<std::string> SortedFileWalk::Next() {
  while (!stack_.empty()) {
    Level& level = stack_.back();
    if (level.next == level.paths.size()) {
      stack_.pop_back();
      continue;
    }
    std::string path = level.paths[level.next++];
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) continue;
    if (S_ISREG(st.st_mode)) return path;
    if (S_ISDIR(st.st_mode)) stack_.push_back(Level{SortedChildren(path)});  // invalidates `level`
  }
  return std::nullopt;
}

}  // namespace cleancache
