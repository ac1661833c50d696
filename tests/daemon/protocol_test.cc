#include "tmem/protocol.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "frame_fuzz_check.h"

namespace cleancache::daemon {
namespace {

std::vector<uint8_t> KeyBytes(size_t n) {
  std::vector<uint8_t> key(n);
  for (size_t i = 0; i < n; ++i) key[i] = static_cast<uint8_t>(i * 7);
  return key;
}

const char* Parse(const std::vector<uint8_t>& frame, Request* out) { return ParseRequestFrame(frame, out).reason; }

TEST(DaemonProtocol, EveryRequestRoundTrips) {
  std::vector<std::vector<uint8_t>> frames(10);
  const auto key = KeyBytes(24);
  std::array<uint8_t, 16> uuid{};
  uuid[3] = 9;
  EncodeHello(&frames[0], 1, 1 << 20);
  EncodeOpenPool(&frames[1], 2, 4096, true, uuid);
  EncodePoolOnly(&frames[2], Opcode::kClosePool, 3, 77);
  EncodePoolOnly(&frames[3], Opcode::kFlushPool, 4, 77);
  EncodePages(&frames[4], Opcode::kGetPages, 5, 77, 100, 32, 8192, 1, key);
  EncodePages(&frames[5], Opcode::kPutPages, 6, 77, 100, 1, 0, 1, key);
  EncodeInvalidatePage(&frames[6], 7, 77, 5, 2, key);
  EncodeInvalidateInode(&frames[7], 8, 77, 2, key);
  EncodeEmpty(&frames[8], Opcode::kStats, 9);
  EncodeEmpty(&frames[9], Opcode::kPing, 10);
  for (const auto& frame : frames) {
    Request r;
    ASSERT_EQ(Parse(frame, &r), nullptr);
    std::vector<uint8_t> again;
    EncodeRequest(r, &again);
    EXPECT_EQ(again, frame) << OpcodeName(r.header.opcode);
  }
  Request r;
  ASSERT_EQ(Parse(frames[4], &r), nullptr);
  EXPECT_EQ(r.pool, 77u);
  EXPECT_EQ(r.index, 100u);
  EXPECT_EQ(r.count, 32u);
  EXPECT_EQ(r.area_offset, 8192u);
  EXPECT_EQ(r.key.size, 24u);
  EXPECT_TRUE(std::equal(key.begin(), key.end(), r.key.view().begin()));
  ASSERT_EQ(Parse(frames[1], &r), nullptr);
  EXPECT_EQ(r.page_size, 4096u);
  EXPECT_EQ(r.pool_flags, kPoolFlagShared);
  EXPECT_EQ(r.uuid, uuid);
}

TEST(DaemonProtocol, RejectsMalformedFrames) {
  Request r;
  std::vector<uint8_t> ping;
  EncodeEmpty(&ping, Opcode::kPing, 1);

  auto mutated = [&](size_t offset, uint8_t value) {
    auto f = ping;
    f[offset] = value;
    return f;
  };
  EXPECT_STREQ(Parse(mutated(0, 0), &r), "bad magic (not a cleancached client?)");
  EXPECT_STREQ(Parse(mutated(4, 2), &r), "unsupported protocol version");
  EXPECT_STREQ(Parse(mutated(5, 0), &r), "unknown opcode");
  EXPECT_STREQ(Parse(mutated(5, 200), &r), "unknown opcode");
  EXPECT_STREQ(Parse(mutated(6, 1), &r), "reserved flags set");
  EXPECT_STREQ(Parse(mutated(12, 1), &r), "request carries a status");
  EXPECT_STREQ(Parse(mutated(11, 1), &r), "frame body above the size limit");
  EXPECT_STREQ(Parse(mutated(8, 4), &r), "body length does not match the header");
  EXPECT_STREQ(Parse(std::vector<uint8_t>(ping.begin(), ping.begin() + 10), &r), "truncated header");
  auto longer = ping;
  longer.push_back(0);
  EXPECT_NE(Parse(longer, &r), nullptr);

  const auto key = KeyBytes(8);
  std::vector<uint8_t> f;
  EncodePages(&f, Opcode::kGetPages, 1, 7, 0, 0, 0, 1, key);
  EXPECT_STREQ(Parse(f, &r), "page count is zero");
  f.clear();
  EncodePages(&f, Opcode::kGetPages, 1, 7, 0, kMaxBatchPages + 1, 0, 1, key);
  EXPECT_STREQ(Parse(f, &r), "page count above the batch limit");
  f.clear();
  EncodePages(&f, Opcode::kPutPages, 1, 7, UINT64_MAX, 2, 0, 1, key);
  EXPECT_STREQ(Parse(f, &r), "page range overflows the index space");
  f.clear();
  EncodePages(&f, Opcode::kPutPages, 1, 7, UINT64_MAX, 1, 0, 1, key);
  EXPECT_EQ(Parse(f, &r), nullptr);
  f.clear();
  EncodeInvalidatePage(&f, 1, 7, 0, 1, KeyBytes(129));
  EXPECT_STREQ(Parse(f, &r), "key longer than 128 bytes");
  f.clear();
  EncodeInvalidateInode(&f, 1, 7, 1, KeyBytes(128));
  EXPECT_EQ(Parse(f, &r), nullptr);
  f.resize(f.size() - 1);
  f[8] = static_cast<uint8_t>(f.size() - kHeaderBytes);
  EXPECT_STREQ(Parse(f, &r), "truncated key bytes");
  f.clear();
  EncodeOpenPool(&f, 1, 3000, false, {});
  EXPECT_STREQ(Parse(f, &r), "page size is not a power of two in 512..65536");
  f.clear();
  EncodeOpenPool(&f, 1, 256, false, {});
  EXPECT_NE(Parse(f, &r), nullptr);
  f.clear();
  EncodeOpenPool(&f, 1, 4096, false, {});
  f[kHeaderBytes + 4] = 8;
  EXPECT_STREQ(Parse(f, &r), "unknown pool flags");
  f.clear();
  EncodeOpenPool(&f, 1, 4096, kPoolFlagKeepOnGet | kPoolFlagExclusiveGet, {});
  EXPECT_STREQ(Parse(f, &r), "contradictory pool flags");
  f.clear();
  EncodeHello(&f, 1, 4096);
  f[kHeaderBytes + 4] = 1;
  EXPECT_STREQ(Parse(f, &r), "reserved hello field set");
}

TEST(DaemonProtocol, ReplyParsersCheckEveryField) {
  std::array<uint8_t, 4> hit{};
  uint32_t hits = 0;
  const std::vector<uint8_t> good = {2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 1};
  EXPECT_FALSE(ParseGetPagesReply(good, 3, hit, &hits));
  EXPECT_EQ(hits, 2u);
  EXPECT_EQ(hit[0] + hit[1] + hit[2], 2);
  EXPECT_TRUE(ParseGetPagesReply(good, 2, hit, &hits));  // wrong count
  auto lying = good;
  lying[0] = 3;
  EXPECT_TRUE(ParseGetPagesReply(lying, 3, hit, &hits));
  auto bad_flag = good;
  bad_flag[9] = 7;
  EXPECT_TRUE(ParseGetPagesReply(bad_flag, 3, hit, &hits));
  uint64_t pool = 0;
  EXPECT_TRUE(ParseOpenPoolReply(std::vector<uint8_t>(7), &pool));
  EXPECT_FALSE(ParseOpenPoolReply(std::vector<uint8_t>(8, 1), &pool));
  HelloReply hello;
  std::vector<uint8_t> h(32);
  EXPECT_TRUE(ParseHelloReply(h, &hello));  // max_batch 0
  h[24] = 16;
  EXPECT_FALSE(ParseHelloReply(h, &hello));
  EXPECT_EQ(hello.max_batch, 16u);
}

// The fuzz target's seed corpus, run as a regular test.
TEST(DaemonProtocol, FuzzSeedCorpusBehaves) {
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(FRAME_CORPUS_DIR)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_TRUE(FrameBytesBehave(bytes.data(), bytes.size())) << entry.path();
    ++files;
  }
  EXPECT_GE(files, 20u);
  // Spot-check that the corpus holds both accepted and refused frames.
  std::ifstream in(std::filesystem::path(FRAME_CORPUS_DIR) / "get_batch", std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Request r;
  EXPECT_EQ(ParseRequestFrame(bytes, &r).reason, nullptr);
  EXPECT_EQ(r.count, 32u);
}

// keep_on_get travels as an explicit bit only where it differs from the
// default (keep iff shared), so frames of clients that predate it still mean
// what they meant.
TEST(DaemonProtocol, PoolFlagsCarryKeepOnGet) {
  for (bool shared : {false, true}) {
    for (bool keep : {false, true}) {
      const uint32_t flags = EncodePoolFlags(shared, keep);
      EXPECT_EQ((flags & kPoolFlagShared) != 0, shared);
      EXPECT_EQ(PoolFlagsKeepOnGet(flags), keep) << "shared " << shared << " keep " << keep;
      std::vector<uint8_t> f;
      EncodeOpenPool(&f, 1, 4096, flags, {});
      Request r;
      ASSERT_EQ(Parse(f, &r), nullptr);
      EXPECT_EQ(PoolFlagsKeepOnGet(r.pool_flags), keep);
    }
  }
  EXPECT_EQ(EncodePoolFlags(true, true), kPoolFlagShared);
  EXPECT_EQ(EncodePoolFlags(false, false), 0u);
}

}  // namespace
}  // namespace cleancache::daemon
