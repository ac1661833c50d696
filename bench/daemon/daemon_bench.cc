// cleancached against the in-process backend and a bare Unix socket, in ONE
// run on ONE corpus (machine files, default 16,384 pages of 4 KiB):
//  1. get throughput: in-process zcache (single and batched) vs the daemon
//     through the tmem client (single and batched GetPages of --batch pages,
//     runs of consecutive corpus pages keyed as one file each);
//  2. single-page get round trip (p50, p99) vs a bare Unix-socket ping-pong
//     whose reply carries the same 4 KiB (request 64 bytes, reply 4096);
//  3. batched get throughput of 1 client vs 4 clients at once.
// The daemon runs in this process on its own threads, as the ping-pong peer
// does, so both sides of every comparison pay the same thread wake-ups.
// Every figure is taken --rounds times, the rounds interleaved (A B C A B C
// ...), and the best throughput / the median percentile of the rounds is
// reported, so that load from other processes on a shared machine hits all
// sides of a comparison alike.
// Usage: daemon_bench [--pages=N] [--batch=N] [--rounds=N] [--spec=SPEC] [--client=KEY=VALUE&...]
//                     [--request-poll-us=N]
// (--client=spin_us=0 --request-poll-us=0: neither side polls before it sleeps.)
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "cleancache/backend_spec.h"
#include "cleancache/corpus.h"
#include "daemon/server.h"

