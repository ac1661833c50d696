#include "memcached/generation_table.h"

#include <algorithm>

namespace cleancache::memcached {

GenerationTable::GenerationTable(uint64_t max_entries, std::atomic<uint64_t>& clock)
    : clock_(clock), max_per_shard_(std::max<uint64_t>(1, max_entries / kShards)) {
  for (Shard& shard : shards_) shard.floor = clock_.fetch_add(1) + 1;
}

uint64_t GenerationTable::Get(uint64_t file_hash) const {
  Shard& shard = ShardFor(file_hash);
  std::lock_guard lock(shard.mutex);
  auto it = shard.generations.find(file_hash);
  return it == shard.generations.end() ? shard.floor : it->second;
}

void GenerationTable::Bump(uint64_t file_hash) {
  Shard& shard = ShardFor(file_hash);
  std::lock_guard lock(shard.mutex);
  uint64_t fresh = clock_.fetch_add(1) + 1;
  if (shard.generations.size() >= max_per_shard_ && !shard.generations.contains(file_hash)) {
    shard.generations.clear();
    shard.floor = fresh;
    return;
  }
  shard.generations[file_hash] = fresh;
}

uint64_t GenerationTable::tracked_files() const {
  uint64_t total = 0;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    total += shard.generations.size();
  }
  return total;
}

}  // namespace cleancache::memcached
