// The memcached backend against raw libmemcached, side by side in ONE run on
// one loopback memcached (started here unless --server is given):
//   raw set / raw get          page-sized values, binary protocol, same client
//                              behaviours as the backend, reused result buffer
//   backend put / get          memcached:// with encryption (default), with
//                              insecure_plaintext=1, and with that plus
//                              compress=none (what LZ4 costs); shared pool, so
//                              a get is one round trip like the raw get
//   32 single gets vs one multi-get of 32, raw and backend, and on a private
//                              pool (exclusive gets: every hit is deleted too)
// Each rate is the median of --rounds interleaved passes over the corpus.
// A ratio is taken within each round (both sides ran interleaved, under the
// same load) and reported as the median of the rounds with their range.
// Prints pages/s and the ratios the project targets (docs/PERFORMANCE.md).
//
// Flags: --pages=N (default 8192), --rounds=R (default 5), --server=host:port,
//        --synthetic (synthetic half-compressible pages instead of machine files),
//        --pin=split|same|none: where memcached and this client run.
//        `split` (the default when this bench starts the server): memcached
//        on CPU 1, client on CPU 0, the model of a remote tier, whose server
//        does not share the client's CPU; `same`: both on CPU 0, which
//        serialises client and server work, so the client's own CPU cost
//        (compression, sealing) shows in full: the conservative figure;
//        `none`: wherever the scheduler puts them. Unpinned, the scheduler
//        moves them between sharing a CPU (a quick hand-off per request) and
//        not (a cross-CPU wake-up, ~1.5x slower), and whole variants jump
//        between the two: ratios swing by 2x.
#include <libmemcached/memcached.h>

#include <sched.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "cleancache/backend_spec.h"
#include "cleancache/corpus.h"
#include "memcached/memcached_server.h"

namespace {

using cleancache::Backend;
using cleancache::BackendPoolId;
using cleancache::FileKey;
using Clock = std::chrono::steady_clock;

constexpr size_t kBatch = 32;

struct Options {
  uint64_t pages = 8192;
  int rounds = 5;
  std::string server;
  bool synthetic = false;
  std::string pin;  // "same", "split" or "none"; empty: "same" unless --server
};

Options ParseFlags(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char* name) { return arg.substr(std::strlen(name)); };
    if (arg.starts_with("--pages="))
      options.pages = std::stoull(value("--pages="));
    else if (arg.starts_with("--rounds="))
      options.rounds = std::stoi(value("--rounds="));
    else if (arg.starts_with("--server="))
      options.server = value("--server=");
    else if (arg == "--synthetic")
      options.synthetic = true;
    else if (arg == "--pin=same" || arg == "--pin=split" || arg == "--pin=none")
      options.pin = value("--pin=");
    else {
      std::fprintf(
          stderr,
          "unknown flag %s\n(flags: --pages=N --rounds=R --server=host:port --synthetic --pin=split|same|none)\n",
          arg.c_str());
      std::exit(2);
    }
  }
  return options;
}

