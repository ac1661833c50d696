// The page-size rule, written once: a pool's pages are a power of two from
// 512 to 65536 bytes (4096 by default). The shim, every backend, the daemon's
// protocol, the tmem client and the corpus all check sizes with these.
#pragma once

#include <bit>
#include <cstdint>

#include "cleancache/status.h"

namespace cleancache {

inline constexpr uint32_t kMinPageSize = 512;
inline constexpr uint32_t kMaxPageSize = 65536;
inline constexpr uint32_t kDefaultPageSize = 4096;

constexpr bool IsValidPageSize(uint64_t size) {
  return size >= kMinPageSize && size <= kMaxPageSize && std::has_single_bit(size);
}

// Ok, or InvalidArgument "page size N is not a power of two from 512 to 65536".
Status CheckPageSize(uint64_t size);

}  // namespace cleancache
