// The backend contract suite (docs/CONTRACT.md), run through a Cleancache
// instance with the backend under test registered. Reusable: to run it
// against your backend, link `cleancache_contract_suite` and add one line,
//
//   INSTANTIATE_TEST_SUITE_P(MyBackend, BackendContractTest,
//       ::testing::Values(cleancache::testing::BackendFactory{
//           "my_backend", [] { return cleancache::CreateBackend("myscheme:..."); }}),
//       cleancache::testing::BackendFactoryName);
//
// The factory is called once per test and must give a fresh, empty backend
// with room for a few thousand 4 KiB pages. Set `lossy` for a backend that may
// drop pages even under light load (e.g. a server that evicts at will): the
// suite then only checks that every hit is correct, not that puts stick.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include <gtest/gtest.h>

#include "cleancache/backend.h"
#include "cleancache/cleancache.hpp"

namespace cleancache::testing {

struct BackendFactory {
  std::string name;  // test-name suffix: letters, digits and '_' only
  std::function<Result<std::unique_ptr<Backend>>()> make;
  bool lossy = false;
};

inline std::ostream& operator<<(std::ostream& out, const BackendFactory& factory) { return out << factory.name; }
inline std::string BackendFactoryName(const ::testing::TestParamInfo<BackendFactory>& info) { return info.param.name; }

class BackendContractTest : public ::testing::TestWithParam<BackendFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // A page of `page_size` bytes tagged (key_id, index, version).
  static std::vector<uint8_t> Page(uint32_t key_id, uint64_t index, uint64_t version, uint32_t page_size = 4096);
  // The page must be a hit equal to `expected` (for a lossy backend: a miss
  // is also accepted; a hit with other data never is).
  void ExpectHit(PoolId pool, const FileKey& key, uint64_t index, const std::vector<uint8_t>& expected);
  void ExpectMiss(PoolId pool, const FileKey& key, uint64_t index, uint32_t page_size = 4096);
  bool lossy() const { return GetParam().lossy; }

  std::unique_ptr<Cleancache> cache_;
};

}  // namespace cleancache::testing
