// The client/daemon transport below the protocol: FrameSocket reads that poll
// before they block, ReplyPoll's decision of when a client polls, and the
// parsing behind CpuContention.
// No timing assertions: the tests check what a read returns whichever way the
// bytes arrive (during the poll, after it, or never), and ReplyPoll is a pure
// function of the waits it is told about.
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tmem/cpu_contention.h"
#include "tmem/frame_socket.h"
#include "tmem/protocol.h"
#include "tmem/reply_poll.h"

namespace cleancache::daemon {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

// The host may be busy while tests run; the reader polls regardless.
bool NeverContended() { return false; }

struct SocketPair {
  SocketPair() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    reader = std::make_unique<FrameSocket>(sv[0], &NeverContended);
    writer = std::make_unique<FrameSocket>(sv[1]);
  }
  std::unique_ptr<FrameSocket> reader, writer;
};

std::vector<uint8_t> PingFrame(uint64_t id) {
  std::vector<uint8_t> frame;
  EncodeEmpty(&frame, Opcode::kPing, id);
  return frame;
}

TEST(DaemonTransport, PollingReadGetsAFrameThatIsAlreadyThere) {
  SocketPair s;
  std::string error;
  ASSERT_TRUE(s.writer->WriteAll(PingFrame(7), -1, &error));
  FrameHeader header;
  std::span<const uint8_t> body;
  ASSERT_EQ(s.reader->ReadFrame(kMaxRequestBody, &header, &body, &error, microseconds(200)),
            FrameSocket::ReadResult::kFrame);
  EXPECT_EQ(header.request_id, 7u);
}

TEST(DaemonTransport, PollingReadFallsBackToBlockingForALateFrame) {
  SocketPair s;
  // Sent well after a 1 us poll has given up, so the read must block for it;
  // if the scheduler delays the reader instead, the read still gets it.
  std::thread late([&] {
    std::this_thread::sleep_for(milliseconds(20));
    std::string error;
    EXPECT_TRUE(s.writer->WriteAll(PingFrame(8), -1, &error));
  });
  FrameHeader header;
  std::span<const uint8_t> body;
  std::string error;
  EXPECT_EQ(s.reader->ReadFrame(kMaxRequestBody, &header, &body, &error, microseconds(1)),
            FrameSocket::ReadResult::kFrame);
  EXPECT_EQ(header.request_id, 8u);
  late.join();
}

TEST(DaemonTransport, PollingReadAssemblesAFrameSentInPieces) {
  SocketPair s;
  std::vector<uint8_t> frame;
  EncodePages(&frame, Opcode::kGetPages, 9, 1, 0, 32, 4096, 1, std::vector<uint8_t>(16, 3));
  std::thread pieces([&] {
    std::string error;
    for (size_t at = 0; at < frame.size(); at += 5) {
      EXPECT_TRUE(s.writer->WriteAll({frame.data() + at, std::min<size_t>(5, frame.size() - at)}, -1, &error));
      std::this_thread::sleep_for(microseconds(50));
    }
  });
  FrameHeader header;
  std::span<const uint8_t> body;
  std::string error;
  ASSERT_EQ(s.reader->ReadFrame(kMaxRequestBody, &header, &body, &error, microseconds(100)),
            FrameSocket::ReadResult::kFrame);
  pieces.join();
  Request request;
  ASSERT_FALSE(ParseRequest(header, body, &request));
  EXPECT_EQ(request.count, 32u);
  EXPECT_EQ(request.area_offset, 4096u);
}

TEST(DaemonTransport, PollingReadSeesTheClose) {
  SocketPair s;
  std::string error;
  ASSERT_TRUE(s.writer->WriteAll(PingFrame(1), -1, &error));
  s.writer.reset();
  FrameHeader header;
  std::span<const uint8_t> body;
  ASSERT_EQ(s.reader->ReadFrame(kMaxRequestBody, &header, &body, &error, microseconds(1000)),
            FrameSocket::ReadResult::kFrame);
  EXPECT_EQ(s.reader->ReadFrame(kMaxRequestBody, &header, &body, &error, microseconds(1000)),
            FrameSocket::ReadResult::kClosed);
}

TEST(DaemonTransport, PollingReadReportsEofMidFrame) {
  SocketPair s;
  const auto frame = PingFrame(1);
  std::string error;
  ASSERT_TRUE(s.writer->WriteAll({frame.data(), 10}, -1, &error));
  s.writer.reset();
  FrameHeader header;
  std::span<const uint8_t> body;
  EXPECT_EQ(s.reader->ReadFrame(kMaxRequestBody, &header, &body, &error, microseconds(1000)),
            FrameSocket::ReadResult::kError);
  EXPECT_NE(error.find("mid-frame"), std::string::npos) << error;
}

