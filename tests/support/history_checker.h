// Stale-read checker for concurrent histories on shared keys.
//
// Every operation is bracketed by two tickets from one seq_cst counter, taken
// just before the call and just after it returns. If a.end < b.start then a
// happened-before b, so the checker only ever concludes from orderings that
// really happened: it cannot report a false violation for a backend whose
// calls on one key are linearizable (the Backend contract), however threads
// interleave. What it proves for a get G that returned version v of a slot:
//  - v is a well-formed page of that slot (else "corrupt"),
//  - v was put on that slot, by a put that started before G ended,
//  - no "killer" W finished before G started while put(v) had finished
//    before W started. Killers: a put of another version (put-put-get), an
//    invalidation, a get that missed (get-get) and, on private pools, any get
//    that hit (exclusive gets leave nothing behind);
//  - on private pools, no version is returned by two gets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cleancache::testing {

struct HistoryEvent {
  enum class Kind { kPut, kGet, kInvalidate };
  Kind kind = Kind::kGet;
  uint32_t slot = 0;     // (key, index) the event covers
  uint64_t start = 0;    // ticket taken before the call
  uint64_t end = 0;      // ticket taken after it returned
  bool hit = false;      // kGet
  bool corrupt = false;  // kGet hit whose page was not a valid page of `slot`
  uint64_t version = 0;  // kPut: version put; kGet hit: version read
};

// Human-readable violations; empty if the history is consistent.
std::vector<std::string> CheckHistory(const std::vector<HistoryEvent>& events, bool exclusive_gets);

}  // namespace cleancache::testing
