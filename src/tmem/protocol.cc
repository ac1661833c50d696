#include "tmem/protocol.h"

#include <cstring>

namespace cleancache::daemon {
namespace {

// Reads little-endian fields from a span, remembering whether it ran short.
class Cursor {
 public:
  explicit Cursor(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  uint8_t U8() { return static_cast<uint8_t>(Take(1)); }
  uint16_t U16() { return static_cast<uint16_t>(Take(2)); }
  uint32_t U32() { return static_cast<uint32_t>(Take(4)); }
  uint64_t U64() { return Take(8); }
  bool CopyTo(uint8_t* dst, size_t n) {
    if (short_ || bytes_.size() - pos_ < n) {
      short_ = true;
      return false;
    }
    if (n != 0) std::memcpy(dst, bytes_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool short_read() const { return short_; }
  size_t remaining() const { return short_ ? 0 : bytes_.size() - pos_; }

 private:
  uint64_t Take(size_t n) {
    if (short_ || bytes_.size() - pos_ < n) {
      short_ = true;
      return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= uint64_t{bytes_[pos_ + i]} << (8 * i);
    pos_ += n;
    return v;
  }
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
  bool short_ = false;
};

bool KnownOpcode(uint8_t op) {
  return op >= static_cast<uint8_t>(Opcode::kHello) && op <= static_cast<uint8_t>(Opcode::kPing);
}

ParseError Fail(const char* reason) { return ParseError{reason}; }

ParseError ReadKey(Cursor& c, WireKey* key) {
  key->type = c.U32();
  key->size = c.U32();
  if (c.short_read()) return Fail("truncated key header");
  if (key->size > kMaxKeyBytes) return Fail("key longer than 128 bytes");
  if (!c.CopyTo(key->bytes.data(), key->size)) return Fail("truncated key bytes");
  return {};
}

ParseError ReadPages(Cursor& c, Request* r) {
  r->pool = c.U64();
  r->index = c.U64();
  r->count = c.U32();
  r->area_offset = c.U32();
  if (c.short_read()) return Fail("truncated page request");
  if (r->count == 0) return Fail("page count is zero");
  if (r->count > kMaxBatchPages) return Fail("page count above the batch limit");
  if (r->index + (r->count - 1) < r->index) return Fail("page range overflows the index space");
  return ReadKey(c, &r->key);
}

}  // namespace

const char* OpcodeName(Opcode op) {
  switch (op) {
    case Opcode::kHello: return "Hello";
    case Opcode::kOpenPool: return "OpenPool";
    case Opcode::kClosePool: return "ClosePool";
    case Opcode::kFlushPool: return "FlushPool";
    case Opcode::kGetPages: return "GetPages";
    case Opcode::kPutPages: return "PutPages";
    case Opcode::kInvalidatePage: return "InvalidatePage";
    case Opcode::kInvalidateInode: return "InvalidateInode";
    case Opcode::kStats: return "Stats";
    case Opcode::kPing: return "Ping";
  }
  return "unknown";
}

ParseError ParseHeader(std::span<const uint8_t> bytes, uint32_t max_body, FrameHeader* out) {
  if (bytes.size() < kHeaderBytes) return Fail("truncated header");
  Cursor c(bytes.first(kHeaderBytes));
  out->magic = c.U32();
  out->version = c.U8();
  const uint8_t op = c.U8();
  out->flags = c.U16();
  out->body_length = c.U32();
  out->status = static_cast<int32_t>(c.U32());
  out->request_id = c.U64();
  if (out->magic != kMagic) return Fail("bad magic (not a cleancached client?)");
  if (out->version != kProtocolVersion) return Fail("unsupported protocol version");
  if (!KnownOpcode(op)) return Fail("unknown opcode");
  out->opcode = static_cast<Opcode>(op);
  if (out->flags != 0) return Fail("reserved flags set");
  if (out->body_length > max_body) return Fail("frame body above the size limit");
  return {};
}

ParseError ParseRequest(const FrameHeader& header, std::span<const uint8_t> body, Request* out) {
  *out = Request{};
  out->header = header;
  if (header.status != 0) return Fail("request carries a status");
  if (header.body_length != body.size()) return Fail("body length does not match the header");
  if (body.size() > kMaxRequestBody) return Fail("request body above the size limit");
  Cursor c(body);
  switch (header.opcode) {
    case Opcode::kHello:
      out->client_version = c.U32();
      if (c.U32() != 0) return Fail("reserved hello field set");
      out->shared_bytes = c.U64();
      if (c.short_read()) return Fail("truncated hello");
      break;
    case Opcode::kOpenPool:
      out->page_size = c.U32();
      out->pool_flags = c.U32();
      if (!c.CopyTo(out->uuid.data(), out->uuid.size())) return Fail("truncated open-pool request");
      if (!IsValidPageSize(out->page_size)) return Fail("page size is not a power of two in 512..65536");
      if ((out->pool_flags & ~(kPoolFlagShared | kPoolFlagKeepOnGet | kPoolFlagExclusiveGet)) != 0) {
        return Fail("unknown pool flags");
      }
      if ((out->pool_flags & kPoolFlagKeepOnGet) != 0 && (out->pool_flags & kPoolFlagExclusiveGet) != 0) {
        return Fail("contradictory pool flags");
      }
      break;
    case Opcode::kClosePool:
    case Opcode::kFlushPool:
      out->pool = c.U64();
      if (c.short_read()) return Fail("truncated pool request");
      break;
    case Opcode::kGetPages:
    case Opcode::kPutPages:
      if (ParseError e = ReadPages(c, out)) return e;
      break;
    case Opcode::kInvalidatePage:
      out->pool = c.U64();
      out->index = c.U64();
      if (c.short_read()) return Fail("truncated invalidate-page request");
      if (ParseError e = ReadKey(c, &out->key)) return e;
      break;
    case Opcode::kInvalidateInode:
      out->pool = c.U64();
      if (c.short_read()) return Fail("truncated invalidate-inode request");
      if (ParseError e = ReadKey(c, &out->key)) return e;
      break;
    case Opcode::kStats:
    case Opcode::kPing: break;
  }
  if (c.remaining() != 0) return Fail("trailing bytes after the request body");
  return {};
}

ParseError ParseRequestFrame(std::span<const uint8_t> frame, Request* out) {
  FrameHeader header;
  if (ParseError e = ParseHeader(frame, kMaxRequestBody, &header)) return e;
  return ParseRequest(header, frame.subspan(kHeaderBytes), out);
}

ParseError ParseHelloReply(std::span<const uint8_t> body, HelloReply* out) {
  Cursor c(body);
  out->daemon_epoch = c.U64();
  out->session_id = c.U64();
  out->shared_bytes = c.U64();
  out->max_batch = c.U32();
  c.U32();
  if (c.short_read() || c.remaining() != 0) return Fail("hello reply has the wrong size");
  if (out->max_batch == 0 || out->max_batch > kMaxBatchPages) return Fail("hello reply batch limit out of range");
  return {};
}

ParseError ParseOpenPoolReply(std::span<const uint8_t> body, uint64_t* pool) {
  Cursor c(body);
  *pool = c.U64();
  if (c.short_read() || c.remaining() != 0) return Fail("open-pool reply has the wrong size");
  return {};
}

ParseError ParseGetPagesReply(std::span<const uint8_t> body, uint32_t expected_count, std::span<uint8_t> hit,
                              uint32_t* hits) {
  Cursor c(body);
  *hits = c.U32();
  const uint32_t count = c.U32();
  if (c.short_read()) return Fail("truncated get reply");
  if (count != expected_count || hit.size() < count) return Fail("get reply count does not match the request");
  if (!c.CopyTo(hit.data(), count) || c.remaining() != 0) return Fail("get reply has the wrong size");
  uint32_t counted = 0;
  for (uint32_t i = 0; i < count; ++i) {
    if (hit[i] > 1) return Fail("get reply hit flag is not 0 or 1");
    counted += hit[i];
  }
  if (counted != *hits) return Fail("get reply hit count does not match its flags");
  return {};
}

FrameWriter::FrameWriter(std::vector<uint8_t>* out, Opcode op, uint64_t request_id, WireStatus status)
    : out_(out), start_(out->size()) {
  U32(kMagic).U8(kProtocolVersion).U8(static_cast<uint8_t>(op));
  out_->push_back(0);
  out_->push_back(0);
  U32(0).U32(static_cast<uint32_t>(status)).U64(request_id);
}

FrameWriter& FrameWriter::U8(uint8_t v) {
  out_->push_back(v);
  return *this;
}

FrameWriter& FrameWriter::U32(uint32_t v) {
  for (int i = 0; i < 4; ++i) out_->push_back(static_cast<uint8_t>(v >> (8 * i)));
  return *this;
}

FrameWriter& FrameWriter::U64(uint64_t v) {
  for (int i = 0; i < 8; ++i) out_->push_back(static_cast<uint8_t>(v >> (8 * i)));
  return *this;
}

FrameWriter& FrameWriter::Bytes(std::span<const uint8_t> bytes) {
  out_->insert(out_->end(), bytes.begin(), bytes.end());
  return *this;
}

FrameWriter& FrameWriter::Key(uint32_t type, std::span<const uint8_t> bytes) {
  return U32(type).U32(static_cast<uint32_t>(bytes.size())).Bytes(bytes);
}

void FrameWriter::Finish() {
  const uint32_t body = static_cast<uint32_t>(out_->size() - start_ - kHeaderBytes);
  for (int i = 0; i < 4; ++i) (*out_)[start_ + 8 + i] = static_cast<uint8_t>(body >> (8 * i));
}

void EncodeHello(std::vector<uint8_t>* out, uint64_t id, uint64_t shared_bytes) {
  FrameWriter w(out, Opcode::kHello, id);
  w.U32(kProtocolVersion).U32(0).U64(shared_bytes).Finish();
}

void EncodeOpenPool(std::vector<uint8_t>* out, uint64_t id, uint32_t page_size, uint32_t pool_flags,
                    const std::array<uint8_t, 16>& uuid) {
  FrameWriter w(out, Opcode::kOpenPool, id);
  w.U32(page_size).U32(pool_flags).Bytes(uuid).Finish();
}

void EncodePoolOnly(std::vector<uint8_t>* out, Opcode op, uint64_t id, uint64_t pool) {
  FrameWriter w(out, op, id);
  w.U64(pool).Finish();
}

void EncodePages(std::vector<uint8_t>* out, Opcode op, uint64_t id, uint64_t pool, uint64_t first, uint32_t count,
                 uint32_t area_offset, uint32_t key_type, std::span<const uint8_t> key) {
  FrameWriter w(out, op, id);
  w.U64(pool).U64(first).U32(count).U32(area_offset).Key(key_type, key).Finish();
}

void EncodeInvalidatePage(std::vector<uint8_t>* out, uint64_t id, uint64_t pool, uint64_t index, uint32_t key_type,
                          std::span<const uint8_t> key) {
  FrameWriter w(out, Opcode::kInvalidatePage, id);
  w.U64(pool).U64(index).Key(key_type, key).Finish();
}

void EncodeInvalidateInode(std::vector<uint8_t>* out, uint64_t id, uint64_t pool, uint32_t key_type,
                           std::span<const uint8_t> key) {
  FrameWriter w(out, Opcode::kInvalidateInode, id);
  w.U64(pool).Key(key_type, key).Finish();
}

void EncodeEmpty(std::vector<uint8_t>* out, Opcode op, uint64_t id) { FrameWriter(out, op, id).Finish(); }

void EncodeRequest(const Request& r, std::vector<uint8_t>* out) {
  const uint64_t id = r.header.request_id;
  switch (r.header.opcode) {
    case Opcode::kHello: {
      FrameWriter w(out, Opcode::kHello, id);
      w.U32(r.client_version).U32(0).U64(r.shared_bytes).Finish();
      return;
    }
    case Opcode::kOpenPool: {
      FrameWriter w(out, Opcode::kOpenPool, id);
      w.U32(r.page_size).U32(r.pool_flags).Bytes(r.uuid).Finish();
      return;
    }
    case Opcode::kClosePool:
    case Opcode::kFlushPool: EncodePoolOnly(out, r.header.opcode, id, r.pool); return;
    case Opcode::kGetPages:
    case Opcode::kPutPages:
      EncodePages(out, r.header.opcode, id, r.pool, r.index, r.count, r.area_offset, r.key.type, r.key.view());
      return;
    case Opcode::kInvalidatePage: EncodeInvalidatePage(out, id, r.pool, r.index, r.key.type, r.key.view()); return;
    case Opcode::kInvalidateInode: EncodeInvalidateInode(out, id, r.pool, r.key.type, r.key.view()); return;
    case Opcode::kStats:
    case Opcode::kPing: EncodeEmpty(out, r.header.opcode, id); return;
  }
}

}  // namespace cleancache::daemon
