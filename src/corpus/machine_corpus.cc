// The machine-files corpus: pages of this machine's own files in a fixed
// category mix, the data every zcache figure in docs/PERFORMANCE.md uses.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <limits>

#include "cleancache/corpus.h"
#include "corpus/corpus_builder.h"
#include "corpus/sorted_file_walk.h"

namespace cleancache {
namespace {

constexpr uint64_t kMaxCorpusBytes = 1ull << 36;
constexpr uint32_t kMaxWeight = 1u << 20;

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

std::vector<std::string> Existing(std::vector<std::string> paths) {
  std::erase_if(paths, [](const std::string& p) { return !Exists(p); });
  return paths;
}

// /usr/lib/python3* (python3, python3.11, ...) in sorted order.
std::vector<std::string> PythonRoots() {
  std::vector<std::string> roots;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib", error)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("python3") && entry.is_directory(error) && !entry.is_symlink(error))
      roots.push_back(entry.path().string());
  }
  std::sort(roots.begin(), roots.end());
  return roots;
}

struct CategoryState {
  const CorpusCategory* category;
  SortedFileWalk walk;
  uint64_t target = 0;
  uint64_t filled = 0;
  bool exhausted = false;
};

// The category to draw the next file from: first the one furthest below its
// target, then (once every target is met or out of files) the one with the
// fewest pages per unit of weight. nullptr when all are out of files.
CategoryState* NextCategory(std::vector<CategoryState>& states) {
  CategoryState* best = nullptr;
  for (CategoryState& s : states) {  // filled/target smallest, compared without division
    if (s.exhausted || s.filled >= s.target) continue;
    if (!best || s.filled * best->target < best->filled * s.target) best = &s;
  }
  if (best) return best;
  for (CategoryState& s : states) {
    if (s.exhausted || s.category->weight == 0) continue;
    if (!best || s.filled * best->category->weight < best->filled * s.category->weight) best = &s;
  }
  return best;
}

std::string RootList(const std::vector<CorpusCategory>& categories) {
  std::string list;
  for (const CorpusCategory& c : categories)
    for (const std::string& root : c.roots) list += (list.empty() ? "" : ", ") + root;
  return list.empty() ? "(no roots)" : list;
}

}  // namespace

std::vector<CorpusCategory> DefaultMachineCategories() {
  return {
      {"text", Existing({"/usr/share/doc", "/usr/include"}), CorpusFilter::kText, 25},
      {"elf", Existing({"/usr/bin", "/usr/lib/x86_64-linux-gnu"}), CorpusFilter::kElf, 40},
      {"python", PythonRoots(), CorpusFilter::kPython, 15},
      {"data",
       Existing({"/usr/share/zoneinfo", "/usr/share/locale", "/usr/share/mime", "/usr/share/i18n", "/usr/share/misc",
                 "/usr/share/terminfo"}),
       CorpusFilter::kAny, 20},
  };
}

Result<PageCorpus> BuildMachineCorpus(const MachineCorpusOptions& options) {
  if (Status s = CheckCorpusPageSize(options.page_size); !s.ok()) return s;
  if (options.pages == 0) return Status::InvalidArgument("machine corpus: page count must be at least 1");
  if (options.pages > kMaxCorpusBytes / options.page_size) {
    return Status::InvalidArgument("machine corpus: " + std::to_string(options.pages) + " pages of " +
                                   std::to_string(options.page_size) + " bytes is more than 64 GiB");
  }
  uint64_t total_weight = 0;
  for (const CorpusCategory& c : options.categories) {
    if (c.weight > kMaxWeight) return Status::InvalidArgument("machine corpus: weight of '" + c.name + "' too large");
    total_weight += c.weight;
  }
  if (total_weight == 0) return Status::InvalidArgument("machine corpus: no category with a positive weight");

  std::vector<CategoryState> states;
  uint64_t assigned = 0;
  for (const CorpusCategory& c : options.categories) {
    states.push_back(CategoryState{&c, SortedFileWalk(c.roots)});
    states.back().target = options.pages * c.weight / total_weight;
    assigned += states.back().target;
  }
  for (CategoryState& s : states) {  // the rounding remainder, one page each, in order
    if (assigned == options.pages) break;
    if (s.category->weight == 0) continue;
    ++s.target;
    ++assigned;
  }

  const uint64_t max_file_pages = options.max_file_bytes == 0
                                      ? std::numeric_limits<uint64_t>::max()
                                      : (options.max_file_bytes + options.page_size - 1) / options.page_size;
  CorpusBuilder builder(options.page_size, options.pages + std::min<uint64_t>(max_file_pages, options.pages));
  while (builder.page_count() < options.pages) {
    CategoryState* state = NextCategory(states);
    if (!state) {
      return Status::NotFound("machine corpus: only " + std::to_string(builder.page_count()) + " pages of " +
                              std::to_string(options.page_size) + " bytes found under " + RootList(options.categories) +
                              "; asked for " + std::to_string(options.pages));
    }
    const uint64_t quota =
        state->filled < state->target ? state->target - state->filled : options.pages - builder.page_count();
    for (;;) {
      std::optional<std::string> path = state->walk.Next();
      if (!path) {
        state->exhausted = true;
        break;
      }
      // Unreadable files are skipped like filtered ones: the walk is over
      // system directories where a few files may be private.
      Result<uint64_t> added =
          builder.AppendFile(*path, state->category->name, state->category->filter, std::min(quota, max_file_pages));
      if (added.ok() && *added > 0) {
        state->filled += *added;
        break;
      }
    }
  }
  return std::move(builder).Finish();
}

}  // namespace cleancache
