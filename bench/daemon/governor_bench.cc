// The daemon's governor policies head to head (docs/PERFORMANCE.md,
// "Curve-driven sharing"): a real `cleancache serve` process
// (tenant_by = process, one capacity) and two client processes, each its own
// tenant through the tmem client:
//   zipf: reads pages of a 256 MiB file with Zipf(--alpha) popularity (a
//         miss is put: the page came from the disk);
//   scan: reads a file from start to end once, never again (every read a
//         miss, every page put).
// Both read --ops pages per phase, --phases phases, pausing --pause-ms after
// each (so the daemon's once-a-second Rebalance sees the curves move, as it
// would with clients that compute between reads). Run with policy = weight,
// then policy = curve, --rounds times alternating; each run's hits are
// counted by the clients (hits, not time: the figures do not depend on the
// machine's load). Reported per run: hits of each tenant in the second half
// of the phases (the steady state) and in all of them, and each tenant's
// memory and share at the end (from the daemon's stats); then the median and
// spread of the curve / weight ratio of total hits.
// Usage: governor_bench [--cli=PATH] [--rounds=3] [--capacity=64M] [--phases=24] [--ops=20000]
//                       [--pause-ms=250] [--alpha=0.7] [--zipf-pages=65536] [--min-share=10%]
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cleancache/backend_spec.h"
#include "tmem/daemon_connection.h"

