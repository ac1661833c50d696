// The cleancached wire protocol: how a `tmem:` client talks to the daemon.
//
// Transport: a Unix stream socket. Every message, both ways, is a frame:
//
//   offset size field
//        0    4 magic        0x4D544343 ("CCTM" read as little-endian bytes)
//        4    1 version      1
//        5    1 opcode       Opcode below; a response echoes its request's
//        6    2 flags        0 in version 1 (reserved; non-zero is refused)
//        8    4 body_length  bytes that follow the header
//       12    4 status       WireStatus; 0 in requests
//       16    8 request_id   chosen by the client, echoed in the response
//       24    . body         body_length bytes, layout per opcode
//
// All integers are little-endian. Request bodies are at most kMaxRequestBody
// bytes and must have exactly the length their opcode implies; responses are
// at most kMaxResponseBody bytes. Any violation (bad magic, version, opcode,
// flags, length, field) is a protocol error: the daemon logs the reason and
// closes that connection only.
//
// Page data never travels through the socket: at Hello the client passes (with
// SCM_RIGHTS) a sealed memfd of `shared_bytes` bytes that both sides map. A
// GetPages/PutPages request names a byte offset in that area; the daemon reads
// (put) or writes (get) count x page_size bytes there. One request is in flight
// per connection, so the client owns the area between requests.
//
// Request bodies (key = u32 type, u32 size, size bytes, size <= 128):
//   Hello           u32 client_version, u32 reserved(0), u64 shared_bytes
//   OpenPool        u32 page_size, u32 pool_flags, u8 uuid[16]
//                   pool_flags: bit 0 shared; bit 1 keep pages on get, bit 2
//                   exclusive gets, each only where it differs from the
//                   default (keep iff shared), never both
//   ClosePool       u64 pool
//   FlushPool       u64 pool                 drop every page of the pool
//   GetPages        u64 pool, u64 first, u32 count, u32 area_offset, key
//   PutPages        u64 pool, u64 first, u32 count, u32 area_offset, key
//   InvalidatePage  u64 pool, u64 index, key
//   InvalidateInode u64 pool, key
//   Stats           (empty)                   response: JSON text (docs/STATS.md),
//                                             with "you": the asker's tenant
//   Ping            (empty)
// Response bodies (status 0):
//   Hello    u64 daemon_epoch, u64 session_id, u64 shared_bytes, u32 max_batch, u32 reserved
//   OpenPool u64 pool
//   GetPages u32 hits, u32 count, u8 hit[count]   (pages written to the area)
//   others   empty
// A non-zero status carries an optional UTF-8 message as its body.
//
// The parsers here are pure functions of their input bytes (no I/O, no
// allocation beyond the returned value), so a fuzzer drives them directly.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cleancache/page_size.h"

