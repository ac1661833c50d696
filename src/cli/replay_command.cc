// `cleancache replay TRACE --backend SPEC --capacities 32M,64M,...`: replays a
// page trace (cleancache binary format or fio iolog) through a real backend at
// each capacity and prints the measured hit ratio beside the miss-ratio
// curve's prediction (src/mrc/trace_replay.h; docs/MRC.md). `--generate
// WORKLOAD` replays a synthetic trace instead, `--save-trace` writes it out.
// Exit codes (commands.h): 2 bad input (options, spec, an unreadable,
// truncated or corrupt trace); 1 a runtime failure (a backend that cannot be
// created, a chart that cannot be drawn: the table is printed first).
#ifdef CLEANCACHE_HAVE_MRC
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cleancache/backend_spec.h"
#include "cleancache/page_trace.h"
#include "cli/commands.h"
#include "mrc/trace_generator.h"
#include "mrc/trace_replay.h"

namespace {

using cleancache::FormatSize;
using cleancache::mrc::ReplayReport;

struct ReplayArgs {
  std::string trace;
  std::string generate;
  cleancache::mrc::GeneratorOptions generator;
  std::string save_trace;
  std::string backend{cleancache::kDefaultBackendSpec};
  std::string capacities = "32M,64M,128M,256M";
  double compressibility = 0.5;
  double curve_rate = 0;
  uint32_t iolog_page_size = 4096;
  std::string png;
  bool json = false;
};

[[noreturn]] void Fail(int exit_code, const std::string& message) { FailCommand("replay", exit_code, message); }

std::vector<uint64_t> ParseCapacities(const std::string& text) {
  std::vector<uint64_t> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    auto bytes = cleancache::ParseSize(item);
    if (!bytes.ok() || *bytes == 0) Fail(kExitBadInput, "--capacities: bad size '" + item + "' (e.g. 32M,64M,1G)");
    out.push_back(*bytes);
    start = comma + 1;
  }
  return out;
}

void PrintText(const std::string& source, const std::string& spec, const ReplayReport& r) {
  std::printf("trace      %s: %llu records, %llu reads\n", source.c_str(), static_cast<unsigned long long>(r.records),
              static_cast<unsigned long long>(r.reads));
  std::printf("backend    %s, a fresh one per capacity (first: %s)\n", spec.c_str(), r.backend_name.c_str());
  std::printf(
      "curve      SHARDS: %llu pages tracked (at most %llu), sampling rate %.4g, %s of memory; "
      "%.0f B per page read\n",
      static_cast<unsigned long long>(r.curve.samples()), static_cast<unsigned long long>(r.curve_max_samples),
      r.curve.sampling_rate(), FormatSize(r.curve_memory_bytes).c_str(), r.mean_page_bytes);
  std::printf("%-12s %12s %10s %10s %10s %10s\n", "capacity", "for pages", "measured", "predicted", "error",
              "evictions");
  for (const auto& p : r.points) {
    std::printf("%-12s %12s %10.4f %10.4f %+10.4f %10llu\n", FormatSize(p.capacity_bytes).c_str(),
                FormatSize(p.usable_bytes).c_str(), p.measured, p.predicted, p.predicted - p.measured,
                static_cast<unsigned long long>(p.stats.evictions));
  }
}

nlohmann::ordered_json ToJson(const std::string& source, const ReplayReport& r, uint64_t smallest, uint64_t largest) {
  nlohmann::ordered_json out;
  out["trace"] = source;
  out["records"] = r.records;
  out["reads"] = r.reads;
  out["backend"] = r.backend_name;
  out["curve"] = {{"method", "SHARDS fixed-size"},        {"samples", r.curve.samples()},
                  {"max_samples", r.curve_max_samples},   {"sampling_rate", r.curve.sampling_rate()},
                  {"memory_bytes", r.curve_memory_bytes}, {"mean_page_bytes", r.mean_page_bytes}};
  nlohmann::ordered_json points = nlohmann::json::array();
  for (const auto& p : r.points) {
    points.push_back({{"capacity_bytes", p.capacity_bytes},
                      {"usable_bytes", p.usable_bytes},
                      {"reads", p.reads},
                      {"hits", p.hits},
                      {"measured_hit_ratio", p.measured},
                      {"predicted_hit_ratio", p.predicted},
                      {"error", p.predicted - p.measured},
                      {"evictions", p.stats.evictions},
                      {"real_memory_bytes", p.stats.real_memory_bytes},
                      {"pages_stored", p.stats.pages_stored}});
  }
  out["capacities"] = points;
  nlohmann::ordered_json curve = nlohmann::json::array();
  for (const auto& p : r.curve.BytesCurve(smallest, largest, 64))
    curve.push_back({{"bytes", p.size}, {"hit_ratio", p.hit_ratio}});
  out["curve_points"] = curve;
  return out;
}

