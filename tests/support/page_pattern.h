// Test pages that name themselves: FillPage writes a header (key id, page
// index, version) and a body derived from it; ReadPage accepts a page only if
// every byte is exactly what FillPage would write, so torn, mixed or
// corrupted pages are never mistaken for a valid version. The body is part
// random, part repetitive, so compressing backends see realistic input.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace cleancache::testing {

struct PageTag {
  uint32_t key_id = 0;
  uint64_t index = 0;
  uint64_t version = 0;
  friend bool operator==(const PageTag&, const PageTag&) = default;
};

// page.size() must be a multiple of 8 and at least 32.
void FillPage(std::span<uint8_t> page, const PageTag& tag);
std::optional<PageTag> ReadPage(std::span<const uint8_t> page);

}  // namespace cleancache::testing
