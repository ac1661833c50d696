// Synthetic pages of a chosen compressibility and same-filled share, for
// measuring a backend on data whose properties are known exactly.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <string_view>

#include "cleancache/corpus.h"
#include "corpus/corpus_builder.h"

namespace cleancache {
namespace {

// Compressible filler: one sentence, repeated. Short, so that a page's text
// compresses to little more than the sentence once (compressed size tracks
// the random share); its length is not a multiple of 8, so no text page is
// same-filled.
constexpr std::string_view kPassage =
    "Cleancache keeps clean pages the page cache had to drop, so a later read need not go to disk. ";
static_assert(kPassage.size() % sizeof(uint64_t) != 0);

constexpr size_t kChunkBytes = 64;  // granularity of the text/random mix

// splitmix64: tiny, fast, and its output is fixed by its definition, unlike
// std:: distributions, so a seed means the same pages everywhere.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

void FillMixedPage(std::span<uint8_t> page, size_t random_chunks, SplitMix64& rng) {
  const size_t chunks = page.size() / kChunkBytes;
  size_t text_position = rng.Next() % kPassage.size();
  for (size_t chunk = 0; chunk < chunks; ++chunk) {
    uint8_t* out = page.data() + chunk * kChunkBytes;
    // Spread the random chunks evenly over the page (Bresenham).
    const bool random = (chunk + 1) * random_chunks / chunks > chunk * random_chunks / chunks;
    if (random) {
      for (size_t i = 0; i < kChunkBytes; i += sizeof(uint64_t)) {
        const uint64_t word = rng.Next();
        std::memcpy(out + i, &word, sizeof word);
      }
      continue;
    }
    for (size_t i = 0; i < kChunkBytes; ++i) {
      out[i] = static_cast<uint8_t>(kPassage[text_position]);
      text_position = (text_position + 1) % kPassage.size();
    }
  }
}

void FillSamePage(std::span<uint8_t> page, uint64_t word) {
  for (size_t offset = 0; offset < page.size(); offset += sizeof word)
    std::memcpy(page.data() + offset, &word, sizeof word);
}

Status CheckShare(const char* what, double value) {
  if (!(value >= 0.0 && value <= 1.0))  // also rejects NaN
    return Status::InvalidArgument(std::string(what) + " must be between 0 and 1, got " + std::to_string(value));
  return Status::Ok();
}

}  // namespace

Result<PageCorpus> BuildSyntheticCorpus(const SyntheticCorpusOptions& options) {
  if (Status s = CheckCorpusPageSize(options.page_size); !s.ok()) return s;
  if (Status s = CheckShare("compressibility", options.compressibility); !s.ok()) return s;
  if (Status s = CheckShare("same-filled share", options.same_filled_share); !s.ok()) return s;
  if (options.pages == 0) return Status::InvalidArgument("synthetic corpus: page count must be at least 1");
  if (options.pages > (1ull << 36) / options.page_size)
    return Status::InvalidArgument("synthetic corpus: more than 64 GiB of pages asked for");
  if (options.pages_per_file == 0)
    return Status::InvalidArgument("synthetic corpus: pages per file must be at least 1");

  SplitMix64 rng(options.seed);
  // Which pages are same-filled: the first `same` of a seeded shuffle.
  const auto same = static_cast<uint64_t>(std::llround(options.same_filled_share * static_cast<double>(options.pages)));
  std::vector<uint64_t> order(options.pages);
  std::iota(order.begin(), order.end(), uint64_t{0});
  for (uint64_t i = 0; i < same; ++i) std::swap(order[i], order[i + rng.Next() % (options.pages - i)]);
  std::vector<uint8_t> same_filled(options.pages, 0);
  for (uint64_t i = 0; i < same; ++i) same_filled[order[i]] = (i % 2 == 0) ? 1 : 2;  // 1: zero, 2: a random word

  const size_t chunks = options.page_size / kChunkBytes;
  const auto random_chunks =
      static_cast<size_t>(std::llround((1.0 - options.compressibility) * static_cast<double>(chunks)));

  CorpusBuilder builder(options.page_size, options.pages);
  for (uint64_t first = 0, file = 0; first < options.pages; first += options.pages_per_file, ++file) {
    const uint64_t count = std::min(options.pages_per_file, options.pages - first);
    std::span<uint8_t> pages =
        builder.AppendBlankFile("synthetic/" + std::to_string(file), "synthetic", 0, file + 1, count);
    for (uint64_t i = 0; i < count; ++i) {
      std::span<uint8_t> page = pages.subspan(i * options.page_size, options.page_size);
      switch (same_filled[first + i]) {
        case 1: break;  // already zero
        case 2:
          FillSamePage(page, rng.Next() | 1);  // | 1: never the zero word
          break;
        default: FillMixedPage(page, random_chunks, rng);
      }
    }
  }
  return std::move(builder).Finish();
}

}  // namespace cleancache