// A gnuplot single-quoted string: a quote is doubled.
std::string Quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// Draws the curve and the measured points with gnuplot. A message, or "" on success.
std::string DrawChart(const std::string& png, const std::string& title, const ReplayReport& r, uint64_t smallest,
                      uint64_t largest) {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0)
    return "--png: gnuplot is not installed (scripts/deps installs it); no chart drawn, the table above is complete";
  char pattern[] = "/tmp/cleancache-replay-XXXXXX";
  if (mkdtemp(pattern) == nullptr) return "--png: cannot create a temporary directory";
  const std::string dir = pattern;
  {
    std::ofstream curve(dir + "/curve.dat"), points(dir + "/points.dat");
    for (const auto& p : r.curve.BytesCurve(smallest, largest, 128))
      curve << static_cast<double>(p.size) / (1 << 20) << " " << p.hit_ratio << "\n";
    for (const auto& p : r.points)
      points << static_cast<double>(p.capacity_bytes) / (1 << 20) << " " << p.measured << " " << p.predicted << "\n";
    std::ofstream script(dir + "/chart.gp");
    script << "set terminal pngcairo size 900,560\nset output " << Quoted(png) << "\n"
           << "set title " << Quoted(title)
           << " noenhanced\nset logscale x 2\nset xlabel 'capacity (MiB of real memory)'\n"
           << "set ylabel 'hit ratio'\nset yrange [0:1]\nset key bottom right\nset grid\n"
           << "plot '" << dir << "/curve.dat' using 1:2 with lines lw 2 title 'curve (SHARDS; x = bytes for pages)', '"
           << dir << "/points.dat' using 1:2 with points pt 7 ps 1.5 title 'measured replay', '" << dir
           << "/points.dat' using 1:3 with points pt 6 ps 2 title 'predicted (curve at the bytes for pages)'\n";
  }
  const int rc = std::system(("gnuplot '" + dir + "/chart.gp' 2>'" + dir + "/err'").c_str());
  std::string error;
  if (rc != 0) {
    std::ifstream err(dir + "/err");
    std::string line;
    std::getline(err, line);
    error = "--png: gnuplot failed: " + line;
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return error;
}

