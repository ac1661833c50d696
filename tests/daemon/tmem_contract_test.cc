// The backend contract suite, run against the tmem client talking to a
// daemon that each test starts for itself (so shared pools start empty).
#include <memory>

#include "cleancache/backend_spec.h"
#include "daemon_harness.h"
#include "support/contract_suite.h"
#include "support/owning_backend.h"

namespace cleancache::testing {
namespace {

Result<std::unique_ptr<Backend>> MakeTmem() {
  auto daemon = std::make_unique<DaemonHarness>();
  auto client = CreateBackend(daemon->Spec());
  if (!client.ok()) return client.status();
  return std::unique_ptr<Backend>(std::make_unique<OwningBackend>(std::move(daemon), std::move(*client)));
}

INSTANTIATE_TEST_SUITE_P(Tmem, BackendContractTest, ::testing::Values(BackendFactory{"tmem", MakeTmem}),
                         BackendFactoryName);

}  // namespace
}  // namespace cleancache::testing
