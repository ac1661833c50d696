// Pages of a user-given file or directory (`cleancache bench --file`).
#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>

#include "cleancache/corpus.h"
#include "corpus/corpus_builder.h"
#include "corpus/sorted_file_walk.h"

namespace cleancache {

Result<PageCorpus> LoadPagesFromPath(const std::string& path, uint32_t page_size, uint64_t max_pages) {
  if (Status s = CheckCorpusPageSize(page_size); !s.ok()) return s;
  // The path the user named may itself be a symlink; inside it, none is followed.
  std::unique_ptr<char, void (*)(void*)> resolved(realpath(path.c_str(), nullptr), std::free);
  if (!resolved) return Status::NotFound("cannot use '" + path + "': " + std::strerror(errno));
  const std::string root = resolved.get();
  struct stat st;
  if (stat(root.c_str(), &st) != 0) return Status::NotFound("cannot use '" + path + "': " + std::strerror(errno));
  if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
    return Status::InvalidArgument("'" + path + "' is neither a regular file nor a directory");

  const uint64_t limit = max_pages == 0 ? std::numeric_limits<uint64_t>::max() : max_pages;
  CorpusBuilder builder(page_size,
                        S_ISREG(st.st_mode) ? (static_cast<uint64_t>(st.st_size) + page_size - 1) / page_size : 0);
  if (S_ISREG(st.st_mode)) {
    Result<uint64_t> added = builder.AppendFile(root, "file", CorpusFilter::kAny, limit);
    if (!added.ok()) return added.status();
  } else {
    SortedFileWalk walk({root});
    while (builder.page_count() < limit) {
      std::optional<std::string> file = walk.Next();
      if (!file) break;
      // One unreadable file in a tree is skipped, not fatal: the rest is still a corpus.
      (void)builder.AppendFile(*file, "file", CorpusFilter::kAny, limit - builder.page_count());
    }
  }
  if (builder.page_count() == 0) return Status::InvalidArgument("'" + path + "' holds no data (only empty files)");
  return std::move(builder).Finish();
}

}  // namespace cleancache
