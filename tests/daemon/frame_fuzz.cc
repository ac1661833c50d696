// libFuzzer target for the daemon's frame parsers (see frame_fuzz_check.h).
// Built by tests/daemon/run_frame_fuzz.sh with clang -fsanitize=fuzzer.
#include <cstdlib>

#include "frame_fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!cleancache::daemon::FrameBytesBehave(data, size)) std::abort();
  return 0;
}
