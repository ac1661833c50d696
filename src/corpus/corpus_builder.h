// CorpusBuilder: grows one contiguous page buffer file by file, padding each
// file to a page boundary; the common back end of every corpus builder.
#pragma once

#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cleancache/corpus.h"
#include "cleancache/status.h"

namespace cleancache {

class CorpusBuilder {
 public:
  // `expected_pages` only sizes the first allocation.
  CorpusBuilder(uint32_t page_size, uint64_t expected_pages);

  uint64_t page_count() const { return bytes_.size() / page_size_; }

  // Appends at most `max_pages` pages of the regular file at `path` (a symlink
  // is not followed) as one CorpusFile, if `filter` accepts it. Returns the
  // pages appended: 0 when the file is empty, filtered out, or a file already
  // taken (same device and inode). An error when it cannot be opened or read.
  Result<uint64_t> AppendFile(const std::string& path, std::string_view category, CorpusFilter filter,
                              uint64_t max_pages);

  // Appends `pages` zeroed pages as one file and returns them for filling.
  std::span<uint8_t> AppendBlankFile(std::string path, std::string_view category, uint64_t device, uint64_t inode,
                                     uint64_t pages);

  PageCorpus Finish() &&;

 private:
  uint32_t page_size_;
  std::vector<uint8_t> bytes_;
  std::vector<CorpusFile> files_;
  std::set<std::pair<uint64_t, uint64_t>> taken_;  // (device, inode) of files appended
};

}  // namespace cleancache
