// The backend contract suite run against the backends this component can see:
// the MapBackend test double (always) and zcache (when it is built).
#include "cleancache/backend_spec.h"
#include "support/contract_suite.h"
#include "support/map_backend.h"

namespace cleancache::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(TestDouble, BackendContractTest,
                         ::testing::Values(BackendFactory{"map_backend",
                                                          []() -> Result<std::unique_ptr<Backend>> {
                                                            return std::unique_ptr<Backend>(new MapBackend());
                                                          }}),
                         BackendFactoryName);

#ifdef CLEANCACHE_HAVE_ZCACHE
INSTANTIATE_TEST_SUITE_P(Zcache, BackendContractTest,
                         ::testing::Values(BackendFactory{"zcache",
                                                          [] { return CreateBackend("zcache:capacity=64M"); }}),
                         BackendFactoryName);
#endif

}  // namespace
}  // namespace cleancache::testing