namespace cleancache::daemon {

inline constexpr uint32_t kMagic = 0x4D544343u;
inline constexpr uint8_t kProtocolVersion = 1;
inline constexpr size_t kHeaderBytes = 24;
inline constexpr uint32_t kMaxRequestBody = 512;
inline constexpr uint32_t kMaxResponseBody = 4u << 20;
inline constexpr uint32_t kMaxBatchPages = 1024;
inline constexpr uint32_t kMaxKeyBytes = 128;
inline constexpr uint32_t kPoolFlagShared = 1;
inline constexpr uint32_t kPoolFlagKeepOnGet = 2;
inline constexpr uint32_t kPoolFlagExclusiveGet = 4;

// The pool_flags of an OpenPool for these properties, and back.
constexpr uint32_t EncodePoolFlags(bool shared, bool keep_on_get) {
  return (shared ? kPoolFlagShared : 0) | (keep_on_get == shared ? 0
                                           : keep_on_get         ? kPoolFlagKeepOnGet
                                                                 : kPoolFlagExclusiveGet);
}
constexpr bool PoolFlagsKeepOnGet(uint32_t pool_flags) {
  if ((pool_flags & kPoolFlagKeepOnGet) != 0) return true;
  if ((pool_flags & kPoolFlagExclusiveGet) != 0) return false;
  return (pool_flags & kPoolFlagShared) != 0;
}

enum class Opcode : uint8_t {
  kHello = 1,
  kOpenPool = 2,
  kClosePool = 3,
  kFlushPool = 4,
  kGetPages = 5,
  kPutPages = 6,
  kInvalidatePage = 7,
  kInvalidateInode = 8,
  kStats = 9,
  kPing = 10,
};
const char* OpcodeName(Opcode op);

enum class WireStatus : int32_t {
  kOk = 0,
  kBadRequest = 1,
  kNotFound = 2,
  kPermissionDenied = 3,
  kBusy = 4,
  kUnavailable = 5,
  kInvalidArgument = 6,
  kNoSharedArea = 7,
};

struct FrameHeader {
  uint32_t magic = kMagic;
  uint8_t version = kProtocolVersion;
  Opcode opcode = Opcode::kPing;
  uint16_t flags = 0;
  uint32_t body_length = 0;
  int32_t status = 0;
  uint64_t request_id = 0;
};

struct WireKey {
  uint32_t type = 0;
  uint32_t size = 0;
  std::array<uint8_t, kMaxKeyBytes> bytes{};
  std::span<const uint8_t> view() const { return {bytes.data(), size}; }
};

// A validated request. Only the fields of `header.opcode` are meaningful.
struct Request {
  FrameHeader header;
  uint32_t client_version = 0;
  uint64_t shared_bytes = 0;
  uint32_t page_size = 0;
  uint32_t pool_flags = 0;
  std::array<uint8_t, 16> uuid{};
  uint64_t pool = 0;
  uint64_t index = 0;  // first page for Get/PutPages
  uint32_t count = 0;
  uint32_t area_offset = 0;
  WireKey key;
};

// Why a parse failed; `reason` is a static string fit for a log line.
struct ParseError {
  const char* reason = nullptr;
  explicit operator bool() const { return reason != nullptr; }
};

// Header checks that need no body: magic, version, known opcode, flags == 0,
// and body_length <= max_body.
ParseError ParseHeader(std::span<const uint8_t> bytes, uint32_t max_body, FrameHeader* out);
// Full request validation: header (as a request: status 0) plus the body.
ParseError ParseRequest(const FrameHeader& header, std::span<const uint8_t> body, Request* out);
// Parses header + body from one contiguous buffer holding exactly one frame.
ParseError ParseRequestFrame(std::span<const uint8_t> frame, Request* out);

struct HelloReply {
  uint64_t daemon_epoch = 0;
  uint64_t session_id = 0;
  uint64_t shared_bytes = 0;
  uint32_t max_batch = 0;
};
ParseError ParseHelloReply(std::span<const uint8_t> body, HelloReply* out);
ParseError ParseOpenPoolReply(std::span<const uint8_t> body, uint64_t* pool);
// `hit` must have room for `expected_count` flags.
ParseError ParseGetPagesReply(std::span<const uint8_t> body, uint32_t expected_count, std::span<uint8_t> hit,
                              uint32_t* hits);

// Appends little-endian integers and frames to a byte buffer.
class FrameWriter {
 public:
  // Starts a frame; the body length is patched in by Finish().
  explicit FrameWriter(std::vector<uint8_t>* out, Opcode op, uint64_t request_id, WireStatus status = WireStatus::kOk);
  FrameWriter& U8(uint8_t v);
  FrameWriter& U32(uint32_t v);
  FrameWriter& U64(uint64_t v);
  FrameWriter& Bytes(std::span<const uint8_t> bytes);
  FrameWriter& Key(uint32_t type, std::span<const uint8_t> bytes);
  void Finish();

 private:
  std::vector<uint8_t>* out_;
  size_t start_;
};

// Frames for each request, as the client sends them (also used by tests and
// the fuzz corpus generator).
void EncodeHello(std::vector<uint8_t>* out, uint64_t id, uint64_t shared_bytes);
void EncodeOpenPool(std::vector<uint8_t>* out, uint64_t id, uint32_t page_size, uint32_t pool_flags,
                    const std::array<uint8_t, 16>& uuid);
void EncodePoolOnly(std::vector<uint8_t>* out, Opcode op, uint64_t id, uint64_t pool);
void EncodePages(std::vector<uint8_t>* out, Opcode op, uint64_t id, uint64_t pool, uint64_t first, uint32_t count,
                 uint32_t area_offset, uint32_t key_type, std::span<const uint8_t> key);
void EncodeInvalidatePage(std::vector<uint8_t>* out, uint64_t id, uint64_t pool, uint64_t index, uint32_t key_type,
                          std::span<const uint8_t> key);
void EncodeInvalidateInode(std::vector<uint8_t>* out, uint64_t id, uint64_t pool, uint32_t key_type,
                           std::span<const uint8_t> key);
void EncodeEmpty(std::vector<uint8_t>* out, Opcode op, uint64_t id);
// Encodes a parsed request back to its frame (the encoding is canonical:
// ParseRequestFrame(EncodeRequest(r)) gives r back, and for any frame the
// parser accepts, EncodeRequest reproduces it byte for byte).
void EncodeRequest(const Request& request, std::vector<uint8_t>* out);

}  // namespace cleancache::daemon
