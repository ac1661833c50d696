#include <bit>
#include <cstring>

#include "cleancache/corpus.h"
#include "cleancache/page_size.h"

namespace cleancache {

PageCorpus::PageCorpus(uint32_t page_size, std::vector<uint8_t> bytes, std::vector<CorpusFile> files)
    : page_size_(page_size), bytes_(std::move(bytes)), files_(std::move(files)) {}

bool IsSameFilledPage(std::span<const uint8_t> page) {
  if (page.size() < sizeof(uint64_t)) return false;
  uint64_t first;
  std::memcpy(&first, page.data(), sizeof first);
  for (size_t offset = sizeof first; offset + sizeof first <= page.size(); offset += sizeof first) {
    uint64_t word;
    std::memcpy(&word, page.data() + offset, sizeof word);
    if (word != first) return false;
  }
  return true;
}

Status CheckCorpusPageSize(uint32_t page_size) { return CheckPageSize(page_size); }

}  // namespace cleancache
