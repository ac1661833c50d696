// `cleancache bench`: measures a backend on a page corpus (put everything,
// get everything back, verify every hit). Exit 0 on success, 1 if any page
// came back different from what was put, 2 for bad input.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cleancache/backend_spec.h"
#include "cleancache/cleancache.hpp"
#include "cleancache/corpus.h"
#include "cli/commands.h"
#include "cli/page_bench.h"

namespace {

using cleancache::PageBenchReport;
using cleancache::PageCorpus;
using cleancache::Result;
using cleancache::Status;

struct BenchArgs {
  std::string backend{cleancache::kDefaultBackendSpec};
  std::string file;
  uint64_t corpus_pages = 65536;
  uint64_t synthetic_pages = 0;
  double compressibility = 0.5;
  double zero_share = 0.1;
  uint64_t seed = 1;
  uint32_t page_size = 4096;
  unsigned threads = 1;
  bool json = false;
};

[[noreturn]] void Fail(int exit_code, const std::string& message) { FailCommand("bench", exit_code, message); }

Result<PageCorpus> BuildCorpus(const BenchArgs& args, std::string* source) {
  if (!args.file.empty()) {
    *source = "file " + args.file;
    return cleancache::LoadPagesFromPath(args.file, args.page_size);
  }
  if (args.synthetic_pages > 0) {
    cleancache::SyntheticCorpusOptions options;
    options.pages = args.synthetic_pages;
    options.page_size = args.page_size;
    options.compressibility = args.compressibility;
    options.same_filled_share = args.zero_share;
    options.seed = args.seed;
    char text[160];
    std::snprintf(text, sizeof text, "synthetic (compressibility %g, same-filled share %g, seed %llu)",
                  args.compressibility, args.zero_share, static_cast<unsigned long long>(args.seed));
    *source = text;
    return cleancache::BuildSyntheticCorpus(options);
  }
  cleancache::MachineCorpusOptions options;
  options.pages = args.corpus_pages;
  options.page_size = args.page_size;
  *source = "machine-files corpus";
  return cleancache::BuildMachineCorpus(options);
}

// `numerator / denominator`, or nullopt when the ratio is undefined.
std::optional<double> Ratio(uint64_t numerator, uint64_t denominator) {
  if (denominator == 0) return std::nullopt;
  return static_cast<double>(numerator) / static_cast<double>(denominator);
}

nlohmann::json JsonNumber(std::optional<double> value) { return value ? nlohmann::json(*value) : nlohmann::json(); }

std::string TextNumber(std::optional<double> value, int decimals = 3) {
  if (!value) return "n/a";
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, *value);
  return text;
}

void PrintJson(const BenchArgs& args, const std::string& backend_name, const std::string& source,
               const PageBenchReport& r) {
  const cleancache::BackendStats& s = r.after_put;
  nlohmann::ordered_json out;
  out["backend"] = backend_name;
  out["spec"] = args.backend;
  out["source"] = source;
  out["pages"] = r.pages;
  out["page_size"] = r.page_size;
  out["threads"] = r.threads;
  out["put_mb_s"] = r.PutMegabytesPerSecond();
  out["get_mb_s"] = r.GetMegabytesPerSecond();
  out["put_seconds"] = r.put_seconds;
  out["get_seconds"] = r.get_seconds;
  out["hits"] = r.hits;
  out["misses"] = r.misses;
  out["hit_ratio"] = JsonNumber(Ratio(r.hits, r.pages));
  out["mismatches"] = r.mismatches;
  out["verified"] = r.mismatches == 0;
  out["pages_stored"] = s.pages_stored;
  out["original_bytes"] = s.original_bytes;
  out["compressed_bytes"] = s.compressed_bytes;
  out["real_memory_bytes"] = s.real_memory_bytes;
  out["compression_ratio"] = JsonNumber(Ratio(s.original_bytes, s.compressed_bytes));
  out["density"] = JsonNumber(Ratio(s.original_bytes, s.real_memory_bytes));
  out["real_memory_per_page"] = JsonNumber(Ratio(s.real_memory_bytes, s.pages_stored));
  out["compressed_per_page"] = JsonNumber(Ratio(s.compressed_bytes, s.pages_stored));
  out["evictions"] = s.evictions;
  out["same_filled"] = s.same_filled_pages;
  out["rejected"] = s.rejected_incompressible;
  out["stored_raw"] = s.stored_raw;
  out["dropped_puts"] = s.dropped_puts;
  out["succ_gets"] = r.counters.succ_gets;
  out["failed_gets"] = r.counters.failed_gets;
  out["puts"] = r.counters.puts;
  std::cout << out.dump(2) << "\n";
}

