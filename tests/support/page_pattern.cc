#include "support/page_pattern.h"

#include <cstring>
#include <vector>

namespace cleancache::testing {
namespace {

constexpr uint32_t kMagic = 0x7A9E5EED;

uint64_t SplitMix(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

void FillPage(std::span<uint8_t> page, const PageTag& tag) {
  std::memcpy(page.data(), &kMagic, 4);
  std::memcpy(page.data() + 4, &tag.key_id, 4);
  std::memcpy(page.data() + 8, &tag.index, 8);
  std::memcpy(page.data() + 16, &tag.version, 8);
  uint64_t state = tag.version * 0x9E3779B97F4A7C15ull ^ tag.index ^ (uint64_t{tag.key_id} << 40);
  const uint64_t base = SplitMix(state);
  for (size_t word = 3; word < page.size() / 8; ++word) {
    // One random word in four, the rest a slowly changing counter.
    const uint64_t value = word % 4 == 0 ? SplitMix(state) : base + word / 16;
    std::memcpy(page.data() + word * 8, &value, 8);
  }
}

std::optional<PageTag> ReadPage(std::span<const uint8_t> page) {
  if (page.size() < 32 || page.size() % 8 != 0) return std::nullopt;
  uint32_t magic = 0;
  PageTag tag;
  std::memcpy(&magic, page.data(), 4);
  std::memcpy(&tag.key_id, page.data() + 4, 4);
  std::memcpy(&tag.index, page.data() + 8, 8);
  std::memcpy(&tag.version, page.data() + 16, 8);
  if (magic != kMagic) return std::nullopt;
  std::vector<uint8_t> expected(page.size());
  FillPage(expected, tag);
  if (std::memcmp(expected.data(), page.data(), page.size()) != 0) return std::nullopt;
  return tag;
}

}  // namespace cleancache::testing