namespace {

using cleancache::Backend;
using cleancache::FileKey;

struct Args {
  std::string cli = CLEANCACHE_CLI_PATH;
  int rounds = 3;
  std::string capacity = "64M";
  int phases = 24;
  uint64_t ops = 20000;
  int pause_ms = 250;
  double alpha = 0.7;
  uint64_t zipf_pages = 65536;
  std::string min_share = "10%";
};

// Half random, half zero: LZ4 stores it in about half a page.
std::vector<uint8_t> PageFor(uint64_t tag) {
  std::vector<uint8_t> page(4096, 0);
  std::mt19937_64 rng(tag * 0x9E3779B97F4A7C15ull + 1);
  for (size_t i = 0; i < 2048; i += 8) {
    const uint64_t v = rng();
    std::memcpy(page.data() + i, &v, 8);
  }
  return page;
}

// Hits per phase, written to `fd` as uint64s.
void Client(const std::string& socket, bool zipf, const Args& a, uint64_t seed, int fd) {
  auto spec = cleancache::ParseBackendSpec("tmem:" + socket);
  auto backend = cleancache::CreateBackend(*spec);
  if (!backend.ok()) {
    std::fprintf(stderr, "client: %s\n", backend.status().message().c_str());
    _exit(1);
  }
  Backend& b = **backend;
  cleancache::PoolConfig config;
  config.keep_on_get = true;  // the reader's page cache may drop the page again
  auto pool = b.OpenPool(config);
  if (!pool.ok()) _exit(1);
  std::vector<double> cdf;
  if (zipf) {
    cdf.resize(a.zipf_pages);
    double sum = 0;
    for (uint64_t i = 0; i < a.zipf_pages; ++i) cdf[i] = sum += 1 / std::pow(static_cast<double>(i + 1), a.alpha);
    for (double& c : cdf) c /= sum;
  }
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  const FileKey key = FileKey::FromInode(1, zipf ? 1 : 2);
  std::vector<uint8_t> page(4096);
  uint64_t next = 0;
  for (int phase = 0; phase < a.phases; ++phase) {
    uint64_t hits = 0;
    for (uint64_t op = 0; op < a.ops; ++op) {
      uint64_t index;
      if (zipf) {
        const uint64_t rank = static_cast<uint64_t>(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin());
        index = (rank * 0x9E3779B97F4A7C15ull) % (a.zipf_pages * 16);  // hot pages spread over the file
      } else {
        index = next++;
      }
      if (b.GetPage(*pool, key, index, page)) {
        ++hits;
      } else {
        const auto content = PageFor(index);
        b.PutPage(*pool, key, index, content);
      }
    }
    if (write(fd, &hits, sizeof hits) != sizeof hits) _exit(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(a.pause_ms));
  }
  _exit(0);
}

bool Connectable(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

struct Outcome {
  std::vector<uint64_t> zipf, scan;  // hits per phase
  nlohmann::json stats;              // the daemon's, at the end
};

Outcome RunOnce(const Args& a, const std::string& policy, uint64_t seed) {
  char dir_template[] = "/tmp/cc-govbench-XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  const std::string socket = dir + "/tmem.sock", config = dir + "/cleancached.conf";
  std::ofstream(config) << "socket = " << socket << "\ncapacity = " << a.capacity
                        << "\nbackend = zcache:codec=lz4\ntenant_by = process\npolicy = " << policy
                        << "\nmin_share = " << a.min_share << "\n";
  const pid_t daemon = fork();
  if (daemon == 0) {
    const std::string log = dir + "/daemon.log";
    FILE* out = std::freopen(log.c_str(), "w", stderr);
    (void)out;
    execl(a.cli.c_str(), a.cli.c_str(), "serve", "--config", config.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 500 && !Connectable(socket); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  Outcome r;
  int pipes[2][2];
  pid_t clients[2];
  for (int c = 0; c < 2; ++c) {
    if (pipe(pipes[c]) != 0) std::abort();
    clients[c] = fork();
    if (clients[c] == 0) {
      close(pipes[c][0]);
      Client(socket, c == 0, a, seed + c, pipes[c][1]);
    }
    close(pipes[c][1]);
  }
  // The daemon's stats twice a second while both tenants live (a tenant
  // goes with its last connection): the last such sample is reported.
  std::atomic<bool> done{false};
  std::thread sampler([&] {
    while (!done) {
      auto text = cleancache::daemon::FetchDaemonStats(socket, 5000);
      if (text.ok()) {
        auto j = nlohmann::json::parse(*text, nullptr, false);
        if (!j.is_discarded() && j.contains("tenants") && j["tenants"].size() == 2) r.stats = j;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  });
  for (int c = 0; c < 2; ++c) {
    uint64_t hits;
    while (read(pipes[c][0], &hits, sizeof hits) == sizeof hits) (c == 0 ? r.zipf : r.scan).push_back(hits);
    close(pipes[c][0]);
  }
  for (int c = 0; c < 2; ++c) waitpid(clients[c], nullptr, 0);
  done = true;
  sampler.join();
  kill(daemon, SIGTERM);
  waitpid(daemon, nullptr, 0);
  std::system(("rm -rf '" + dir + "'").c_str());
  return r;
}

uint64_t Sum(const std::vector<uint64_t>& v, size_t from) {
  uint64_t s = 0;
  for (size_t i = from; i < v.size(); ++i) s += v[i];
  return s;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

static int Main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&arg](const char* name) -> const char* {
      const size_t n = std::strlen(name);
      return arg.compare(0, n, name) == 0 ? arg.c_str() + n : nullptr;
    };
    if (const char* v = value("--cli="))
      a.cli = v;
    else if (const char* v = value("--rounds="))
      a.rounds = std::atoi(v);
    else if (const char* v = value("--capacity="))
      a.capacity = v;
    else if (const char* v = value("--phases="))
      a.phases = std::atoi(v);
    else if (const char* v = value("--ops="))
      a.ops = std::strtoull(v, nullptr, 10);
    else if (const char* v = value("--pause-ms="))
      a.pause_ms = std::atoi(v);
    else if (const char* v = value("--alpha="))
      a.alpha = std::atof(v);
    else if (const char* v = value("--zipf-pages="))
      a.zipf_pages = std::strtoull(v, nullptr, 10);
    else if (const char* v = value("--min-share="))
      a.min_share = v;
    else {
      std::fprintf(stderr, "unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  std::printf(
      "governor_bench: capacity %s, zipf(%.2f) over %llu pages vs a scan, %d phases x %llu reads each, "
      "min_share %s\n",
      a.capacity.c_str(), a.alpha, static_cast<unsigned long long>(a.zipf_pages), a.phases,
      static_cast<unsigned long long>(a.ops), a.min_share.c_str());
  std::printf("%-6s %-7s %12s %12s %12s %12s\n", "round", "policy", "zipf_hits", "scan_hits", "total_2nd_half",
              "total_all");
  std::vector<double> ratio_half, ratio_all;
  for (int round = 0; round < a.rounds; ++round) {
    uint64_t half[2] = {0, 0}, all[2] = {0, 0};
    for (int p = 0; p < 2; ++p) {
      const char* policy = p == 0 ? "weight" : "curve";
      const Outcome r = RunOnce(a, policy, 1000 + round);
      const size_t from = static_cast<size_t>(a.phases / 2);
      half[p] = Sum(r.zipf, from) + Sum(r.scan, from);
      all[p] = Sum(r.zipf, 0) + Sum(r.scan, 0);
      std::string memory;  // tenant: real memory / share, MiB (pid:N; the zipf client was forked first)
      if (r.stats.contains("tenants")) {
        for (const auto& t : r.stats["tenants"]) {
          char text[160];
          std::snprintf(text, sizeof text, "  %s %.1f/%.1f MiB", t.value("name", std::string("?")).c_str(),
                        t.value("real_memory_bytes", 0.0) / 1048576, t.value("share_bytes", 0.0) / 1048576);
          memory += text;
        }
      }
      std::printf("%-6d %-7s %12llu %12llu %12llu %12llu%s\n", round + 1, policy,
                  static_cast<unsigned long long>(Sum(r.zipf, from)),
                  static_cast<unsigned long long>(Sum(r.scan, from)), static_cast<unsigned long long>(half[p]),
                  static_cast<unsigned long long>(all[p]), memory.c_str());
      std::fflush(stdout);
    }
    ratio_half.push_back(half[0] == 0 ? 0 : static_cast<double>(half[1]) / static_cast<double>(half[0]));
    ratio_all.push_back(all[0] == 0 ? 0 : static_cast<double>(all[1]) / static_cast<double>(all[0]));
  }
  auto spread = [](const std::vector<double>& v) {
    return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()) - *std::min_element(v.begin(), v.end());
  };
  std::printf(
      "curve/weight total hits, second half: median %.3f (spread %.3f); all phases: median %.3f (spread %.3f)\n",
      Median(ratio_half), spread(ratio_half), Median(ratio_all), spread(ratio_all));
  return 0;
}

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "governor_bench: %s\n", e.what());
    return 1;
  }
}
