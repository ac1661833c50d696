#include "cleancache/page_size.h"

#include <string>

namespace cleancache {

Status CheckPageSize(uint64_t size) {
  if (IsValidPageSize(size)) return Status::Ok();
  return Status::InvalidArgument("page size " + std::to_string(size) + " is not a power of two from " +
                                 std::to_string(kMinPageSize) + " to " + std::to_string(kMaxPageSize));
}

}  // namespace cleancache
