#include "compare/report.h"

#include <cerrno>
#include <cstring>
#include <functional>

namespace cleancache::compare {
namespace {

std::string Fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

const Row* Find(const std::vector<Row>& rows, const std::string& corpus, const std::string& contestant) {
  for (const Row& row : rows)
    if (row.corpus == corpus && row.contestant == contestant) return &row;
  return nullptr;
}

}  // namespace

const char* MemoryBasisName(MemoryBasis basis) {
  switch (basis) {
    case MemoryBasis::kProcessMemory: return "process heap+mapped";
    case MemoryBasis::kZramMemUsed: return "mm_stat mem_used_total";
    case MemoryBasis::kCompressedOnly: return "payload only";
  }
  return "?";
}

void PrintTable(std::FILE* out, const std::vector<Row>& rows) {
  std::fprintf(out, "%-10s %-16s %9s %9s %8s %11s  %-22s %9s %11s %11s\n", "corpus", "contestant", "put MB/s",
               "get MB/s", "density", "memory MiB", "memory basis", "Zipf hit", "Zipf cap", "Zipf mem");
  for (const Row& row : rows) {
    const std::string hit = row.zipf ? Fixed(row.zipf->hit_ratio(), 4) : "n/a";
    const std::string cap = row.zipf ? Fixed(row.zipf->capacity_bytes / 1048576.0, 1) + "M" : "";
    const std::string mem = row.zipf ? Fixed(row.zipf->memory_bytes / 1048576.0, 1) + "M" : "";
    std::fprintf(out, "%-10s %-16s %9.1f %9.1f %8.3f %11.1f  %-22s %9s %11s %11s\n", row.corpus.c_str(),
                 row.contestant.c_str(), row.put_mb_per_s, row.get_mb_per_s, row.density(),
                 row.memory_bytes / 1048576.0, MemoryBasisName(row.basis), hit.c_str(), cap.c_str(), mem.c_str());
  }
}

Status WriteCsv(const std::string& path, const std::vector<Row>& rows) {
  std::FILE* out = std::fopen(path.c_str(), "w");
  if (out == nullptr) return Status::IOError("cannot write " + path + ": " + std::strerror(errno));
  std::fprintf(out,
               "corpus,contestant,pages,original_bytes,put_mb_per_s,get_mb_per_s,memory_bytes,density,memory_basis,"
               "zipf_hit_ratio,zipf_budget_bytes,zipf_capacity_bytes,zipf_memory_bytes,misses,mismatches\n");
  for (const Row& row : rows) {
    std::fprintf(out, "%s,%s,%llu,%llu,%.1f,%.1f,%llu,%.4f,%s,", row.corpus.c_str(), row.contestant.c_str(),
                 static_cast<unsigned long long>(row.pages), static_cast<unsigned long long>(row.original_bytes),
                 row.put_mb_per_s, row.get_mb_per_s, static_cast<unsigned long long>(row.memory_bytes), row.density(),
                 MemoryBasisName(row.basis));
    if (row.zipf) {
      std::fprintf(out, "%.4f,%llu,%llu,%llu,", row.zipf->hit_ratio(),
                   static_cast<unsigned long long>(row.zipf->budget_bytes),
                   static_cast<unsigned long long>(row.zipf->capacity_bytes),
                   static_cast<unsigned long long>(row.zipf->memory_bytes));
    } else {
      std::fprintf(out, "n/a,n/a,n/a,n/a,");
    }
    std::fprintf(out, "%llu,%llu\n", static_cast<unsigned long long>(row.misses),
                 static_cast<unsigned long long>(row.mismatches));
  }
  if (std::fclose(out) != 0) return Status::IOError("writing " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

std::vector<TargetCheck> CheckTargets(const std::vector<Row>& rows, const std::string& ours) {
  struct Target {
    const char* metric;
    const char* peer;
    double factor;
    std::function<std::optional<double>(const Row&)> figure;
  };
  auto put = [](const Row& r) -> std::optional<double> { return r.put_mb_per_s; };
  auto get = [](const Row& r) -> std::optional<double> { return r.get_mb_per_s; };
  auto density = [](const Row& r) -> std::optional<double> { return r.density(); };
  auto zipf = [](const Row& r) -> std::optional<double> {
    return r.zipf ? std::optional<double>(r.zipf->hit_ratio()) : std::nullopt;
  };
  const std::vector<Target> targets = {
      {"put", "zram-lz4", 1.5, put},
      {"put", "rocksdb-lz4", 1.2, put},
      {"get", "zram-lz4", 2.0, get},
      {"get", "rocksdb-lz4", 1.0, get},
      {"density", "zram-lz4", 1.0, density},
      {"density", "rocksdb-lz4", 1.0, density},
      {"Zipf hit ratio", "rocksdb-lz4", 1.0, zipf},
  };
  std::vector<std::string> corpora;
  for (const Row& row : rows)
    if (std::find(corpora.begin(), corpora.end(), row.corpus) == corpora.end()) corpora.push_back(row.corpus);
  std::vector<TargetCheck> checks;
  for (const std::string& corpus : corpora) {
    const Row* mine = Find(rows, corpus, ours);
    for (const Target& t : targets) {
      TargetCheck check{corpus, std::string(t.metric) + " / " + t.peer, 0, t.factor, false, ""};
      const Row* peer = Find(rows, corpus, t.peer);
      const std::optional<double> a = mine ? t.figure(*mine) : std::nullopt;
      const std::optional<double> b = peer ? t.figure(*peer) : std::nullopt;
      if (!mine) {
        check.skipped = ours + " did not run";
      } else if (!peer) {
        check.skipped = std::string(t.peer) + " did not run";
      } else if (!a || !b || *b <= 0) {
        check.skipped = "no figure";
      } else {
        check.ratio = *a / *b;
        check.met = check.ratio >= t.factor;
      }
      checks.push_back(check);
    }
  }
  return checks;
}

void PrintTargets(std::FILE* out, const std::vector<TargetCheck>& checks) {
  for (const TargetCheck& c : checks) {
    if (!c.skipped.empty()) {
      std::fprintf(out, "  %-10s %-30s    skipped: %s\n", c.corpus.c_str(), c.what.c_str(), c.skipped.c_str());
    } else {
      std::fprintf(out, "  %-10s %-30s %7.4f (target >= %.2f)  %s\n", c.corpus.c_str(), c.what.c_str(), c.ratio,
                   c.target, c.met ? "PASS" : "FAIL");
    }
  }
}

}  // namespace cleancache::compare
