// The backend contract suite, run against the tmem client talking to a
// daemon that each test starts for itself (so shared pools start empty).
#include <chrono>
#include <memory>
#include <string>

#include "cleancache/backend_spec.h"
#include "daemon_harness.h"
#include "support/contract_suite.h"
#include "support/owning_backend.h"

namespace cleancache::testing {
namespace {

Result<std::unique_ptr<Backend>> MakeTmemWith(std::chrono::microseconds request_poll, const std::string& client) {
  auto daemon =
      std::make_unique<DaemonHarness>(DaemonHarness::DefaultConfig(), daemon::StoreFactory{}, true, request_poll);
  auto backend = CreateBackend(daemon->Spec(client));
  if (!backend.ok()) return backend.status();
  return std::unique_ptr<Backend>(std::make_unique<OwningBackend>(std::move(daemon), std::move(*backend)));
}

// Defaults: both sides poll before they sleep.
Result<std::unique_ptr<Backend>> MakeTmem() { return MakeTmemWith(daemon::ServerOptions{}.request_poll, ""); }

// Neither side polls (every read blocks), and the smallest shared area, so
// requests wrap around it every few batches.
Result<std::unique_ptr<Backend>> MakeTmemBlockingSmallArea() {
  return MakeTmemWith(std::chrono::microseconds::zero(), "spin_us=0&shm=64K");
}

INSTANTIATE_TEST_SUITE_P(Tmem, BackendContractTest,
                         ::testing::Values(BackendFactory{"tmem", MakeTmem},
                                           BackendFactory{"tmem_blocking_small_area", MakeTmemBlockingSmallArea}),
                         BackendFactoryName);

}  // namespace
}  // namespace cleancache::testing
