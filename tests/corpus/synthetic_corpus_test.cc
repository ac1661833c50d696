#include <gtest/gtest.h>
#include <lz4.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "cleancache/corpus.h"

namespace cleancache {
namespace {

SyntheticCorpusOptions Options(double compressibility, double same_share, uint64_t seed = 7) {
  SyntheticCorpusOptions options;
  options.pages = 1000;
  options.page_size = 4096;
  options.compressibility = compressibility;
  options.same_filled_share = same_share;
  options.seed = seed;
  options.pages_per_file = 64;
  return options;
}

size_t SameFilledPages(const PageCorpus& corpus) {
  size_t count = 0;
  for (size_t i = 0; i < corpus.page_count(); ++i) count += IsSameFilledPage(corpus.page(i));
  return count;
}

size_t Lz4Bytes(const PageCorpus& corpus) {
  std::vector<char> out(LZ4_compressBound(static_cast<int>(corpus.page_size())));
  size_t total = 0;
  for (size_t i = 0; i < corpus.page_count(); ++i) {
    const auto page = corpus.page(i);
    total += static_cast<size_t>(LZ4_compress_default(reinterpret_cast<const char*>(page.data()), out.data(),
                                                      static_cast<int>(page.size()), static_cast<int>(out.size())));
  }
  return total;
}

TEST(SyntheticCorpus, SameFilledShareIsExact) {
  for (double share : {0.0, 0.1, 0.25, 1.0}) {
    Result<PageCorpus> corpus = BuildSyntheticCorpus(Options(0.5, share));
    ASSERT_TRUE(corpus.ok()) << corpus.status().ToString();
    EXPECT_EQ(corpus->page_count(), 1000u);
    EXPECT_EQ(SameFilledPages(*corpus), static_cast<size_t>(share * 1000)) << share;
  }
}

TEST(SyntheticCorpus, SameFilledPagesAreHalfZero) {
  Result<PageCorpus> corpus = BuildSyntheticCorpus(Options(0.5, 0.2));
  ASSERT_TRUE(corpus.ok());
  size_t zero = 0;
  for (size_t i = 0; i < corpus->page_count(); ++i) {
    const auto page = corpus->page(i);
    zero += std::all_of(page.begin(), page.end(), [](uint8_t b) { return b == 0; });
  }
  EXPECT_EQ(zero, 100u);
}

TEST(SyntheticCorpus, IsDeterministicPerSeed) {
  Result<PageCorpus> a = BuildSyntheticCorpus(Options(0.3, 0.1, 42));
  Result<PageCorpus> b = BuildSyntheticCorpus(Options(0.3, 0.1, 42));
  Result<PageCorpus> c = BuildSyntheticCorpus(Options(0.3, 0.1, 43));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_TRUE(std::equal(a->bytes().begin(), a->bytes().end(), b->bytes().begin(), b->bytes().end()));
  EXPECT_FALSE(std::equal(a->bytes().begin(), a->bytes().end(), c->bytes().begin(), c->bytes().end()));
}

TEST(SyntheticCorpus, CompressibilityOrdersCompressedSize) {
  const size_t original = 1000 * 4096;
  std::vector<size_t> sizes;
  for (double c : {0.0, 0.25, 0.5, 0.75, 1.0}) {
    Result<PageCorpus> corpus = BuildSyntheticCorpus(Options(c, 0.0));
    ASSERT_TRUE(corpus.ok());
    sizes.push_back(Lz4Bytes(*corpus));
  }
  EXPECT_GE(sizes.front(), original);     // all random: no gain
  EXPECT_LT(sizes.back(), original / 4);  // all text: compresses well
  EXPECT_TRUE(std::is_sorted(sizes.rbegin(), sizes.rend()));
  EXPECT_NEAR(static_cast<double>(sizes[2]) / original, 0.5, 0.15);
}

TEST(SyntheticCorpus, GroupsPagesIntoFiles) {
  Result<PageCorpus> corpus = BuildSyntheticCorpus(Options(0.5, 0.0));
  ASSERT_TRUE(corpus.ok());
  ASSERT_EQ(corpus->files().size(), 16u);  // 15 x 64 + 40
  EXPECT_EQ(corpus->files().back().page_count, 40u);
  EXPECT_EQ(corpus->files().back().first_page, 960u);
  EXPECT_EQ(corpus->files()[3].inode, 4u);
  EXPECT_EQ(corpus->files()[3].category, "synthetic");
}

TEST(SyntheticCorpus, BadOptionsAreInvalidArgument) {
  for (auto [c, s] : {std::pair{1.5, 0.0}, {-0.1, 0.0}, {0.5, 2.0}, {0.5, -1.0}, {std::nan(""), 0.0}}) {
    Result<PageCorpus> corpus = BuildSyntheticCorpus(Options(c, s));
    ASSERT_FALSE(corpus.ok()) << c << " " << s;
    EXPECT_EQ(corpus.status().code(), Status::Code::kInvalidArgument);
  }
  SyntheticCorpusOptions options = Options(0.5, 0.0);
  options.pages = 0;
  EXPECT_FALSE(BuildSyntheticCorpus(options).ok());
  options = Options(0.5, 0.0);
  options.page_size = 3000;
  EXPECT_FALSE(BuildSyntheticCorpus(options).ok());
}

}  // namespace
}  // namespace cleancache