namespace {

using cleancache::Backend;
using cleancache::BackendPoolId;
using cleancache::FileKey;
using Clock = std::chrono::steady_clock;

struct Run {
  size_t first;  // corpus page
  size_t count;  // pages of one file, <= batch
  FileKey key;
  uint64_t index;
};

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// Pages [begin, end) in runs of `batch` consecutive corpus pages, each run
// keyed as one file (as readahead of a large file would ask for them). The
// corpus's own files are mostly a few pages long, which would make every
// "batch" tiny; the page contents are the corpus's either way.
std::vector<Run> Runs(const cleancache::PageCorpus& /*corpus*/, size_t batch, size_t begin, size_t end) {
  std::vector<Run> runs;
  for (size_t p = begin; p < end; p += batch) {
    runs.push_back({p, std::min(batch, end - p), FileKey::FromInode(0, p / batch + 1), 0});
  }
  return runs;
}

void PutRuns(Backend& b, BackendPoolId pool, const cleancache::PageCorpus& c, const std::vector<Run>& runs) {
  const size_t ps = c.page_size();
  for (const Run& r : runs) b.PutPages(pool, r.key, r.index, r.count, c.bytes().subspan(r.first * ps, r.count * ps));
}

// Gets every run (batched or page by page); returns hits.
size_t GetRuns(Backend& b, BackendPoolId pool, const cleancache::PageCorpus& c, const std::vector<Run>& runs,
               bool batched, std::vector<double>* latencies_ns = nullptr) {
  const size_t ps = c.page_size();
  std::vector<uint8_t> buf(1024 * ps), hit(1024);
  size_t hits = 0;
  for (const Run& r : runs) {
    if (batched) {
      hits += b.GetPages(pool, r.key, r.index, r.count, {buf.data(), r.count * ps}, {hit.data(), r.count});
      continue;
    }
    for (size_t i = 0; i < r.count; ++i) {
      const auto t0 = Clock::now();
      hits += b.GetPage(pool, r.key, r.index + i, {buf.data(), ps}) ? 1 : 0;
      if (latencies_ns) latencies_ns->push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count());
    }
  }
  return hits;
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

// Pass: put everything, time one get pass. Returns pages/s.
double GetThroughput(Backend& b, const cleancache::PageCorpus& c, const std::vector<Run>& runs, bool batched,
                     size_t pages) {
  auto pool = b.OpenPool(cleancache::PoolConfig{});
  PutRuns(b, *pool, c, runs);
  const auto t0 = Clock::now();
  const size_t hits = GetRuns(b, *pool, c, runs, batched);
  const double s = Seconds(t0, Clock::now());
  b.ClosePool(*pool);
  if (hits != pages) std::fprintf(stderr, "warning: %zu of %zu pages hit\n", hits, pages);
  return static_cast<double>(hits) / s;
}

std::vector<double> PingPong(size_t rounds, size_t reply_bytes) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return {};
  std::thread echo([&] {
    std::vector<uint8_t> req(64), reply(reply_bytes, 0x42);
    for (size_t i = 0; i < rounds; ++i) {
      size_t got = 0;
      while (got < req.size()) {
        const ssize_t n = ::recv(sv[1], req.data() + got, req.size() - got, 0);
        if (n <= 0) return;
        got += static_cast<size_t>(n);
      }
      if (::send(sv[1], reply.data(), reply.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(reply.size())) return;
    }
  });
  std::vector<uint8_t> req(64, 1), reply(reply_bytes);
  std::vector<double> ns;
  ns.reserve(rounds);
  for (size_t i = 0; i < rounds; ++i) {
    const auto t0 = Clock::now();
    if (::send(sv[0], req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) break;
    size_t got = 0;
    while (got < reply.size()) {
      const ssize_t n = ::recv(sv[0], reply.data() + got, reply.size() - got, 0);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    ns.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count());
  }
  echo.join();
  ::close(sv[0]);
  ::close(sv[1]);
  return ns;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t pages = 16384;
  size_t batch = 32;
  int rounds_of_each = 5;
  std::string client_options;  // extra tmem spec keys, e.g. "&spin_us=50"
  std::string spec = "zcache:capacity=1G";
  int request_poll_us = -1;  // -1: the daemon's default
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--pages=", 0) == 0)
      pages = std::stoull(a.substr(8));
    else if (a.rfind("--batch=", 0) == 0)
      batch = std::stoul(a.substr(8));
    else if (a.rfind("--spec=", 0) == 0)
      spec = a.substr(7);
    else if (a.rfind("--client=", 0) == 0)
      client_options = std::string("&").append(a, 9);
    else if (a.rfind("--rounds=", 0) == 0)
      rounds_of_each = std::max(1, std::stoi(a.substr(9)));
    else if (a.rfind("--request-poll-us=", 0) == 0)
      request_poll_us = std::max(0, std::stoi(a.substr(18)));
    else {
      std::fprintf(stderr,
                   "usage: daemon_bench [--pages=N] [--batch=N] [--rounds=N] [--spec=SPEC] "
                   "[--client=KEY=VALUE&...] [--request-poll-us=N]\n");
      return 2;
    }
  }
  cleancache::MachineCorpusOptions corpus_options;
  corpus_options.pages = pages;
  auto corpus = cleancache::BuildMachineCorpus(corpus_options);
  if (!corpus.ok()) {
    std::fprintf(stderr, "corpus: %s\n", corpus.status().ToString().c_str());
    return 1;
  }
  const auto& c = *corpus;
  const auto runs = Runs(c, batch, 0, c.page_count());

  char dir_template[] = "/tmp/cc-daemon-bench-XXXXXX";
  const std::string dir = ::mkdtemp(dir_template);
  cleancache::daemon::ServerOptions options;
  options.config.socket_path = dir + "/tmem.sock";
  options.config.capacity = 1ull << 30;
  options.config.backend = spec;
  options.logger = cleancache::daemon::StderrLogger("daemon");
  if (request_poll_us >= 0) options.request_poll = std::chrono::microseconds(request_poll_us);
  auto server = cleancache::daemon::Server::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "daemon: %s\n", server.status().ToString().c_str());
    return 1;
  }
  const std::string tmem = "tmem:" + options.config.socket_path + "?shm=4M" + client_options;
  auto local = cleancache::CreateBackend(spec);
  auto client = cleancache::CreateBackend(tmem);
  if (!local.ok() || !client.ok()) {
    std::fprintf(stderr, "backend: %s\n", (!local.ok() ? local : client).status().ToString().c_str());
    return 1;
  }
  std::printf("corpus: %zu pages of %u bytes (machine files), batch %zu, store %s, client %s, daemon polls %lld us\n",
              c.page_count(), c.page_size(), batch, spec.c_str(), tmem.c_str(),
              static_cast<long long>(options.request_poll.count()));

  // 1. Throughput (best of the rounds).
  double local_single = 0, local_batched = 0, daemon_single = 0, daemon_batched = 0;
  for (int round = 0; round < rounds_of_each; ++round) {
    local_single = std::max(local_single, GetThroughput(**local, c, runs, false, c.page_count()));
    local_batched = std::max(local_batched, GetThroughput(**local, c, runs, true, c.page_count()));
    daemon_single = std::max(daemon_single, GetThroughput(**client, c, runs, false, c.page_count()));
    daemon_batched = std::max(daemon_batched, GetThroughput(**client, c, runs, true, c.page_count()));
  }
  const double local_best = std::max(local_single, local_batched);
  auto mbs = [&](double pps) { return pps * c.page_size() / 1e6; };
  std::printf("\nget throughput (pages/s, MB/s)\n");
  std::printf("  in-process %-14s single  %10.0f  %8.1f\n", "", local_single, mbs(local_single));
  std::printf("  in-process %-14s batched %10.0f  %8.1f\n", "", local_batched, mbs(local_batched));
  std::printf("  daemon     %-14s single  %10.0f  %8.1f\n", "", daemon_single, mbs(daemon_single));
  std::printf("  daemon     %-14s batched %10.0f  %8.1f\n", "", daemon_batched, mbs(daemon_batched));
  std::printf("  RATIO daemon batched / in-process best = %.2f  (target >= 0.50)\n", daemon_batched / local_best);

  // 2. Round trip (median of the rounds' percentiles).
  const size_t rounds = std::min<size_t>(c.page_count(), 20000);
  std::vector<double> g50s, g99s, p50s, p99s;
  for (int round = 0; round < rounds_of_each; ++round) {
    std::vector<double> get_ns;
    auto pool = (*client)->OpenPool(cleancache::PoolConfig{});
    const auto some = Runs(c, batch, 0, rounds);
    PutRuns(**client, *pool, c, some);
    GetRuns(**client, *pool, c, some, false, &get_ns);
    (*client)->ClosePool(*pool);
    const auto ping_ns = PingPong(rounds, c.page_size());
    g50s.push_back(Percentile(get_ns, 0.5));
    g99s.push_back(Percentile(get_ns, 0.99));
    p50s.push_back(Percentile(ping_ns, 0.5));
    p99s.push_back(Percentile(ping_ns, 0.99));
  }
  const double g50 = Percentile(g50s, 0.5), g99 = Percentile(g99s, 0.5);
  const double p50 = Percentile(p50s, 0.5), p99 = Percentile(p99s, 0.5);
  std::printf("\nsingle-page round trip (us)       p50      p99\n");
  std::printf("  daemon GetPage (4 KiB)      %8.2f %8.2f\n", g50 / 1e3, g99 / 1e3);
  std::printf("  bare socket ping-pong 4 KiB %8.2f %8.2f\n", p50 / 1e3, p99 / 1e3);
  std::printf("  RATIO daemon / ping-pong: p50 %.2f, p99 %.2f  (target <= 2.0)\n", g50 / p50, g99 / p99);

  // 3. Several clients at once: each gets its own quarter, batched.
  constexpr int kClients = 4;
  std::vector<std::unique_ptr<Backend>> clients;
  std::vector<std::vector<Run>> shares;
  std::vector<BackendPoolId> pools;
  for (int i = 0; i < kClients; ++i) {
    auto b = cleancache::CreateBackend(tmem);
    if (!b.ok()) return 1;
    clients.push_back(std::move(*b));
    shares.push_back(Runs(c, batch, c.page_count() * i / kClients, c.page_count() * (i + 1) / kClients));
    pools.push_back(*clients.back()->OpenPool(cleancache::PoolConfig{}));
  }
  double four = 0, one = 0;
  for (int round = 0; round < rounds_of_each; ++round) {
    for (int i = 0; i < kClients; ++i) PutRuns(*clients[i], pools[i], c, shares[i]);
    std::atomic<int> ready{0};
    std::atomic<size_t> hits{0};
    std::vector<std::thread> threads;
    const auto t0 = Clock::now();
    for (int i = 0; i < kClients; ++i) {
      threads.emplace_back([&, i] {
        ++ready;
        while (ready < kClients) std::this_thread::yield();
        hits += GetRuns(*clients[i], pools[i], c, shares[i], true);
      });
    }
    for (auto& t : threads) t.join();
    four = std::max(four, static_cast<double>(hits) / Seconds(t0, Clock::now()));
    one = std::max(one, GetThroughput(**client, c, runs, true, c.page_count()));
  }
  const double daemon_one = std::max(one, daemon_batched);
  std::printf("\nbatched get throughput, clients at once (pages/s)\n");
  std::printf("  1 client   %10.0f\n", daemon_one);
  std::printf("  4 clients  %10.0f\n", four);
  std::printf("  RATIO 4 clients / 1 client = %.2f  (target >= 1.5)\n", four / daemon_one);
  clients.clear();
  client->reset();
  (*server)->Stop();
  std::filesystem::remove_all(dir);
  return 0;
}
