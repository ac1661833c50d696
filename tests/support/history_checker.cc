#include "support/history_checker.h"

#include <algorithm>
#include <map>
#include <set>

namespace cleancache::testing {
namespace {

std::string Describe(const HistoryEvent& e) {
  return std::string("[").append(std::to_string(e.start)).append(",").append(std::to_string(e.end)).append("]");
}

// Kill events of one slot sorted by end, with the running maximum of their
// start tickets: the latest "kill frontier" visible to a get starting at t.
class KillFrontier {
 public:
  void Add(const HistoryEvent& e) { kills_.push_back(e); }
  void Seal() {
    std::sort(kills_.begin(), kills_.end(), [](const auto& a, const auto& b) { return a.end < b.end; });
    size_t best = 0;
    for (size_t i = 0; i < kills_.size(); ++i) {
      if (kills_[i].start > kills_[best].start) best = i;
      latest_start_.push_back(best);
    }
  }
  // The killer with the largest start among those that ended before `t`.
  const HistoryEvent* LatestBefore(uint64_t t) const {
    auto it = std::lower_bound(kills_.begin(), kills_.end(), t, [](const auto& k, uint64_t v) { return k.end < v; });
    if (it == kills_.begin()) return nullptr;
    return &kills_[latest_start_[static_cast<size_t>(it - kills_.begin()) - 1]];
  }

 private:
  std::vector<HistoryEvent> kills_;
  std::vector<size_t> latest_start_;  // [i]: index of the largest start among kills_[0..i]
};

const char* KindName(const HistoryEvent& e) {
  switch (e.kind) {
    case HistoryEvent::Kind::kPut: return "put";
    case HistoryEvent::Kind::kInvalidate: return "invalidate";
    case HistoryEvent::Kind::kGet: return e.hit ? "exclusive get" : "missed get";
  }
  return "?";
}

}  // namespace

std::vector<std::string> CheckHistory(const std::vector<HistoryEvent>& events, bool exclusive_gets) {
  std::map<uint32_t, std::vector<const HistoryEvent*>> by_slot;
  for (const auto& e : events) by_slot[e.slot].push_back(&e);

  std::vector<std::string> violations;
  for (const auto& [slot, slot_events] : by_slot) {
    std::map<uint64_t, const HistoryEvent*> puts;
    KillFrontier frontier;
    for (const HistoryEvent* e : slot_events) {
      if (e->kind == HistoryEvent::Kind::kPut) puts[e->version] = e;
      const bool kills = e->kind != HistoryEvent::Kind::kGet || !e->hit || exclusive_gets;
      if (kills) frontier.Add(*e);
    }
    frontier.Seal();

    std::set<uint64_t> returned;
    const std::string where = "slot " + std::to_string(slot) + ": ";
    for (const HistoryEvent* get : slot_events) {
      if (get->kind != HistoryEvent::Kind::kGet || !get->hit) continue;
      if (get->corrupt) {
        violations.push_back(where + "get " + Describe(*get) + " returned a corrupt or foreign page");
        continue;
      }
      auto put = puts.find(get->version);
      if (put == puts.end()) {
        violations.push_back(where + "get " + Describe(*get) + " returned version " + std::to_string(get->version) +
                             " that was never put on this slot");
        continue;
      }
      if (put->second->start > get->end) {
        violations.push_back(where + "get " + Describe(*get) + " returned version " + std::to_string(get->version) +
                             " before its put " + Describe(*put->second) + " started");
      }
      const HistoryEvent* killer = frontier.LatestBefore(get->start);
      if (killer != nullptr && put->second->end < killer->start) {
        violations.push_back(where + "stale read: get " + Describe(*get) + " returned version " +
                             std::to_string(get->version) + " put " + Describe(*put->second) + ", but " +
                             KindName(*killer) + " " + Describe(*killer) + " ended before the get started");
      }
      if (exclusive_gets && !returned.insert(get->version).second) {
        violations.push_back(where + "version " + std::to_string(get->version) +
                             " returned by two gets on a private pool (gets must be exclusive)");
      }
    }
  }
  return violations;
}

}  // namespace cleancache::testing
