// The mount's scan resistance (src/fuse/stream_admission.h): which reads
// are streaming, and the doorkeeper's second touch within its window.
#include "fuse/stream_admission.h"

#include <gtest/gtest.h>

#include <random>

namespace cleancache::fuse {
namespace {

constexpr uint64_t KiB = 1024, MiB = 1024 * KiB;

TEST(StreamAdmission, ASequentialReadStreamsAfterEightMiB) {
  StreamState s;
  uint64_t off = 0;
  for (; off < StreamAdmission::kStreamBytes - 128 * KiB; off += 128 * KiB) {
    EXPECT_FALSE(StreamAdmission::NoteRead(s, off, 128 * KiB)) << off;
  }
  EXPECT_TRUE(StreamAdmission::NoteRead(s, off, 128 * KiB));
  // Readahead requests served out of order still continue the stream.
  EXPECT_TRUE(StreamAdmission::NoteRead(s, off + 256 * KiB, 128 * KiB));
  EXPECT_TRUE(StreamAdmission::NoteRead(s, off + 128 * KiB, 128 * KiB));
  // A jump ends it.
  EXPECT_FALSE(StreamAdmission::NoteRead(s, off + 64 * MiB, 128 * KiB));
}

TEST(StreamAdmission, RandomReadsNeverStream) {
  StreamState s;
  std::mt19937_64 rng(1);
  int streaming = 0;
  for (int i = 0; i < 100000; ++i) streaming += StreamAdmission::NoteRead(s, (rng() % (1u << 18)) * 4 * KiB, 4 * KiB);
  EXPECT_EQ(streaming, 0);
}

TEST(StreamAdmission, APageIsAdmittedOnItsSecondTouch) {
  StreamAdmission a(1u << 16);
  FileKey key = FileKey::FromInode(1, 42);
  EXPECT_FALSE(a.SecondTouch(key, 7));
  EXPECT_TRUE(a.SecondTouch(key, 7));
  EXPECT_FALSE(a.SecondTouch(key, 8));
  EXPECT_FALSE(a.SecondTouch(FileKey::FromInode(1, 43), 7));
}

TEST(StreamAdmission, AScanLongerThanTheWindowIsNeverAdmittedAndAShorterOneIsOnItsSecondPass) {
  const uint64_t window = 1u << 16;
  StreamAdmission a(window);
  FileKey key = FileKey::FromInode(1, 1);
  auto pass = [&](uint64_t pages) {
    uint64_t admitted = 0;
    for (uint64_t i = 0; i < pages; ++i) admitted += a.SecondTouch(key, i);
    return admitted;
  };
  // 3x the window, twice: the doorkeeper forgot each page before it came back.
  EXPECT_LT(pass(3 * window), 3 * window / 10);  // false positives only (~3%)
  EXPECT_LT(pass(3 * window), 3 * window / 10);
  // Half the window: admitted on the second pass.
  StreamAdmission b(window);
  uint64_t first = 0, second = 0;
  for (uint64_t i = 0; i < window / 2; ++i) first += b.SecondTouch(key, i);
  for (uint64_t i = 0; i < window / 2; ++i) second += b.SecondTouch(key, i);
  EXPECT_LT(first, window / 2 / 10);
  EXPECT_EQ(second, window / 2);
}

}  // namespace
}  // namespace cleancache::fuse
