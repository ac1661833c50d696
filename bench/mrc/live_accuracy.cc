// How well the live curves predict (docs/MRC.md, "Rightsizing"): the curve an
// ObservedBackend keeps (the always-on rate of ForCapacity(its capacity), page
// axis, turned into bytes with the store's real memory per page), against the
// hit ratio a real zcache of each capacity measures on the same trace.
// For each workload (the replay's generators) and each capacity C: a zcache
// of capacity C wrapped in an ObservedBackend reads the trace (a miss is
// put; one pool that keeps pages on get, as the replay). Reported: measured
// hit ratio at C; the curve's own prediction there (Sizing::hit_ratio_now,
// what `cleancache stats` shows); and the largest error of that curve's
// predictions at the other capacities (what memory_for_* rests on).
// Page contents: the replay's synthetic corpus, compressibility 0.5.
// Usage: live_accuracy [--pages=131072] [--accesses=1048576] [--seed=1]
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cleancache/backend_spec.h"
#include "cleancache/corpus.h"
#include "cleancache/observed_backend.h"
#include "mrc/trace_generator.h"

namespace {

using namespace cleancache;

struct Run {
  double measured = 0;
  MissRatioCurve::Snapshot curve;
  PageCost cost;
  double rate = 0;
};

Run Replay(const PageTrace& trace, uint64_t capacity, const PageCorpus& corpus) {
  auto spec = ParseBackendSpec("zcache:capacity=" + std::to_string(capacity));
  ObservedBackendOptions o;
  o.capacity_bytes = capacity;
  ObservedBackend b(std::move(*CreateBackend(*spec)), std::move(o));
  PoolConfig config;
  config.keep_on_get = true;
  const BackendPoolId pool = *b.OpenPool(config);
  std::vector<uint8_t> out(4096);
  uint64_t reads = 0, hits = 0;
  for (const TraceRecord& r : trace.records) {
    const FileKey key = FileKey::FromInode(r.pool, r.file_hash);
    const size_t content = static_cast<size_t>(MissRatioCurve::PageHash(r.file_hash, r.index) % corpus.page_count());
    if (r.op == TraceOp::kGet) {
      ++reads;
      if (b.GetPage(pool, key, r.index, out)) {
        ++hits;
      } else {
        b.PutPage(pool, key, r.index, corpus.page(content));
      }
    } else if (r.op == TraceOp::kPut) {
      b.PutPage(pool, key, r.index, corpus.page(content));
    } else {
      b.InvalidatePage(pool, key, r.index);
    }
  }
  Run run;
  run.measured = reads == 0 ? 0 : static_cast<double>(hits) / static_cast<double>(reads);
  run.curve = b.Curve();
  run.cost = b.Cost(b.Stats());
  run.rate = b.curve().sampling_rate();
  return run;
}

}  // namespace

int main(int argc, char** argv) {
  mrc::GeneratorOptions g;
  g.accesses = 1 << 20;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--pages=", 8) == 0) {
      g.pages = std::strtoull(argv[i] + 8, nullptr, 10);
    } else if (std::strncmp(argv[i], "--accesses=", 11) == 0) {
      g.accesses = std::strtoull(argv[i] + 11, nullptr, 10);
    } else if (std::strncmp(argv[i], "--seed=", 7) == 0) {
      g.seed = std::strtoull(argv[i] + 7, nullptr, 10);
    } else {
      std::fprintf(stderr, "live_accuracy: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  SyntheticCorpusOptions c;
  c.pages = 4096;
  c.compressibility = 0.5;
  c.seed = g.seed;
  auto corpus = BuildSyntheticCorpus(c);
  if (!corpus.ok()) return 1;
  const std::vector<uint64_t> capacities = {32ull << 20, 64ull << 20, 128ull << 20, 256ull << 20};
  std::printf(
      "live curves: %llu pages, %llu reads, seed %llu; cells: measured / own prediction (error); "
      "then the curve's worst error at the other 3 capacities\n",
      static_cast<unsigned long long>(g.pages), static_cast<unsigned long long>(g.accesses),
      static_cast<unsigned long long>(g.seed));
  double worst_own = 0, worst_other = 0;
  for (auto w : {mrc::Workload::kZipf, mrc::Workload::kUniform, mrc::Workload::kScanHot, mrc::Workload::kShift}) {
    g.workload = w;
    const PageTrace trace = mrc::GenerateTrace(g);
    std::vector<Run> runs;
    runs.reserve(capacities.size());
    for (uint64_t cap : capacities) runs.push_back(Replay(trace, cap, *corpus));
    std::printf("%-9s", mrc::WorkloadName(w));
    for (size_t i = 0; i < runs.size(); ++i) {
      const double own = SizingFromCurve(runs[i].curve, capacities[i], runs[i].cost).hit_ratio_now;
      double other = 0;
      for (size_t j = 0; j < runs.size(); ++j) {
        if (j == i) continue;
        const double p = SizingFromCurve(runs[i].curve, capacities[j], runs[i].cost).hit_ratio_now;
        if (std::fabs(p - runs[j].measured) > std::fabs(other)) other = p - runs[j].measured;
      }
      worst_own = std::max(worst_own, std::fabs(own - runs[i].measured));
      worst_other = std::max(worst_other, std::fabs(other));
      std::printf(" | %3llu MiB %.4f / %.4f (%+.3f) others %+.3f, rate %.3f",
                  static_cast<unsigned long long>(capacities[i] >> 20), runs[i].measured, own, own - runs[i].measured,
                  other, runs[i].rate);
    }
    std::printf("\n");
    std::fflush(stdout);
  }
  std::printf("worst |error|: at the curve's own capacity %.3f, at the others %.3f (target 0.03)\n", worst_own,
              worst_other);
  return 0;
}
