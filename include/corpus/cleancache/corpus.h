// PageCorpus: page sets for benchmarks and tests, built from this machine's
// files, from one given file or directory, or synthetically.
//
// Contract:
//  - A corpus owns ONE contiguous buffer of page_count() x page_size() bytes;
//    page i starts at bytes().data() + i * page_size(). Pages are grouped by
//    source file: a file's pages are consecutive, in file order, and the tail
//    of its last page past the file's data is zero.
//  - Every builder is deterministic: the same options on the same machine
//    state give a byte-identical corpus. Directories are walked in sorted
//    (byte-wise) name order; symlinks are not followed; a file reachable twice
//    (hard link) is taken once. Synthetic pages come from a seeded generator
//    that does not depend on the standard library's distributions.
//  - Builders never throw for bad input: a bad option, a missing path or too
//    little input is a Status naming the problem.
// Thread safety: builders are pure functions (they only read files); a built
// corpus is immutable and may be read from any number of threads.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cleancache/status.h"

namespace cleancache {

struct CorpusFile {
  std::string path;         // source path, or "synthetic/<n>"
  std::string category;     // "text", "elf", "python", "data", "file" or "synthetic"
  uint64_t device = 0;      // st_dev of the source (synthetic: 0)
  uint64_t inode = 0;       // st_ino of the source (synthetic: ordinal + 1)
  uint64_t first_page = 0;  // index of the file's first page in the corpus
  uint64_t page_count = 0;
  uint64_t data_bytes = 0;  // bytes taken from the source; the rest is zero padding
};

class PageCorpus {
 public:
  PageCorpus() = default;
  // `bytes` must hold exactly the pages `files` describe, back to back.
  PageCorpus(uint32_t page_size, std::vector<uint8_t> bytes, std::vector<CorpusFile> files);

  uint32_t page_size() const { return page_size_; }
  size_t page_count() const { return page_size_ == 0 ? 0 : bytes_.size() / page_size_; }
  std::span<const uint8_t> bytes() const { return bytes_; }
  std::span<const uint8_t> page(size_t index) const { return {bytes_.data() + index * page_size_, page_size_}; }
  const std::vector<CorpusFile>& files() const { return files_; }

 private:
  uint32_t page_size_ = 0;
  std::vector<uint8_t> bytes_;
  std::vector<CorpusFile> files_;
};

// Which files of a category's roots count as members.
enum class CorpusFilter {
  kText,    // no NUL byte in the file's first page
  kElf,     // starts with the ELF magic
  kPython,  // name ends in ".py"
  kAny,     // any non-empty regular file
};

struct CorpusCategory {
  std::string name;
  std::vector<std::string> roots;  // files or directories, walked in this order
  CorpusFilter filter = CorpusFilter::kAny;
  uint32_t weight = 1;  // share of the pages, relative to the other categories
};

// The machine-files mix: text (/usr/share/doc, /usr/include) 25%, ELF
// binaries and libraries (/usr/bin, /usr/lib/x86_64-linux-gnu) 40%, Python
// (/usr/lib/python3*) 15%, data (/usr/share/{zoneinfo,locale,mime,i18n,misc,
// terminfo}) 20%. Roots that do not exist here are left out.
std::vector<CorpusCategory> DefaultMachineCategories();

struct MachineCorpusOptions {
  uint64_t pages = 65536;
  uint32_t page_size = 4096;
  // Only the first this-many bytes of a big file are used, so that a few huge
  // libraries do not make up a whole category (0 = whole files).
  uint64_t max_file_bytes = 1ull << 20;
  std::vector<CorpusCategory> categories = DefaultMachineCategories();
};

// Fills `pages` pages from the categories' files. Each category gets its
// weight's share of the pages (the last file of a category is cut at its
// quota); files of the categories are interleaved so that every prefix of the
// corpus keeps roughly the mix. A category that runs out of files leaves its
// remaining share to the others. NotFound if all of them together have fewer
// pages than asked.
Result<PageCorpus> BuildMachineCorpus(const MachineCorpusOptions& options);

// Pages of one regular file, or of every regular file under a directory
// (sorted walk), each file padded to a page boundary. `max_pages` = 0: all.
// NotFound for a missing path; InvalidArgument if there is no data at all.
Result<PageCorpus> LoadPagesFromPath(const std::string& path, uint32_t page_size, uint64_t max_pages = 0);

struct SyntheticCorpusOptions {
  uint64_t pages = 1024;
  uint32_t page_size = 4096;
  // Share of each (not same-filled) page that is repeated English text; the
  // rest is random bytes. 1 = highly compressible, 0 = incompressible.
  double compressibility = 0.5;
  // Share of pages whose 64-bit words are all equal (half of them zero).
  double same_filled_share = 0.0;
  uint64_t seed = 1;
  uint64_t pages_per_file = 256;  // pages are grouped into files of this many
};

Result<PageCorpus> BuildSyntheticCorpus(const SyntheticCorpusOptions& options);

// True if every 64-bit word of `page` is equal (`page` size a multiple of 8).
bool IsSameFilledPage(std::span<const uint8_t> page);

// InvalidArgument unless `page_size` is a power of two in 512 .. 65536.
Status CheckCorpusPageSize(uint32_t page_size);

}  // namespace cleancache
