#include "compare/process_memory.h"

#include <malloc.h>
#include <sys/mman.h>

#include <cstring>
#include <fstream>
#include <string>

namespace cleancache::compare {

MemorySample SampleMemory() {
  malloc_trim(0);
  MemorySample sample;
  sample.heap_in_use = mallinfo2().uordblks;
  // smaps: a mapping's header line, then "Key: value kB" lines.
  std::ifstream smaps("/proc/self/smaps");
  bool in_heap = false;
  for (std::string line; std::getline(smaps, line);) {
    if (line.empty()) continue;
    const size_t colon = line.find(':');
    const bool field = colon != std::string::npos && colon < line.find(' ');
    if (!field) {  // a mapping: "start-end perms offset dev inode [path]"
      in_heap = line.ends_with("[heap]");
      continue;
    }
    if (!in_heap && line.starts_with("Rss:")) sample.resident_outside_heap += std::stoull(line.substr(4)) * 1024;
  }
  return sample;
}

uint64_t MemoryGrowth(const MemorySample& before, const MemorySample& after) {
  const auto total = [](const MemorySample& s) { return s.heap_in_use + s.resident_outside_heap; };
  return total(after) > total(before) ? total(after) - total(before) : 0;
}

void TouchFreshMemory(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return;  // only a warm-up: without it figures are just noisier
  std::memset(p, 0x5a, bytes);
  munmap(p, bytes);
}

}  // namespace cleancache::compare
