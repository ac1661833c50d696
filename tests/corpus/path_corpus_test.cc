#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "cleancache/corpus.h"
#include "corpus/temp_tree.h"

namespace cleancache {
namespace {

using testing::Pattern;
using testing::TempTree;

bool AllZero(std::span<const uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

TEST(PathCorpus, SingleFileIsPaddedToAPageBoundary) {
  TempTree tree;
  const std::vector<uint8_t> data = Pattern(5000, 3);
  const std::string path = tree.Write("one.bin", data);

  Result<PageCorpus> corpus = LoadPagesFromPath(path, 4096);
  ASSERT_TRUE(corpus.ok()) << corpus.status().ToString();
  ASSERT_EQ(corpus->page_count(), 2u);
  ASSERT_EQ(corpus->files().size(), 1u);
  const CorpusFile& file = corpus->files()[0];
  EXPECT_EQ(file.page_count, 2u);
  EXPECT_EQ(file.data_bytes, 5000u);
  EXPECT_EQ(file.category, "file");
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(file.inode, st.st_ino);
  EXPECT_EQ(file.device, st.st_dev);
  EXPECT_EQ(std::memcmp(corpus->bytes().data(), data.data(), data.size()), 0);
  EXPECT_TRUE(AllZero(corpus->bytes().subspan(5000)));
}

TEST(PathCorpus, DirectoryIsWalkedInSortedOrderSkippingEmptyFilesAndSymlinks) {
  TempTree tree;
  tree.Write("b/second", Pattern(4096, 1));
  tree.Write("a", Pattern(1, 2));
  tree.Write("b/empty", std::string());
  tree.Write("c/third", Pattern(4097, 3));
  ASSERT_EQ(symlink((tree.root() + "/a").c_str(), (tree.root() + "/b/link").c_str()), 0);

  Result<PageCorpus> corpus = LoadPagesFromPath(tree.root(), 4096);
  ASSERT_TRUE(corpus.ok()) << corpus.status().ToString();
  ASSERT_EQ(corpus->files().size(), 3u);
  EXPECT_EQ(corpus->files()[0].path, tree.root() + "/a");
  EXPECT_EQ(corpus->files()[1].path, tree.root() + "/b/second");
  EXPECT_EQ(corpus->files()[2].path, tree.root() + "/c/third");
  EXPECT_EQ(corpus->page_count(), 1u + 1u + 2u);
  for (const CorpusFile& f : corpus->files()) {
    const auto tail = corpus->bytes().subspan(f.first_page * 4096 + f.data_bytes, f.page_count * 4096 - f.data_bytes);
    EXPECT_TRUE(AllZero(tail)) << f.path;
    EXPECT_NE(corpus->page(f.first_page)[0], 0) << f.path;
  }
}

TEST(PathCorpus, MaxPagesCutsTheLastFile) {
  TempTree tree;
  tree.Write("x", Pattern(3 * 4096, 1));
  tree.Write("y", Pattern(3 * 4096, 2));
  Result<PageCorpus> corpus = LoadPagesFromPath(tree.root(), 4096, 4);
  ASSERT_TRUE(corpus.ok());
  EXPECT_EQ(corpus->page_count(), 4u);
  ASSERT_EQ(corpus->files().size(), 2u);
  EXPECT_EQ(corpus->files()[1].page_count, 1u);
}

TEST(PathCorpus, OtherPageSizes) {
  TempTree tree;
  const std::string path = tree.Write("f", Pattern(1000, 1));
  Result<PageCorpus> corpus = LoadPagesFromPath(path, 512);
  ASSERT_TRUE(corpus.ok());
  EXPECT_EQ(corpus->page_count(), 2u);
  EXPECT_EQ(corpus->page_size(), 512u);
}

TEST(PathCorpus, Errors) {
  TempTree tree;
  Result<PageCorpus> missing = LoadPagesFromPath(tree.root() + "/nope", 4096);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);

  tree.Write("empty", std::string());
  Result<PageCorpus> empty = LoadPagesFromPath(tree.root(), 4096);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), Status::Code::kInvalidArgument);

  const std::string path = tree.Write("data", Pattern(10, 1));
  for (uint32_t bad : {0u, 100u, 4000u, 256u, 131072u}) {
    Result<PageCorpus> corpus = LoadPagesFromPath(path, bad);
    ASSERT_FALSE(corpus.ok()) << bad;
    EXPECT_EQ(corpus.status().code(), Status::Code::kInvalidArgument);
  }
}

TEST(PathCorpus, UnreadableFileIsAnError) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads files whatever their mode";
  TempTree tree;
  const std::string path = tree.Write("secret", Pattern(10, 1));
  ASSERT_EQ(chmod(path.c_str(), 0), 0);
  Result<PageCorpus> corpus = LoadPagesFromPath(path, 4096);
  ASSERT_FALSE(corpus.ok());
  EXPECT_EQ(corpus.status().code(), Status::Code::kIOError);
}

}  // namespace
}  // namespace cleancache
