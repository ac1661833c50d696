// The property the frame-parser fuzz target checks on every input, shared by
// the libFuzzer target (frame_fuzz.cc) and the seed-corpus regression test:
//  - no parser crashes, hangs or reads out of bounds (the sanitizers' part);
//  - a request frame the parser accepts re-encodes to exactly the same bytes
//    (so no field is silently ignored or misread);
//  - reply parsers never report hits that their flags do not show.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tmem/protocol.h"

namespace cleancache::daemon {

inline bool FrameBytesBehave(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  Request request;
  if (!ParseRequestFrame(in, &request)) {
    std::vector<uint8_t> again;
    EncodeRequest(request, &again);
    if (again.size() != in.size() || !std::equal(again.begin(), again.end(), in.begin())) return false;
  }
  FrameHeader header;
  (void)ParseHeader(in, kMaxResponseBody, &header);
  HelloReply hello;
  (void)ParseHelloReply(in, &hello);
  uint64_t pool = 0;
  (void)ParseOpenPoolReply(in, &pool);
  std::array<uint8_t, kMaxBatchPages> hit{};
  uint32_t hits = 0;
  const uint32_t expected = size >= 8 ? (uint32_t{data[4]} | uint32_t{data[5]} << 8) % (kMaxBatchPages + 1) : 1;
  if (!ParseGetPagesReply(in, expected, hit, &hits)) {
    uint32_t counted = 0;
    for (uint32_t i = 0; i < expected; ++i) counted += hit[i];
    if (counted != hits) return false;
  }
  return true;
}

}  // namespace cleancache::daemon
