#include "cleancache/backend.h"

#include <algorithm>
#include <string>

namespace cleancache {

Status CheckSharedJoin(const PoolConfig& existing, const PoolConfig& joining) {
  const std::string pool = "shared pool " + existing.uuid.ToString();
  if (existing.page_size != joining.page_size) {
    return Status::InvalidArgument(pool + " has page size " + std::to_string(existing.page_size) + ", not " +
                                   std::to_string(joining.page_size));
  }
  if (KeepsOnGet(existing) != KeepsOnGet(joining)) {
    return Status::InvalidArgument(pool + (KeepsOnGet(existing) ? " keeps" : " does not keep") + " pages on get");
  }
  return Status::Ok();
}

// The page size is not passed to the batched calls; it follows from the buffer
// (count pages of equal size). A buffer that does not split evenly is a batch
// of misses / dropped puts, like a wrong-size single page.
size_t Backend::GetPages(BackendPoolId pool, const FileKey& key, uint64_t first, size_t count, std::span<uint8_t> pages,
                         std::span<uint8_t> hit) {
  const size_t flagged = std::min(count, hit.size());
  std::fill_n(hit.begin(), flagged, uint8_t{0});
  if (count == 0 || pages.size() % count != 0 || hit.size() < count) return 0;
  const size_t page_size = pages.size() / count;
  size_t hits = 0;
  for (size_t i = 0; i < count; ++i) {
    if (GetPage(pool, key, first + i, pages.subspan(i * page_size, page_size))) {
      hit[i] = 1;
      ++hits;
    }
  }
  return hits;
}

void Backend::PutPages(BackendPoolId pool, const FileKey& key, uint64_t first, size_t count,
                       std::span<const uint8_t> pages) {
  if (count == 0 || pages.size() % count != 0) return;
  const size_t page_size = pages.size() / count;
  for (size_t i = 0; i < count; ++i) {
    PutPage(pool, key, first + i, pages.subspan(i * page_size, page_size));
  }
}

}  // namespace cleancache
