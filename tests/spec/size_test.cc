#include <gtest/gtest.h>

#include "cleancache/backend_spec.h"

namespace cleancache {
namespace {

uint64_t Size(std::string_view text) {
  auto size = ParseSize(text);
  EXPECT_TRUE(size.ok()) << text << ": " << size.status().ToString();
  return size.ok() ? size.value() : 0;
}

TEST(ParseSize, PlainBytes) {
  EXPECT_EQ(Size("0"), 0u);
  EXPECT_EQ(Size("4096"), 4096u);
  EXPECT_EQ(Size("4096B"), 4096u);
  EXPECT_EQ(Size("18446744073709551615"), ~uint64_t{0});
}

TEST(ParseSize, BinaryUnitsAnyCaseWithOptionalBOrIB) {
  EXPECT_EQ(Size("64K"), 64u << 10);
  EXPECT_EQ(Size("64k"), 64u << 10);
  EXPECT_EQ(Size("64KB"), 64u << 10);
  EXPECT_EQ(Size("64kib"), 64u << 10);
  EXPECT_EQ(Size("512MiB"), 512ull << 20);
  EXPECT_EQ(Size("1G"), 1ull << 30);
  EXPECT_EQ(Size("1gB"), 1ull << 30);
  EXPECT_EQ(Size("2T"), 2ull << 40);
  EXPECT_EQ(Size("16777215T"), 16777215ull << 40);
}

TEST(ParseSize, FractionsAndSpacesAsFormatSizeWritesThem) {
  EXPECT_EQ(Size("1.5K"), 1536u);
  EXPECT_EQ(Size("1.5 KiB"), 1536u);
  EXPECT_EQ(Size("0.25G"), 1ull << 28);
  EXPECT_EQ(Size(" 2 MiB "), 2ull << 20);
  EXPECT_EQ(Size("1.0"), 1u);
}

TEST(ParseSize, RejectsGarbageAndOverflow) {
  struct Case {
    const char* text;
    const char* message_part;
  } cases[] = {
      {"", "empty"},
      {"   ", "empty"},
      {"K", "does not start with a number"},
      {"-1", "does not start with a number"},
      {"+1", "does not start with a number"},
      {".5K", "does not start with a number"},
      {"1.K", "no digits after the decimal point"},
      {"12X", "unknown unit 'x'"},
      {"1KK", "unknown unit 'kk'"},
      {"1iB", "unknown unit 'ib'"},
      {"1 K B", "unknown unit 'k b'"},
      {"1Kb2", "unknown unit 'kb2'"},
      {"0x10", "unknown unit 'x10'"},
      {"1.3B", "not a whole number of bytes"},
      {"0.1K", "not a whole number of bytes"},
      {"18446744073709551616", "too large"},
      {"99999999999999999999999", "too large"},
      {"16777216T", "too large"},
      {"1.0000000000000000001K", "too many decimal places"},
  };
  for (const auto& c : cases) {
    auto size = ParseSize(c.text);
    ASSERT_FALSE(size.ok()) << "'" << c.text << "' parsed as " << size.value();
    EXPECT_EQ(size.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(size.status().message().find(c.message_part), std::string::npos) << size.status().message();
    EXPECT_NE(size.status().message().find(std::string("'") + c.text + "'"), std::string::npos);
  }
}

TEST(FormatSize, PicksTheLargestUnitAndTrimsDecimals) {
  EXPECT_EQ(FormatSize(0), "0 B");
  EXPECT_EQ(FormatSize(1023), "1023 B");
  EXPECT_EQ(FormatSize(1024), "1 KiB");
  EXPECT_EQ(FormatSize(1536), "1.5 KiB");
  EXPECT_EQ(FormatSize(1280), "1.25 KiB");
  EXPECT_EQ(FormatSize(1073741824), "1 GiB");
  EXPECT_EQ(FormatSize(1048575), "1 MiB");  // rounds up into the next unit
  EXPECT_EQ(FormatSize(3ull << 40), "3 TiB");
  EXPECT_EQ(FormatSize(~uint64_t{0}), "16777216 TiB");
}

TEST(FormatSize, RoundTripsThroughParseSizeForExactValues) {
  for (uint64_t bytes : {uint64_t{0}, uint64_t{512}, uint64_t{1536}, uint64_t{5} << 20, uint64_t{3} << 40,
                         (uint64_t{1} << 30) + (uint64_t{1} << 28)}) {
    EXPECT_EQ(Size(FormatSize(bytes)), bytes) << FormatSize(bytes);
  }
}

}  // namespace
}  // namespace cleancache
