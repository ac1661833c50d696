// Segment: a large mmap'd region that compressed pages are appended to, back
// to back (log-structured), so a page costs its compressed size plus a
// 6-byte header instead of a size-class slot. Only the part of a segment that
// has been written counts as real memory: the kernel backs untouched pages of
// an anonymous mapping with nothing.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

namespace cleancache::zcache {

// Object header: the entry slot that owns the object and its size - 1
// (sizes run 1 .. 65536, the largest page).
inline constexpr uint32_t kObjectHeaderBytes = 6;

inline void WriteObjectHeader(uint8_t* at, uint32_t entry, uint32_t size) {
  uint16_t size_minus_one = static_cast<uint16_t>(size - 1);
  std::memcpy(at, &entry, 4);
  std::memcpy(at + 4, &size_minus_one, 2);
}

inline void ReadObjectHeader(const uint8_t* at, uint32_t* entry, uint32_t* size) {
  uint16_t size_minus_one;
  std::memcpy(entry, at, 4);
  std::memcpy(&size_minus_one, at + 4, 2);
  *size = static_cast<uint32_t>(size_minus_one) + 1;
}

struct Segment {
  uint8_t* base = nullptr;  // nullptr: the slot holds no mapping
  uint32_t used = 0;        // append offset
  uint32_t live = 0;        // bytes of objects still referenced (headers included)
  uint32_t resident = 0;    // bytes touched and not given back, in whole OS pages
  uint64_t age = 0;         // when it was opened; orders eviction
  bool sealed = false;      // no longer the append target
};

inline uint8_t* MapSegment(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  return static_cast<uint8_t*>(p);
}

inline void UnmapSegment(uint8_t* base, size_t bytes) { munmap(base, bytes); }

}  // namespace cleancache::zcache
