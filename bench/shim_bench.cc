// Cost of the Cleancache shim on the data path: the same backend called
// directly (virtual call, as the shim does) and through Cleancache::GetPage /
// PutPage, in ONE run, with one and two threads on one pool. Two backends:
//  - "miss": returns at once (pure shim overhead: lookup + state + counters),
//  - "copy": a hit that copies a fixed 4 KiB page (a cheap real backend),
//  - zcache (when built): a shared pool, so repeated gets of one page hit.
// The printed ratio lines at the end are what docs/PERFORMANCE.md quotes.
#include <benchmark/benchmark.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cleancache/backend_spec.h"
#include "cleancache/cleancache.hpp"

namespace {

using namespace cleancache;

class MissBackend : public Backend {
 public:
  std::string Name() const override { return "miss"; }
  Result<BackendPoolId> OpenPool(const PoolConfig&) override { return BackendPoolId{1}; }
  void ClosePool(BackendPoolId) override {}
  bool GetPage(BackendPoolId, const FileKey&, uint64_t, std::span<uint8_t>) override { return false; }
  void PutPage(BackendPoolId, const FileKey&, uint64_t, std::span<const uint8_t>) override {}
  void InvalidatePage(BackendPoolId, const FileKey&, uint64_t) override {}
  void InvalidateInode(BackendPoolId, const FileKey&) override {}
  BackendStats Stats() const override { return {}; }
};

class CopyBackend : public MissBackend {
 public:
  CopyBackend() : page_(4096, 0x5A) {}
  std::string Name() const override { return "copy"; }
  bool GetPage(BackendPoolId, const FileKey&, uint64_t, std::span<uint8_t> page) override {
    std::memcpy(page.data(), page_.data(), page.size());
    return true;
  }

 private:
  std::vector<uint8_t> page_;
};

struct Setup {
  std::unique_ptr<Cleancache> cache;
  Backend* backend = nullptr;  // owned by cache
  BackendPoolId backend_pool = 0;
  PoolId pool = kNoPool;
};

Setup Make(std::unique_ptr<Backend> backend, bool shared) {
  Setup s;
  s.cache = std::make_unique<Cleancache>();
  s.backend = backend.get();
  PoolConfig config{.page_size = 4096, .shared = shared, .uuid = {}, .keep_on_get = {}};
  s.backend_pool = s.backend->OpenPool(config).value();  // a pool for the direct calls
  (void)s.cache->RegisterBackend(std::move(backend));
  s.pool = shared ? s.cache->InitSharedFs(Uuid{}) : s.cache->InitFs();
  return s;
}

void DirectGet(benchmark::State& state, Setup* s) {
  const FileKey key = FileKey::FromInode(1, 100 + state.thread_index());
  std::vector<uint8_t> page(4096);
  Backend* backend = s->backend;
  benchmark::DoNotOptimize(backend);
  uint64_t index = 0;
  for (auto _ : state) {
    bool hit = backend->GetPage(s->backend_pool, key, index++ & 7, page);
    benchmark::DoNotOptimize(hit);
  }
  state.SetItemsProcessed(state.iterations());
}

void ShimGet(benchmark::State& state, Setup* s) {
  const FileKey key = FileKey::FromInode(1, 100 + state.thread_index());
  std::vector<uint8_t> page(4096);
  uint64_t index = 0;
  for (auto _ : state) {
    bool hit = s->cache->GetPage(s->pool, key, index++ & 7, page);
    benchmark::DoNotOptimize(hit);
  }
  state.SetItemsProcessed(state.iterations());
}

void DirectPut(benchmark::State& state, Setup* s) {
  const FileKey key = FileKey::FromInode(1, 100 + state.thread_index());
  std::vector<uint8_t> page(4096, 1);
  Backend* backend = s->backend;
  benchmark::DoNotOptimize(backend);
  uint64_t index = 0;
  for (auto _ : state) backend->PutPage(s->backend_pool, key, index++ & 7, page);
  state.SetItemsProcessed(state.iterations());
}

void ShimPut(benchmark::State& state, Setup* s) {
  const FileKey key = FileKey::FromInode(1, 100 + state.thread_index());
  std::vector<uint8_t> page(4096, 1);
  uint64_t index = 0;
  for (auto _ : state) s->cache->PutPage(s->pool, key, index++ & 7, page);
  state.SetItemsProcessed(state.iterations());
}

// Puts the pages the zcache get benchmarks read (indexes 0..7 of each key).
void Prefill(Setup& s) {
  std::vector<uint8_t> page(4096);
  for (int t = 0; t < 2; ++t) {
    const FileKey key = FileKey::FromInode(1, 100 + t);
    for (uint64_t i = 0; i < 8; ++i) {
      for (size_t b = 0; b < page.size(); ++b) page[b] = static_cast<uint8_t>((b * 31 + i) >> 3);
      s.backend->PutPage(s.backend_pool, key, i, page);
      s.cache->PutPage(s.pool, key, i, page);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  std::map<std::string, Setup> setups;
  setups.emplace("miss", Make(std::make_unique<MissBackend>(), false));
  setups.emplace("copy", Make(std::make_unique<CopyBackend>(), false));
#ifdef CLEANCACHE_HAVE_ZCACHE
  if (auto z = CreateBackend("zcache:capacity=64M"); z.ok()) {
    setups.emplace("zcache_shared", Make(std::move(z).value(), true));
    Prefill(setups.at("zcache_shared"));
  }
#endif
  for (auto& [name, setup] : setups) {
    Setup* s = &setup;
    for (int threads : {1, 2}) {
      benchmark::RegisterBenchmark(("get/" + name + "/direct").c_str(), DirectGet, s)->Threads(threads)->UseRealTime();
      benchmark::RegisterBenchmark(("get/" + name + "/shim").c_str(), ShimGet, s)->Threads(threads)->UseRealTime();
      if (name == "miss") {
        benchmark::RegisterBenchmark(("put/" + name + "/direct").c_str(), DirectPut, s)
            ->Threads(threads)
            ->UseRealTime();
        benchmark::RegisterBenchmark(("put/" + name + "/shim").c_str(), ShimPut, s)->Threads(threads)->UseRealTime();
      }
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