TEST(DaemonCpuContention, ReadsTheRunnableCountOfLoadavg) {
  EXPECT_EQ(CpuContention::ParseRunnable("0.52 0.41 0.30 2/130 4242\n"), 2u);
  EXPECT_EQ(CpuContention::ParseRunnable("12.00 9.10 7.75 17/1024 99"), 17u);
  EXPECT_FALSE(CpuContention::ParseRunnable(""));
  EXPECT_FALSE(CpuContention::ParseRunnable("0.52 0.41 0.30"));
  EXPECT_FALSE(CpuContention::ParseRunnable("0.52 0.41 0.30 x/130 1"));
  EXPECT_FALSE(CpuContention::ParseRunnable("0.52 0.41 0.30 130 1"));
  CpuContention::Now();  // samples this host without failing, whatever the answer
}

// ReplyPoll is told the waits; it never reads a clock.
constexpr microseconds kBudget(100);

TEST(DaemonReplyPoll, ZeroBudgetNeverPolls) {
  ReplyPoll poll(microseconds::zero());
  EXPECT_EQ(poll.For(Opcode::kGetPages, 1), microseconds::zero());
  EXPECT_EQ(poll.For(Opcode::kGetPages, 32), microseconds::zero());
}

TEST(DaemonReplyPoll, PollsUntilItHasLearntOtherwise) {
  ReplyPoll poll(kBudget);
  EXPECT_EQ(poll.For(Opcode::kGetPages, 1024), kBudget);
  EXPECT_EQ(poll.For(Opcode::kOpenPool, 0), kBudget);
}

TEST(DaemonReplyPoll, PredictsFromAFixedPartAndAPartPerPage) {
  ReplyPoll poll(kBudget);
  poll.Observe(Opcode::kGetPages, 1, microseconds(10));
  poll.Observe(Opcode::kGetPages, 32, microseconds(10 + 32 * 2));    // 2 us per page beyond the fixed 10
  EXPECT_EQ(poll.For(Opcode::kGetPages, 32), kBudget);               // 74 us expected
  EXPECT_EQ(poll.For(Opcode::kGetPages, 45), kBudget);               // 100 us: still within
  EXPECT_EQ(poll.For(Opcode::kGetPages, 46), microseconds::zero());  // 102 us: sleep at once
  EXPECT_EQ(poll.For(Opcode::kGetPages, 1024), microseconds::zero());
  EXPECT_EQ(poll.For(Opcode::kPing, 0), kBudget);
}

TEST(DaemonReplyPoll, GetsAndPutsAreLearntApart) {
  ReplyPoll poll(kBudget);
  poll.Observe(Opcode::kPutPages, 32, microseconds(32 * 8));  // compressing: 8 us per page
  poll.Observe(Opcode::kGetPages, 32, microseconds(32 * 1));  // decompressing: 1 us per page
  EXPECT_EQ(poll.For(Opcode::kPutPages, 32), microseconds::zero());
  EXPECT_EQ(poll.For(Opcode::kGetPages, 32), kBudget);
}

TEST(DaemonReplyPoll, AnOverrunDoesNotStopPolling) {
  ReplyPoll poll(kBudget);
  for (int i = 0; i < 4; ++i) poll.Observe(Opcode::kGetPages, 32, microseconds(50));
  poll.Observe(Opcode::kGetPages, 32, milliseconds(5));  // e.g. the daemon was preempted
  EXPECT_EQ(poll.For(Opcode::kGetPages, 32), kBudget);
}

TEST(DaemonReplyPoll, ForgetsWaitsOlderThanItsWindow) {
  ReplyPoll poll(kBudget);
  poll.Observe(Opcode::kGetPages, 32, microseconds(32));
  EXPECT_EQ(poll.For(Opcode::kGetPages, 32), kBudget);
  // The daemon became slow for good (e.g. a slower codec): after a window of
  // slow replies the fast one is forgotten and 32-page gets sleep at once.
  for (size_t i = 0; i < ReplyPoll::kWindow; ++i) poll.Observe(Opcode::kGetPages, 32, microseconds(32 * 10));
  EXPECT_EQ(poll.For(Opcode::kGetPages, 32), microseconds::zero());
}

}  // namespace
}  // namespace cleancache::daemon
