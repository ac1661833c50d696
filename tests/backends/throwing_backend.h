// A test backend that throws where its spec says, to check that no exception
// crosses the C API. The spec grammar knows four schemes only, so in its own
// backend set (cleancache_backends_throwing) this backend is the "zcache"
// scheme: "zcache:at=create|open|get|put|stats[,what=std|other]". `std`
// throws std::runtime_error("throwing backend: <at>"), `other` throws an int.
// Everything it does not throw at behaves like an empty cache.
#pragma once

#include "cleancache/spec_parser.h"

namespace cleancache::testing {

BackendScheme ThrowingScheme();

}  // namespace cleancache::testing