// A raw libmemcached client configured like the backend's connections.
class RawClient {
 public:
  explicit RawClient(const std::string& address) {
    handle_ = memcached_create(nullptr);
    memcached_behavior_set(handle_, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1);
    memcached_behavior_set(handle_, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
    memcached_behavior_set(handle_, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
    memcached_behavior_set(handle_, MEMCACHED_BEHAVIOR_NO_BLOCK, 1);
    memcached_behavior_set(handle_, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, 1000);
    size_t colon = address.rfind(':');
    memcached_server_add(handle_, address.substr(0, colon).c_str(),
                         static_cast<in_port_t>(std::stoi(address.substr(colon + 1))));
    memcached_result_create(handle_, &result_);
  }
  ~RawClient() {
    memcached_result_free(&result_);
    memcached_free(handle_);
  }
  bool Set(const std::string& key, std::span<const uint8_t> value) {
    return memcached_set(handle_, key.data(), key.size(), reinterpret_cast<const char*>(value.data()), value.size(), 0,
                         0) == MEMCACHED_SUCCESS;
  }
  // Fetches `count` keys in one request; copies each value found into `out`.
  size_t Get(const char* const* keys, const size_t* lengths, size_t count, std::span<uint8_t> out, size_t page_size) {
    if (memcached_mget(handle_, keys, lengths, count) != MEMCACHED_SUCCESS) return 0;
    size_t found = 0;
    memcached_return_t rc;
    while (memcached_fetch_result(handle_, &result_, &rc)) {
      size_t n = std::min(memcached_result_length(&result_), page_size);
      std::memcpy(out.data() + (found % count) * page_size, memcached_result_value(&result_), n);
      ++found;
    }
    return found;
  }

 private:
  memcached_st* handle_;
  memcached_result_st result_;
};

double ThreadCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

bool PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options = ParseFlags(argc, argv);
  std::unique_ptr<cleancache::testing::MemcachedServer> server;
  std::string address = options.server;
  // Pinning: the server inherits its CPU from this process at fork; then the
  // client moves to CPU 0.
  if (options.pin.empty()) options.pin = address.empty() ? "split" : "none";
  const bool pinned = options.pin != "none";
  if (pinned && !PinTo(options.pin == "split" ? 1 : 0)) {
    std::fprintf(stderr, "--pin: cannot pin the server\n");
    return 1;
  }
  if (address.empty()) {
    server = cleancache::testing::MemcachedServer::Start(1024, cleancache::testing::MemcachedServer::Lru::kStock);
    if (!server) return 1;
    address = server->address();
  }
  if (pinned && !PinTo(0)) {
    std::fprintf(stderr, "--pin: cannot pin the client to CPU 0\n");
    return 1;
  }

  cleancache::Result<cleancache::PageCorpus> corpus =
      options.synthetic ? cleancache::BuildSyntheticCorpus({.pages = options.pages, .compressibility = 0.5})
                        : cleancache::BuildMachineCorpus({.pages = options.pages});
  if (!corpus.ok()) {
    std::fprintf(stderr, "corpus: %s\n", corpus.status().ToString().c_str());
    return 1;
  }
  const size_t pages = corpus->page_count();
  const size_t page_size = corpus->page_size();
  const size_t passes_pages = pages - pages % kBatch;

  struct BackendUnderTest {
    std::string label;
    std::unique_ptr<Backend> backend;
    BackendPoolId pool = 0;
  };
  std::vector<BackendUnderTest> backends;
  const std::tuple<const char*, const char*, bool> variants[] = {
      {"encrypted", "", true},
      {"plaintext", "?insecure_plaintext=1", true},
      // Not a default: shows what LZ4 costs (and saves) next to plaintext.
      {"uncompressed plaintext", "?insecure_plaintext=1&compress=none", true},
      {"private encrypted", "", false}};
  for (auto [label, extra, shared] : variants) {
    auto backend = cleancache::CreateBackend("memcached://" + address + extra);
    if (!backend.ok()) {
      std::fprintf(stderr, "%s\n", backend.status().ToString().c_str());
      return 1;
    }
    cleancache::PoolConfig config;
    config.shared = shared;
    config.uuid.bytes[0] = static_cast<uint8_t>(backends.size() + 1);
    config.page_size = static_cast<uint32_t>(page_size);
    BackendPoolId pool = (*backend)->OpenPool(config).value();
    backends.push_back({label, std::move(backend.value()), pool});
  }
  // The corpus's own files: one failed request only costs its file.
  std::vector<FileKey> key_of_page(pages);
  std::vector<uint64_t> index_of_page(pages);
  for (const auto& f : corpus->files()) {
    for (uint64_t p = 0; p < f.page_count; ++p) {
      key_of_page[f.first_page + p] = FileKey::FromInode(f.device, f.inode);
      index_of_page[f.first_page + p] = p;
    }
  }
  // Multi-gets read 32 consecutive pages of one file: runs of 32 per key.
  std::vector<FileKey> batch_key(passes_pages / kBatch);
  for (size_t b = 0; b < batch_key.size(); ++b) batch_key[b] = FileKey::FromInode(2, b);
  RawClient raw(address);
  std::vector<std::string> raw_keys;
  for (size_t i = 0; i < pages; ++i) raw_keys.push_back("raw:" + std::to_string(i));
  std::vector<const char*> raw_key_pointers;
  std::vector<size_t> raw_key_lengths;
  for (const std::string& key : raw_keys) {
    raw_key_pointers.push_back(key.data());
    raw_key_lengths.push_back(key.size());
  }
  std::vector<uint8_t> out(kBatch * page_size), hit(kBatch);

  // The machine is shared and noisy, so the variants are interleaved in
  // chunks of kChunk pages: every variant sees the same load. Per round, each
  // variant's time is summed over its chunks; figures are medians of rounds.
  constexpr size_t kChunk = 256;
  std::map<std::string, std::vector<double>> rate;  // pages per second, per round
  std::map<std::string, uint64_t> hits;
  std::map<std::string, std::vector<double>> cpu_per_page;  // client CPU seconds per page, per round
  struct Step {
    std::string name;
    std::function<uint64_t(size_t begin, size_t end)> run;  // pages [begin, end)
  };
  auto run_phase = [&](const std::vector<Step>& steps, size_t total) {
    std::map<std::string, double> seconds, cpu_seconds;
    for (size_t begin = 0; begin < total; begin += kChunk) {
      size_t end = std::min(total, begin + kChunk);
      for (const Step& step : steps) {
        auto start = Clock::now();
        double cpu_start = ThreadCpuSeconds();
        hits[step.name] += step.run(begin, end);
        cpu_seconds[step.name] += ThreadCpuSeconds() - cpu_start;
        seconds[step.name] += std::chrono::duration<double>(Clock::now() - start).count();
      }
    }
    for (const Step& step : steps) {
      rate[step.name].push_back(static_cast<double>(total) / seconds[step.name]);
      cpu_per_page[step.name].push_back(cpu_seconds[step.name] / static_cast<double>(total));
    }
  };

  std::vector<Step> puts, gets, single_gets, multi_gets;
  puts.push_back({"raw set", [&](size_t begin, size_t end) {
                    uint64_t ok = 0;
                    for (size_t i = begin; i < end; ++i) ok += raw.Set(raw_keys[i], corpus->page(i));
                    return ok;
                  }});
  auto raw_single_gets = [&](size_t begin, size_t end) {
    uint64_t found = 0;
    for (size_t i = begin; i < end; ++i) found += raw.Get(&raw_key_pointers[i], &raw_key_lengths[i], 1, out, page_size);
    return found;
  };
  gets.push_back({"raw get", raw_single_gets});
  single_gets.push_back({"raw 32 single gets", raw_single_gets});
  multi_gets.push_back({"raw multi-get x32", [&](size_t begin, size_t end) {
                          uint64_t found = 0;
                          for (size_t i = begin; i < end; i += kBatch) {
                            found += raw.Get(&raw_key_pointers[i], &raw_key_lengths[i], kBatch, out, page_size);
                          }
                          return found;
                        }});
  for (auto& b : backends) {
    puts.push_back({b.label + " put", [&](size_t begin, size_t end) {
                      for (size_t i = begin; i < end; ++i) {
                        b.backend->PutPage(b.pool, key_of_page[i], index_of_page[i], corpus->page(i));
                      }
                      return uint64_t{0};
                    }});
    gets.push_back({b.label + " get", [&](size_t begin, size_t end) {
                      uint64_t found = 0;
                      for (size_t i = begin; i < end; ++i) {
                        found += b.backend->GetPage(b.pool, key_of_page[i], index_of_page[i],
                                                    std::span<uint8_t>(out).first(page_size));
                      }
                      return found;
                    }});
    single_gets.push_back({b.label + " 32 single gets", [&](size_t begin, size_t end) {
                             uint64_t found = 0;
                             for (size_t i = begin; i < end; ++i) {
                               found += b.backend->GetPage(b.pool, batch_key[i / kBatch], i % kBatch,
                                                           std::span<uint8_t>(out).first(page_size));
                             }
                             return found;
                           }});
    multi_gets.push_back({b.label + " multi-get x32", [&](size_t begin, size_t end) {
                            uint64_t found = 0;
                            for (size_t i = begin; i < end; i += kBatch) {
                              found += b.backend->GetPages(b.pool, batch_key[i / kBatch], 0, kBatch, out, hit);
                            }
                            return found;
                          }});
  }
  // Same pages again as runs of 32 per file key, so one multi-get fetches 32
  // (put again before each pass: private pools' gets take the pages).
  auto put_runs = [&] {
    for (auto& b : backends) {
      for (size_t i = 0; i < passes_pages; ++i) {
        b.backend->PutPage(b.pool, batch_key[i / kBatch], i % kBatch, corpus->page(i));
      }
    }
  };

  for (int round = 0; round < options.rounds; ++round) {
    hits.clear();
    run_phase(puts, pages);
    run_phase(gets, pages);
    put_runs();
    run_phase(single_gets, passes_pages);
    put_runs();
    run_phase(multi_gets, passes_pages);
  }

  std::printf("memcached bench: %zu pages of %zu bytes (%s corpus), %d rounds, server %s%s\n", pages, page_size,
              options.synthetic ? "synthetic" : "machine", options.rounds, address.c_str(),
              !pinned                  ? ", unpinned"
              : options.pin == "split" ? ", server on CPU 1, client on CPU 0"
                                       : ", server and client on CPU 0");
  std::printf("%-34s %12s %18s %8s\n", "operation", "pages/s", "client CPU us/page", "hits");
  for (auto& [name, values] : rate) {
    std::printf("%-34s %12.0f %18.2f %8lu\n", name.c_str(), Median(values), Median(cpu_per_page[name]) * 1e6,
                static_cast<unsigned long>(hits[name]));
  }
  // Per round: both sides of a ratio ran interleaved in that round.
  auto per_round = [&](auto ratio_of_round) {
    std::vector<double> ratios;
    for (int r = 0; r < options.rounds; ++r) ratios.push_back(ratio_of_round(static_cast<size_t>(r)));
    return ratios;
  };
  auto ratio = [&](const std::string& a, const std::string& b) {
    return per_round([&](size_t r) { return rate[a][r] / rate[b][r]; });
  };
  auto both = [&](const std::string& label) {
    // A put and a get of every page, against the raw set and get of it.
    return per_round([&](size_t r) {
      double ours = 1 / (1 / rate[label + " put"][r] + 1 / rate[label + " get"][r]);
      double theirs = 1 / (1 / rate["raw set"][r] + 1 / rate["raw get"][r]);
      return ours / theirs;
    });
  };
  auto show = [&](const char* name, const std::vector<double>& ratios, const char* target) {
    auto [low, high] = std::minmax_element(ratios.begin(), ratios.end());
    std::printf("%-44s %6.2f  [%5.2f .. %5.2f]  %s\n", name, Median(ratios), *low, *high, target);
  };
  std::printf("\nratios: median of rounds [min .. max] (target)\n");
  show("encrypted put / raw set", ratio("encrypted put", "raw set"), "");
  show("encrypted get / raw get", ratio("encrypted get", "raw get"), "");
  show("encrypted put+get / raw set+get", both("encrypted"), "(>= 0.80)");
  show("plaintext put / raw set", ratio("plaintext put", "raw set"), "");
  show("plaintext get / raw get", ratio("plaintext get", "raw get"), "");
  show("plaintext put+get / raw set+get", both("plaintext"), "(>= 0.90)");
  show("uncompressed plaintext put+get / raw", both("uncompressed plaintext"), "(compress=none: reference)");
  show("raw multi-get x32 / 32 gets", ratio("raw multi-get x32", "raw 32 single gets"), "");
  show("encrypted multi-get x32 / 32 gets", ratio("encrypted multi-get x32", "encrypted 32 single gets"), "(>= 5)");
  show("plaintext multi-get x32 / 32 gets", ratio("plaintext multi-get x32", "plaintext 32 single gets"), "(>= 5)");
  show("private multi-get x32 / 32 gets", ratio("private encrypted multi-get x32", "private encrypted 32 single gets"),
       "(>= 5)");
  for (auto& b : backends) {
    auto stats = b.backend->Stats();
    std::printf(
        "%s: put_failures %lu get_failures %lu delete_failures %lu generation_bumps %lu auth_failures %lu "
        "sent_bytes %lu\n",
        b.label.c_str(), static_cast<unsigned long>(stats.extra["put_failures"]),
        static_cast<unsigned long>(stats.extra["get_failures"]),
        static_cast<unsigned long>(stats.extra["delete_failures"]),
        static_cast<unsigned long>(stats.extra["generation_bumps"]),
        static_cast<unsigned long>(stats.extra["auth_failures"]),
        static_cast<unsigned long>(stats.extra["sent_bytes"]));
  }
  return 0;
}