void PrintText(const std::string& backend_name, const std::string& source, const PageBenchReport& r) {
  const cleancache::BackendStats& s = r.after_put;
  std::printf("backend       %s\n", backend_name.c_str());
  std::printf("source        %s: %llu pages of %u bytes\n", source.c_str(), static_cast<unsigned long long>(r.pages),
              r.page_size);
  std::printf("threads       %u\n", r.threads);
  std::printf("put           %.1f MB/s\n", r.PutMegabytesPerSecond());
  std::printf("get           %.1f MB/s\n", r.GetMegabytesPerSecond());
  std::printf(
      "hit ratio     %s (%llu of %llu pages; %s)\n", TextNumber(Ratio(r.hits, r.pages)).c_str(),
      static_cast<unsigned long long>(r.hits), static_cast<unsigned long long>(r.pages),
      r.mismatches == 0 ? "every hit verified" : (std::to_string(r.mismatches) + " hits with WRONG DATA").c_str());
  std::printf("compression   %s (original / compressed bytes)\n",
              TextNumber(Ratio(s.original_bytes, s.compressed_bytes)).c_str());
  std::printf("density       %s (original / real memory)\n",
              TextNumber(Ratio(s.original_bytes, s.real_memory_bytes)).c_str());
  std::printf("real memory   %s bytes per stored page (compressed: %s)\n",
              TextNumber(Ratio(s.real_memory_bytes, s.pages_stored), 1).c_str(),
              TextNumber(Ratio(s.compressed_bytes, s.pages_stored), 1).c_str());
  std::printf("evictions     %llu\n", static_cast<unsigned long long>(s.evictions));
  std::printf("same-filled   %llu\n", static_cast<unsigned long long>(s.same_filled_pages));
  std::printf("rejected      %llu\n", static_cast<unsigned long long>(s.rejected_incompressible));
  std::printf("stored raw    %llu\n", static_cast<unsigned long long>(s.stored_raw));
}

// A one-line bar on stderr, redrawn in place; only used on a terminal.
void DrawProgress(const char* phase, uint64_t done, uint64_t total) {
  constexpr int kWidth = 40;
  const int filled = total == 0 ? kWidth : static_cast<int>(done * kWidth / total);
  std::fprintf(stderr, "\r%-4s [%.*s%*s] %3d%%", phase, filled, "########################################",
               kWidth - filled, "", total == 0 ? 100 : static_cast<int>(done * 100 / total));
  if (done == total) std::fputc('\n', stderr);
  std::fflush(stderr);
}

void RunBench(const BenchArgs& args) {
  if (Status s = cleancache::CheckCorpusPageSize(args.page_size); !s.ok()) Fail(kExitBadInput, s.message());
  // The backend first: a bad spec should not wait for a corpus to be built.
  auto spec = cleancache::ParseAndCheckBackendSpec(args.backend);
  if (!spec.ok()) Fail(kExitBadInput, spec.status().ToString());
  auto backend = cleancache::CreateBackend(*spec);  // a valid spec that fails (no daemon, no memory)
  if (!backend.ok()) Fail(kExitFailure, backend.status().ToString());
  const std::string backend_name = backend.value()->Name();
  cleancache::Cleancache cache;
  if (Status s = cache.RegisterBackend(std::move(backend).value()); !s.ok()) Fail(kExitFailure, s.ToString());

  const bool on_terminal = isatty(STDERR_FILENO) == 1;
  if (on_terminal) std::fprintf(stderr, "building corpus...\n");
  std::string source;
  Result<PageCorpus> corpus = BuildCorpus(args, &source);
  if (!corpus.ok()) Fail(kExitBadInput, corpus.status().ToString());

  cleancache::PageBenchOptions options;
  options.threads = args.threads;
  if (on_terminal) options.progress = DrawProgress;
  Result<PageBenchReport> report = cleancache::RunPageBench(cache, *corpus, options);
  if (!report.ok()) Fail(kExitFailure, report.status().ToString());

  if (args.json) {
    PrintJson(args, backend_name, source, *report);
  } else {
    PrintText(backend_name, source, *report);
  }
  if (report->mismatches > 0) {
    const PageCorpus& pages = *corpus;
    const uint64_t page = report->first_mismatch;
    std::string where = "page " + std::to_string(page);
    for (const cleancache::CorpusFile& f : pages.files()) {
      if (page >= f.first_page && page < f.first_page + f.page_count)
        where += " (" + f.path + ", page " + std::to_string(page - f.first_page) + ")";
    }
    Fail(kExitFailure, "DATA MISMATCH: " + std::to_string(report->mismatches) +
                           " pages came back different from what was put; first: " + where);
  }
}

}  // namespace

void AddBenchCommand(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* bench = app.add_subcommand(
      "bench",
      "Put every page of a corpus into a backend, get every page back, verify them, and report speed and memory");
  bench->add_option("--backend", args->backend, "Backend spec (see README: Backend specs)")->capture_default_str();
  CLI::Option* file = bench->add_option("--file", args->file, "Use the pages of this file or directory tree");
  CLI::Option* corpus = bench->add_option("--corpus", args->corpus_pages, "Machine-files corpus of N pages")
                            ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 24))
                            ->capture_default_str();
  CLI::Option* synthetic = bench->add_option("--synthetic", args->synthetic_pages, "Synthetic corpus of N pages")
                               ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 24));
  bench->add_option("--compressibility", args->compressibility, "Synthetic: share of repeated text per page (0..1)")
      ->check(CLI::Range(0.0, 1.0))
      ->needs(synthetic)
      ->capture_default_str();
  bench->add_option("--zero-share", args->zero_share, "Synthetic: share of zero/same-filled pages (0..1)")
      ->check(CLI::Range(0.0, 1.0))
      ->needs(synthetic)
      ->capture_default_str();
  bench->add_option("--seed", args->seed, "Synthetic: generator seed")->needs(synthetic)->capture_default_str();
  bench->add_option("--page-size", args->page_size, "Page size in bytes (power of two, 512..65536)")
      ->capture_default_str();
  bench->add_option("--threads", args->threads, "Threads, each with its own range of pages")
      ->check(CLI::Range(1u, 256u))
      ->capture_default_str();
  bench->add_flag("--json", args->json, "Print one JSON object instead of text");
  file->excludes(corpus, synthetic);
  corpus->excludes(synthetic);
  bench->callback([args] { RunBench(*args); });
}
