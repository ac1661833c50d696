// compare: our backend against its peers, in one process and one run, on the
// same 4 KiB pages (the machine-files corpus and a synthetic mix): zcache
// (LZ4, zstd) through the Cleancache shim, RocksDB's CompressedSecondaryCache
// (LZ4), Linux zram (lz4, when present and root), the raw codecs and memcpy.
// Prints one table, writes it as CSV, and prints the targets as
// ratios from this run. Exit 0, or 1 if any page came back wrong, 2 for bad
// arguments or a corpus that cannot be built.
#include <rocksdb/version.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <map>

#include "cleancache/corpus.h"
#include "compare/process_memory.h"
#include "compare/report.h"
#include "compare/runner.h"
#include "compare/zipf.h"

namespace {

using namespace cleancache;
using namespace cleancache::compare;

struct Args {
  uint64_t machine_pages = 65536;
  uint64_t synthetic_pages = 65536;
  double compressibility = 0.5;
  double zero_share = 0.1;
  uint64_t seed = 1;
  int rounds = 3;
  double zipf_exponent = 0.99;
  double zipf_budget_share = 0.25;
  double zipf_accesses_per_page = 4;
  std::string csv = "compare.csv";
  bool zram = true;
  std::string zram_device = "zram0";
  std::vector<std::string> only;  // contestant names; empty = all
  Timing timing = Timing::kWall;
};

struct NamedCorpus {
  std::string name;
  PageCorpus corpus;
};

constexpr int kZstdLevel = 3;  // zcache's zstd default (level 0 = ZSTD_CLEVEL_DEFAULT)

std::vector<Contestant> Contestants(const Args& args) {
  std::vector<Contestant> list = {
      ZCacheContestant("zcache-lz4", "zcache:codec=lz4"), ZCacheContestant("zcache-zstd", "zcache:codec=zstd"),
      ZCacheContestant("zcache-lz4-excl", "zcache:codec=lz4", ZCachePool::kPrivate), RocksDbContestant()};
  if (args.zram) list.push_back(ZramContestant(args.zram_device));
  list.push_back(RawLz4Contestant());
  list.push_back(RawZstdContestant(kZstdLevel));
  list.push_back(MemcpyContestant());
  if (args.only.empty()) return list;
  std::vector<Contestant> chosen;
  for (Contestant& c : list)
    if (std::find(args.only.begin(), args.only.end(), c.name) != args.only.end()) chosen.push_back(std::move(c));
  return chosen;
}

// Best-of-rounds throughput for every contestant on one corpus; round 0 is an
// untimed warm-up. Rounds go round-robin over the contestants (each round
// starting one further) so that drifting machine load hits all alike.
std::vector<Row> MeasureCorpus(const NamedCorpus& named, std::vector<Contestant>& contestants, const Args& args,
                               uint64_t* bad_pages) {
  const int rounds = args.rounds;
  const PageIds ids(named.corpus);
  std::vector<Row> rows(contestants.size());
  std::vector<bool> dropped(contestants.size(), false);
  const double mb = static_cast<double>(named.corpus.bytes().size()) / 1e6;
  for (int round = 0; round <= rounds; ++round) {
    for (size_t k = 0; k < contestants.size(); ++k) {
      const size_t c = (k + static_cast<size_t>(round)) % contestants.size();
      if (dropped[c]) continue;
      Result<ThroughputResult> result = MeasureThroughput(contestants[c], named.corpus, ids, args.timing);
      if (!result.ok()) {
        std::fprintf(stderr, "compare: skipping %s: %s\n", contestants[c].name.c_str(),
                     result.status().ToString().c_str());
        dropped[c] = true;
        continue;
      }
      Row& row = rows[c];
      row.misses += result->misses;
      row.mismatches += result->mismatches;
      *bad_pages += result->mismatches;
      if (round == 0) continue;
      row.put_mb_per_s = std::max(row.put_mb_per_s, mb / result->put_seconds);
      row.get_mb_per_s = std::max(row.get_mb_per_s, mb / result->get_seconds);
      if (round == 1) row.memory_bytes = result->memory_bytes;
    }
    std::fprintf(stderr, "compare: %s: round %d of %d done\n", named.name.c_str(), round, rounds);
  }
  std::vector<Row> kept;
  for (size_t c = 0; c < contestants.size(); ++c) {
    if (dropped[c]) continue;
    Row& row = rows[c];
    row.corpus = named.name;
    row.contestant = contestants[c].name;
    row.basis = contestants[c].memory;
    row.pages = named.corpus.page_count();
    row.original_bytes = named.corpus.bytes().size();
    kept.push_back(row);
  }
  // A contestant that cannot run here (zram) is not tried on the next corpus.
  std::vector<Contestant> still;
  for (size_t c = 0; c < contestants.size(); ++c)
    if (!dropped[c]) still.push_back(contestants[c]);
  contestants = std::move(still);
  return kept;
}

// Zipf hit ratio of each bounded contestant, at a real-memory budget of a
// share of the raw LZ4 payload of the corpus.
void MeasureZipfRuns(const NamedCorpus& named, const std::vector<Contestant>& contestants, const Args& args,
                     std::vector<Row>& rows, uint64_t* bad_pages) {
  uint64_t lz4_payload = 0;
  for (const Row& row : rows)
    if (row.corpus == named.name && row.contestant == "raw-lz4") lz4_payload = row.memory_bytes;
  if (lz4_payload == 0) return;
  const PageIds ids(named.corpus);
  const uint64_t pages = named.corpus.page_count();
  ZipfOptions options{pages, args.zipf_exponent, 2 * pages, args.seed};
  const std::vector<uint32_t> warmup = ZipfAccesses(options);
  options.accesses = static_cast<uint64_t>(args.zipf_accesses_per_page * static_cast<double>(pages));
  options.seed = args.seed + 1;
  const std::vector<uint32_t> measured = ZipfAccesses(options);
  ZipfRun run{&warmup, &measured, static_cast<uint64_t>(args.zipf_budget_share * static_cast<double>(lz4_payload))};
  for (const Contestant& contestant : contestants) {
    if (!contestant.bounded) continue;
    Row* row = nullptr;
    for (Row& r : rows)
      if (r.corpus == named.name && r.contestant == contestant.name) row = &r;
    if (row == nullptr) continue;
    Result<ZipfResult> result = MeasureZipf(contestant, named.corpus, ids, run);
    if (!result.ok()) {
      std::fprintf(stderr, "compare: Zipf run of %s: %s\n", contestant.name.c_str(),
                   result.status().ToString().c_str());
      continue;
    }
    row->zipf = result.value();
    row->mismatches += result->mismatches;
    *bad_pages += result->mismatches;
    std::fprintf(stderr, "compare: %s: Zipf run of %s done (%d calibration rounds)\n", named.name.c_str(),
                 contestant.name.c_str(), result->calibration_rounds);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  CLI::App app{
      "Compare cleancache's compressed backend with zram, RocksDB's compressed cache, the raw codecs and "
      "memcpy, in one run on the same pages."};
  app.add_option("--pages", args.machine_pages, "Pages of the machine-files corpus (0 = skip it)");
  app.add_option("--synthetic-pages", args.synthetic_pages, "Pages of the synthetic mix (0 = skip it)");
  app.add_option("--compressibility", args.compressibility, "Synthetic: share of each page that is text")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--zero-share", args.zero_share, "Synthetic: share of same-filled pages")->check(CLI::Range(0.0, 1.0));
  app.add_option("--seed", args.seed, "Seed of the synthetic mix and the Zipf sequences");
  app.add_option("--rounds", args.rounds, "Timed rounds per contestant (best is kept), after one warm-up round")
      ->check(CLI::Range(1, 20));
  app.add_option("--zipf-exponent", args.zipf_exponent, "Zipf exponent s")->check(CLI::Range(0.1, 3.0));
  app.add_option("--zipf-budget", args.zipf_budget_share,
                 "Real-memory budget of the Zipf run, as a share of the corpus' raw LZ4 payload")
      ->check(CLI::Range(0.01, 1.0));
  app.add_option("--zipf-accesses", args.zipf_accesses_per_page,
                 "Measured Zipf accesses per page (after 2 per page of warm-up)")
      ->check(CLI::Range(0.1, 100.0));
  app.add_option("--csv", args.csv, "Where to write the table as CSV");
  app.add_flag("!--no-zram", args.zram, "Leave zram out");
  app.add_option("--zram-device", args.zram_device, "zram device name");
  app.add_option("--only", args.only,
                 "Run only these contestants (zcache-lz4, zcache-zstd, zcache-lz4-excl, rocksdb-lz4, zram-lz4, "
                 "raw-lz4, raw-zstd-3, "
                 "memcpy); the Zipf run needs raw-lz4 for its budget")
      ->delimiter(',');
  app.add_option("--clock", args.timing, "Time passes by wall clock or by this thread's CPU time (user + system)")
      ->transform(
          CLI::CheckedTransformer(std::map<std::string, Timing>{{"wall", Timing::kWall}, {"cpu", Timing::kThreadCpu}}));
  CLI11_PARSE(app, argc, argv);
  if (Contestants(args).empty()) {
    std::fprintf(stderr, "compare: --only names no known contestant\n");
    return 2;
  }

  std::vector<NamedCorpus> corpora;
  // Keeps a built corpus under `name`; false (after saying why) if it failed.
  auto keep = [&corpora](const char* name, Result<PageCorpus> corpus) {
    if (!corpus.ok()) {
      std::fprintf(stderr, "compare: %s corpus: %s\n", name, corpus.status().ToString().c_str());
      return false;
    }
    corpora.push_back({name, std::move(corpus).value()});
    return true;
  };
  if (args.machine_pages > 0) {
    MachineCorpusOptions options;
    options.pages = args.machine_pages;
    if (!keep("machine", BuildMachineCorpus(options))) return 2;
  }
  if (args.synthetic_pages > 0) {
    SyntheticCorpusOptions options;
    options.pages = args.synthetic_pages;
    options.compressibility = args.compressibility;
    options.same_filled_share = args.zero_share;
    options.seed = args.seed;
    if (!keep("synthetic", BuildSyntheticCorpus(options))) return 2;
  }
  if (corpora.empty()) {
    std::fprintf(stderr, "compare: nothing to do (--pages and --synthetic-pages are both 0)\n");
    return 2;
  }

  size_t largest = 0;
  for (const NamedCorpus& c : corpora) largest = std::max(largest, c.corpus.bytes().size());
  TouchFreshMemory(std::max<size_t>(size_t{1} << 30, 3 * largest));

  std::vector<Contestant> contestants = Contestants(args);
  std::vector<Row> rows;
  uint64_t bad_pages = 0;
  for (const NamedCorpus& named : corpora) {
    std::vector<Row> measured = MeasureCorpus(named, contestants, args, &bad_pages);
    rows.insert(rows.end(), measured.begin(), measured.end());
    MeasureZipfRuns(named, contestants, args, rows, &bad_pages);
  }

  const std::time_t now = std::time(nullptr);
  char when[64];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  std::printf("\ncompare, %s, one process, one thread; RocksDB %d.%d.%d. Best of %d rounds, %s; MB = 10^6 bytes.\n",
              when, ROCKSDB_MAJOR, ROCKSDB_MINOR, ROCKSDB_PATCH, args.rounds,
              args.timing == Timing::kWall ? "wall-clock time" : "thread CPU time");
  std::printf(
      "Corpora: machine = %llu pages of this machine's files; synthetic = %llu pages, compressibility %.2f, "
      "same-filled share %.2f, seed %llu.\n",
      static_cast<unsigned long long>(args.machine_pages), static_cast<unsigned long long>(args.synthetic_pages),
      args.compressibility, args.zero_share, static_cast<unsigned long long>(args.seed));
  std::printf(
      "Zipf: s = %.2f, %.1f measured accesses per page after 2 of warm-up, real-memory budget %.0f%% of the "
      "raw LZ4 payload.\n\n",
      args.zipf_exponent, args.zipf_accesses_per_page, 100 * args.zipf_budget_share);
  PrintTable(stdout, rows);
  std::printf("\nTargets (zcache-lz4 / peer, ratios from this run):\n");
  PrintTargets(stdout, CheckTargets(rows, "zcache-lz4"));
  if (Status s = WriteCsv(args.csv, rows); !s.ok()) {
    std::fprintf(stderr, "compare: %s\n", s.ToString().c_str());
    return 2;
  }
  if (bad_pages > 0) {
    std::printf("\nERROR: %llu pages came back different from what was put (see the mismatches column)\n",
                static_cast<unsigned long long>(bad_pages));
    return 1;
  }
  return 0;
}
