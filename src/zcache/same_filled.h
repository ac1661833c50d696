// Same-filled pages (zram's trick): a page whose 64-bit words are all equal is
// stored as that one word.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace cleancache::zcache {

// True if every 8-byte word of the page equals the first; sets *word.
// Page sizes are powers of two >= 512, so the page is a whole number of words.
inline bool IsSameFilled(const uint8_t* page, size_t size, uint64_t* word) {
  uint64_t first;
  std::memcpy(&first, page, sizeof first);
  // Most pages differ early; checking the last word first rejects them fast.
  uint64_t last;
  std::memcpy(&last, page + size - sizeof last, sizeof last);
  if (last != first) return false;
  for (size_t off = sizeof first; off < size; off += sizeof first) {
    uint64_t w;
    std::memcpy(&w, page + off, sizeof w);
    if (w != first) return false;
  }
  *word = first;
  return true;
}

inline void FillPage(uint8_t* page, size_t size, uint64_t word) {
  if (word == 0) {
    std::memset(page, 0, size);
    return;
  }
  for (size_t off = 0; off < size; off += sizeof word) std::memcpy(page + off, &word, sizeof word);
}

}  // namespace cleancache::zcache