void RunReplay(const ReplayArgs& args) {
  // All input first (commands.h): options, every capacity's spec, the trace.
  if (args.trace.empty() == args.generate.empty())
    Fail(kExitBadInput, "give a TRACE file or --generate WORKLOAD (not both)");
  cleancache::mrc::ReplayOptions options;
  options.backend = args.backend;
  options.capacities = ParseCapacities(args.capacities);
  options.compressibility = args.compressibility;
  options.curve_initial_rate = args.curve_rate;
  if (auto s = cleancache::mrc::CheckReplayOptions(options); !s.ok()) Fail(kExitBadInput, s.message());

  cleancache::PageTrace trace;
  std::string source;
  if (!args.generate.empty()) {
    cleancache::mrc::GeneratorOptions generator = args.generator;
    auto workload = cleancache::mrc::ParseWorkload(args.generate);
    if (!workload.ok()) Fail(kExitBadInput, "--generate: " + workload.status().message());
    generator.workload = *workload;
    if (auto s = cleancache::mrc::CheckGeneratorOptions(generator); !s.ok()) Fail(kExitBadInput, s.message());
    trace = cleancache::mrc::GenerateTrace(generator);
    char text[200];
    std::snprintf(text, sizeof text, "generated %s (%llu pages, seed %llu)", args.generate.c_str(),
                  static_cast<unsigned long long>(generator.pages), static_cast<unsigned long long>(generator.seed));
    source = text;
    if (!args.save_trace.empty()) {
      if (auto s = cleancache::WritePageTrace(args.save_trace, trace); !s.ok()) Fail(kExitFailure, s.ToString());
    }
  } else {
    auto read = cleancache::ReadAnyTrace(args.trace, args.iolog_page_size);
    if (!read.ok()) Fail(kExitBadInput, read.status().ToString());
    trace = std::move(read).value();
    source = args.trace;
    if (trace.limit_reached)
      std::fprintf(stderr, "cleancache replay: note: %s hit its size limit when recorded; replaying its prefix\n",
                   args.trace.c_str());
  }

  const bool on_terminal = isatty(STDERR_FILENO) == 1;
  if (on_terminal) {
    options.progress = [&options](size_t c, uint64_t done, uint64_t total) {
      std::fprintf(stderr, "\rreplay at %-10s %3d%%", FormatSize(options.capacities[c]).c_str(),
                   total == 0 ? 100 : static_cast<int>(done * 100 / total));
      if (done == total && c + 1 == options.capacities.size()) std::fputc('\n', stderr);
      std::fflush(stderr);
    };
  }
  auto report = cleancache::mrc::ReplayTrace(trace, options);
  if (!report.ok()) Fail(kExitFailure, report.status().ToString());

  const auto [low, high] = std::minmax_element(options.capacities.begin(), options.capacities.end());
  const uint64_t smallest = std::max<uint64_t>(*low / 4, 1), largest = *high * 4;
  if (args.json) {
    std::printf("%s\n", ToJson(source, *report, smallest, largest).dump(2).c_str());
  } else {
    PrintText(source, args.backend, *report);
  }
  if (!args.png.empty()) {
    const std::string error = DrawChart(args.png, source + " on " + args.backend, *report, smallest, largest);
    if (!error.empty()) Fail(kExitFailure, error);
  }
}

}  // namespace

void AddReplayCommand(CLI::App& app) {
  auto args = std::make_shared<ReplayArgs>();
  CLI::App* replay = app.add_subcommand(
      "replay",
      "Replay a page trace through a backend at several capacities: measured hit ratio vs the miss-ratio curve");
  CLI::Option* trace =
      replay->add_option("TRACE", args->trace, "Trace file: cleancache binary trace or fio iolog (v2/v3)");
  CLI::Option* generate = replay->add_option("--generate", args->generate,
                                             "Replay a synthetic trace instead: zipf, uniform, scan-hot, shift");
  replay->add_option("--backend", args->backend, "Backend spec; its capacity is set per run (see README)")
      ->capture_default_str();
  replay->add_option("--capacities", args->capacities, "Comma-separated capacities (real memory)")
      ->capture_default_str();
  replay
      ->add_option("--compressibility", args->compressibility,
                   "Share of repeated text in the synthetic page data (0..1)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  replay
      ->add_option("--curve-rate", args->curve_rate,
                   "Initial sampling rate of the curve (0 = default: twice the always-on rate, 0.08)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  replay->add_option("--iolog-page-size", args->iolog_page_size, "Page size for fio iologs")->capture_default_str();
  replay->add_flag("--json", args->json, "Print one JSON object instead of the table");
  replay->add_option("--png", args->png, "Also draw the curve and the measured points into this PNG (gnuplot)");
  replay->add_option("--pages", args->generator.pages, "--generate: distinct pages")
      ->needs(generate)
      ->capture_default_str();
  replay->add_option("--accesses", args->generator.accesses, "--generate: reads")
      ->needs(generate)
      ->capture_default_str();
  replay->add_option("--zipf-exponent", args->generator.zipf_exponent, "--generate zipf/shift: exponent in (0, 1)")
      ->needs(generate)
      ->capture_default_str();
  replay->add_option("--seed", args->generator.seed, "--generate: generator seed")
      ->needs(generate)
      ->capture_default_str();
  replay->add_option("--save-trace", args->save_trace, "--generate: also write the trace to this file")
      ->needs(generate);
  trace->excludes(generate);
  replay->callback([args] { RunReplay(*args); });
}
#endif  // CLEANCACHE_HAVE_MRC
