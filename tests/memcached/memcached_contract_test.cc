// The shared backend contract suite (tests/support/contract_suite.h) for the
// memcached backend and for tier:zcache+memcached, each test with its own
// memcached on loopback. Timeouts are generous so a loaded CI machine cannot
// turn a slow reply into a miss the suite would count against the backend.
#include "memcached/server_owning_backend.h"
#include "support/contract_suite.h"

namespace cleancache::testing {
namespace {

constexpr const char* kPatientClient = "timeout=2000&connect_timeout=2000";

INSTANTIATE_TEST_SUITE_P(
    RemoteBackends, BackendContractTest,
    ::testing::Values(BackendFactory{"memcached",
                                     [] {
                                       return BackendWithOwnServer([](const MemcachedServer& server) {
                                         return MemcachedSpec({&server}, kPatientClient);
                                       });
                                     }},
                      BackendFactory{"memcached_plaintext",
                                     [] {
                                       return BackendWithOwnServer([](const MemcachedServer& server) {
                                         return MemcachedSpec({&server},
                                                              std::string(kPatientClient) + "&insecure_plaintext=1");
                                       });
                                     }}),
    BackendFactoryName);

#if defined(CLEANCACHE_HAVE_TIER) && defined(CLEANCACHE_HAVE_ZCACHE)
INSTANTIATE_TEST_SUITE_P(TierBackend, BackendContractTest,
                         ::testing::Values(BackendFactory{
                             "tier_zcache_memcached",
                             [] {
                               return BackendWithOwnServer([](const MemcachedServer& server) {
                                 return "tier:zcache:capacity=64M+" + MemcachedSpec({&server}, kPatientClient);
                               });
                             }}),
                         BackendFactoryName);
#endif

}  // namespace
}  // namespace cleancache::testing
