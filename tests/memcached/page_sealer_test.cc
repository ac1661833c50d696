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

// A copy of the sealed value: Seal's result lives in the scratch memory,
// which the next Seal or Open reuses.
std::vector<uint8_t> Sealed(PageSealer& sealer, const std::vector<uint8_t>& binding, const std::vector<uint8_t>& page,
                            SealerScratch& scratch) {
  std::span<const uint8_t> value = sealer.Seal(binding, page, scratch);
  return {value.begin(), value.end()};
}

bool Contains(const std::vector<uint8_t>& haystack, const std::vector<uint8_t>& needle, size_t length) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.begin() + length) != haystack.end();
}

class PageSealerTest : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(PageSealerTest, RoundTripsCompressibleAndRandomPages) {
  auto [encrypt, compress] = GetParam();
  PageSealer sealer(encrypt, compress);
  SealerScratch scratch;
  std::vector<uint8_t> out(4096);
  for (const auto& page : {TextPage(4096), RandomPage(4096, 1), std::vector<uint8_t>(4096, 0)}) {
    std::vector<uint8_t> value = Sealed(sealer, BindingFor(3), page, scratch);
    ASSERT_TRUE(sealer.Open(BindingFor(3), value, out, scratch));
    EXPECT_EQ(out, page);
  }
}

TEST_P(PageSealerTest, CompressesBeforeSealing) {
  auto [encrypt, compress] = GetParam();
  PageSealer sealer(encrypt, compress);
  SealerScratch scratch;
  std::vector<uint8_t> value;
  value = Sealed(sealer, BindingFor(0), TextPage(4096), scratch);
  if (compress) {
    EXPECT_LT(value.size(), 1024u);
  } else {
    EXPECT_GT(value.size(), 4096u);
  }
}

TEST_P(PageSealerTest, RejectsAnotherBinding) {
  auto [encrypt, compress] = GetParam();
  PageSealer sealer(encrypt, compress);
  SealerScratch scratch;
  std::vector<uint8_t> value, out(4096);
  value = Sealed(sealer, BindingFor(1), RandomPage(4096, 2), scratch);
  EXPECT_FALSE(sealer.Open(BindingFor(2), value, out, scratch));
}

TEST_P(PageSealerTest, RejectsEveryFlippedByteAndTruncation) {
  auto [encrypt, compress] = GetParam();
  PageSealer sealer(encrypt, compress);
  SealerScratch scratch;
  std::vector<uint8_t> value, out(4096);
  value = Sealed(sealer, BindingFor(1), TextPage(4096), scratch);
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
  SealerScratch scratch;
  std::vector<uint8_t> value, out(4096), small(2048);
  value = Sealed(other, BindingFor(1), RandomPage(4096, 3), scratch);
  EXPECT_FALSE(sealer.Open(BindingFor(1), value, out, scratch));
  value = Sealed(sealer, BindingFor(1), RandomPage(4096, 3), scratch);
  EXPECT_FALSE(sealer.Open(BindingFor(1), value, small, scratch));
}

TEST_P(PageSealerTest, PlaintextOnlyWhenAskedFor) {
  auto [encrypt, compress] = GetParam();
  PageSealer sealer(encrypt, compress);
  SealerScratch scratch;
  std::vector<uint8_t> value;
  std::vector<uint8_t> page = RandomPage(4096, 4);  // incompressible: stored as is unless encrypted
  value = Sealed(sealer, BindingFor(1), page, scratch);
  EXPECT_EQ(Contains(value, page, 64), !encrypt);
}

TEST_P(PageSealerTest, AFailedOpenLeavesThePageUntouched) {
  auto [encrypt, compress] = GetParam();
  PageSealer sealer(encrypt, compress);
  SealerScratch scratch;
  for (const auto& page : {TextPage(4096), RandomPage(4096, 5)}) {
    std::vector<uint8_t> value = Sealed(sealer, BindingFor(1), page, scratch);
    value.back() ^= 1;  // the tag
    std::vector<uint8_t> out(4096, 0xAB);
    EXPECT_FALSE(sealer.Open(BindingFor(1), value, out, scratch));
    EXPECT_EQ(out, std::vector<uint8_t>(4096, 0xAB));
  }
}

TEST_P(PageSealerTest, OneScratchServesEveryPageSize) {
  auto [encrypt, compress] = GetParam();
  PageSealer sealer(encrypt, compress);
  SealerScratch scratch;
  for (size_t size : {size_t{4096}, size_t{65536}, size_t{512}, size_t{4096}}) {
    for (const auto& page : {TextPage(size), RandomPage(size, 6)}) {
      std::vector<uint8_t> value = Sealed(sealer, BindingFor(size), page, scratch);
      std::vector<uint8_t> out(size);
      ASSERT_TRUE(sealer.Open(BindingFor(size), value, out, scratch)) << size;
      EXPECT_EQ(out, page) << size;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, PageSealerTest, ::testing::Combine(::testing::Bool(), ::testing::Bool()),
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
  SealerScratch scratch;
  std::vector<uint8_t> first = Sealed(sealer, BindingFor(1), TextPage(4096), scratch);
  std::vector<uint8_t> second = Sealed(sealer, BindingFor(1), TextPage(4096), scratch);
  EXPECT_NE(first, second);
}

}  // namespace
}  // namespace cleancache::memcached
