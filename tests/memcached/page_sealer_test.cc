#include "memcached/page_sealer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string_view>
#include <vector>

namespace cleancache::memcached {
namespace {

std::vector<uint8_t> TextPage(size_t size) {
  std::vector<uint8_t> page(size);
  const char* text = "the quick brown fox jumps over the lazy dog; ";
  for (size_t i = 0; i < size; ++i) page[i] = static_cast<uint8_t>(text[i % std::strlen(text)]);
  return page;
}

std::vector<uint8_t> RandomPage(size_t size, uint32_t seed) {
  std::mt19937 random(seed);
  std::vector<uint8_t> page(size);
  for (auto& byte : page) byte = static_cast<uint8_t>(random());
  return page;
}

std::vector<uint8_t> BindingFor(uint64_t index) {
  std::vector<uint8_t> binding(40, 7);
  std::memcpy(binding.data() + 32, &index, sizeof index);
  return binding;
}

bool Contains(const std::vector<uint8_t>& haystack, const std::vector<uint8_t>& needle, size_t length) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.begin() + length) != haystack.end();
}

class PageSealerTest : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(PageSealerTest, RoundTripsCompressibleAndRandomPages) {
  auto [encrypt, compress] = GetParam();
  PageSealer sealer(encrypt, compress);
  std::vector<uint8_t> scratch, value, out(4096);
  for (const auto& page : {TextPage(4096), RandomPage(4096, 1), std::vector<uint8_t>(4096, 0)}) {
    sealer.Seal(BindingFor(3), page, scratch, value);
    ASSERT_TRUE(sealer.Open(BindingFor(3), value, out, scratch));
    EXPECT_EQ(out, page);
  }
}

TEST_P(PageSealerTest, CompressesBeforeSealing) {
  auto [encrypt, compress] = GetParam();
  PageSealer sealer(encrypt, compress);
  std::vector<uint8_t> scratch, value;
  sealer.Seal(BindingFor(0), TextPage(4096), scratch, value);
  if (compress) {
    EXPECT_LT(value.size(), 1024u);
  } else {
    EXPECT_GT(value.size(), 4096u);
  }
}

TEST_P(PageSealerTest, RejectsAnotherBinding) {
  auto [encrypt, compress] = GetParam();
  PageSealer sealer(encrypt, compress);
  std::vector<uint8_t> scratch, value, out(4096);
  sealer.Seal(BindingFor(1), RandomPage(4096, 2), scratch, value);
  EXPECT_FALSE(sealer.Open(BindingFor(2), value, out, scratch));
}

TEST_P(PageSealerTest, RejectsEveryFlippedByteAndTruncation) {
  auto [encrypt, compress] = GetParam();
  PageSealer sealer(encrypt, compress);
  std::vector<uint8_t> scratch, value, out(4096);
  sealer.Seal(BindingFor(1), TextPage(4096), scratch, value);
  for (size_t i = 0; i < value.size(); ++i) {
    std::vector<uint8_t> tampered = value;
    tampered[i] ^= 0x20;
    EXPECT_FALSE(sealer.Open(BindingFor(1), tampered, out, scratch)) << "byte " << i;
  }
  for (size_t length : {size_t{0}, size_t{1}, value.size() / 2, value.size() - 1}) {
    std::vector<uint8_t> truncated(value.begin(), value.begin() + static_cast<std::ptrdiff_t>(length));
    EXPECT_FALSE(sealer.Open(BindingFor(1), truncated, out, scratch)) << "length " << length;
  }
}

TEST_P(PageSealerTest, RejectsValuesOfAnotherPoolKeyAndWrongPageSize) {
  auto [encrypt, compress] = GetParam();
  PageSealer sealer(encrypt, compress), other(encrypt, compress);
  std::vector<uint8_t> scratch, value, out(4096), small(2048);
  other.Seal(BindingFor(1), RandomPage(4096, 3), scratch, value);
  EXPECT_FALSE(sealer.Open(BindingFor(1), value, out, scratch));
  sealer.Seal(BindingFor(1), RandomPage(4096, 3), scratch, value);
  EXPECT_FALSE(sealer.Open(BindingFor(1), value, small, scratch));
}

TEST_P(PageSealerTest, PlaintextOnlyWhenAskedFor) {
  auto [encrypt, compress] = GetParam();
  PageSealer sealer(encrypt, compress);
  std::vector<uint8_t> scratch, value;
  std::vector<uint8_t> page = RandomPage(4096, 4);  // incompressible: stored as is unless encrypted
  sealer.Seal(BindingFor(1), page, scratch, value);
  EXPECT_EQ(Contains(value, page, 64), !encrypt);
}

INSTANTIATE_TEST_SUITE_P(Modes, PageSealerTest,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) ? "Encrypted" : "Plaintext") +
                                  (std::get<1>(info.param) ? "Lz4" : "Raw");
                         });

TEST(PageSealerKeys, KeysDependOnBindingAndPoolSecret) {
  PageSealer a(true, true), b(true, true);
  char key1[PageSealer::kKeyChars], key2[PageSealer::kKeyChars], key3[PageSealer::kKeyChars];
  a.KeyFor(BindingFor(1), key1);
  a.KeyFor(BindingFor(2), key2);
  b.KeyFor(BindingFor(1), key3);
  std::string_view k1(key1, sizeof key1), k2(key2, sizeof key2), k3(key3, sizeof key3);
  EXPECT_TRUE(k1.starts_with("cc1:"));
  EXPECT_NE(k1, k2);
  EXPECT_NE(k1, k3);
  char again[PageSealer::kKeyChars];
  a.KeyFor(BindingFor(1), again);
  EXPECT_EQ(k1, std::string_view(again, sizeof again));
}

TEST(PageSealerNonces, SealingTwiceGivesDifferentValues) {
  PageSealer sealer(true, true);
  std::vector<uint8_t> scratch, first, second;
  sealer.Seal(BindingFor(1), TextPage(4096), scratch, first);
  sealer.Seal(BindingFor(1), TextPage(4096), scratch, second);
  EXPECT_NE(first, second);
}

}  // namespace
}  // namespace cleancache::memcached
