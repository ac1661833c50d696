#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "cleancache/corpus.h"
#include "corpus/temp_tree.h"

namespace cleancache {
namespace {

using testing::Pattern;
using testing::TempTree;

std::vector<uint8_t> Elf(size_t size, uint8_t salt) {
  std::vector<uint8_t> bytes = Pattern(size, salt);
  bytes[0] = 0x7f;
  bytes[1] = 'E';
  bytes[2] = 'L';
  bytes[3] = 'F';
  bytes[4] = 0;  // ELF files hold NULs: must not count as text
  return bytes;
}

std::map<std::string, uint64_t> PagesPerCategory(const PageCorpus& corpus) {
  std::map<std::string, uint64_t> pages;
  for (const CorpusFile& f : corpus.files()) pages[f.category] += f.page_count;
  return pages;
}

// A small tree with four categories, each file one to three pages long.
class MachineCorpusTree : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 20; ++i) {
      const std::string n = std::to_string(100 + i);
      tree_.Write("text/doc" + n, Pattern(1000 + 400 * i, i));
      tree_.Write("elf/bin" + n, Elf(2000 + 300 * i, i));
      tree_.Write("py/mod" + n + ".py", Pattern(500 + 500 * i, i));
      tree_.Write("data/d" + n, Pattern(4096 * (1 + i % 3), i));
    }
    tree_.Write("text/binary", Elf(100, 1));        // text filter: has a NUL
    tree_.Write("elf/script", Pattern(100, 1));     // elf filter: no magic
    tree_.Write("py/readme.txt", Pattern(100, 1));  // python filter: not .py
  }

  MachineCorpusOptions Options(uint64_t pages) const {
    MachineCorpusOptions options;
    options.pages = pages;
    options.page_size = 4096;
    options.categories = {
        {"text", {tree_.root() + "/text"}, CorpusFilter::kText, 25},
        {"elf", {tree_.root() + "/elf"}, CorpusFilter::kElf, 40},
        {"python", {tree_.root() + "/py"}, CorpusFilter::kPython, 15},
        {"data", {tree_.root() + "/data"}, CorpusFilter::kAny, 20},
    };
    return options;
  }

  TempTree tree_;
};

TEST_F(MachineCorpusTree, EachCategoryGetsItsShareExactly) {
  Result<PageCorpus> corpus = BuildMachineCorpus(Options(40));
  ASSERT_TRUE(corpus.ok()) << corpus.status().ToString();
  EXPECT_EQ(corpus->page_count(), 40u);
  const auto pages = PagesPerCategory(*corpus);
  EXPECT_EQ(pages.at("text"), 10u);
  EXPECT_EQ(pages.at("elf"), 16u);
  EXPECT_EQ(pages.at("python"), 6u);
  EXPECT_EQ(pages.at("data"), 8u);
}

TEST_F(MachineCorpusTree, FiltersKeepOnlyMembers) {
  Result<PageCorpus> corpus = BuildMachineCorpus(Options(100));
  ASSERT_TRUE(corpus.ok()) << corpus.status().ToString();
  for (const CorpusFile& f : corpus->files()) {
    EXPECT_EQ(f.path.find("binary"), std::string::npos);
    EXPECT_EQ(f.path.find("script"), std::string::npos);
    EXPECT_EQ(f.path.find("readme"), std::string::npos);
    if (f.category == "elf") {
      EXPECT_EQ(corpus->page(f.first_page)[0], 0x7f);
    }
  }
}

TEST_F(MachineCorpusTree, FilesAreInterleavedAndPadded) {
  Result<PageCorpus> corpus = BuildMachineCorpus(Options(60));
  ASSERT_TRUE(corpus.ok());
  ASSERT_GE(corpus->files().size(), 4u);
  std::set<std::string> first_four;
  for (size_t i = 0; i < 4; ++i) first_four.insert(corpus->files()[i].category);
  EXPECT_EQ(first_four.size(), 4u) << "the first files should come from every category";
  uint64_t next_page = 0;
  for (const CorpusFile& f : corpus->files()) {
    EXPECT_EQ(f.first_page, next_page);
    next_page += f.page_count;
    const auto file_bytes = corpus->bytes().subspan(f.first_page * 4096, f.page_count * 4096);
    EXPECT_TRUE(std::all_of(file_bytes.begin() + static_cast<long>(f.data_bytes), file_bytes.end(), [](uint8_t b) {
      return b == 0;
    })) << f.path;
  }
  EXPECT_EQ(next_page, 60u);
}

TEST_F(MachineCorpusTree, IsDeterministic) {
  Result<PageCorpus> a = BuildMachineCorpus(Options(70));
  Result<PageCorpus> b = BuildMachineCorpus(Options(70));
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->files().size(), b->files().size());
  for (size_t i = 0; i < a->files().size(); ++i) EXPECT_EQ(a->files()[i].path, b->files()[i].path);
  EXPECT_TRUE(std::equal(a->bytes().begin(), a->bytes().end(), b->bytes().begin(), b->bytes().end()));
}

TEST_F(MachineCorpusTree, ExhaustedCategoryLeavesItsShareToTheOthers) {
  MachineCorpusOptions options = Options(100);
  options.categories[2].roots = {tree_.root() + "/py/mod100.py"};  // one page of Python only
  Result<PageCorpus> corpus = BuildMachineCorpus(options);
  ASSERT_TRUE(corpus.ok()) << corpus.status().ToString();
  EXPECT_EQ(corpus->page_count(), 100u);
  EXPECT_EQ(PagesPerCategory(*corpus).at("python"), 1u);
}

TEST_F(MachineCorpusTree, TooLittleInputIsNotFound) {
  Result<PageCorpus> corpus = BuildMachineCorpus(Options(100000));
  ASSERT_FALSE(corpus.ok());
  EXPECT_EQ(corpus.status().code(), Status::Code::kNotFound);
  EXPECT_NE(corpus.status().message().find(tree_.root()), std::string::npos);
}

TEST_F(MachineCorpusTree, BigFilesAreCutAtMaxFileBytes) {
  tree_.Write("elf/zzbig", Elf(100 * 4096, 9));
  MachineCorpusOptions options = Options(80);
  options.max_file_bytes = 2 * 4096;
  Result<PageCorpus> corpus = BuildMachineCorpus(options);
  ASSERT_TRUE(corpus.ok()) << corpus.status().ToString();
  for (const CorpusFile& f : corpus->files()) EXPECT_LE(f.page_count, 2u) << f.path;
}

TEST_F(MachineCorpusTree, HardLinkedFileIsTakenOnce) {
  const std::string original = tree_.root() + "/data/d100";
  ASSERT_EQ(link(original.c_str(), (tree_.root() + "/text/zzlink").c_str()), 0);
  Result<PageCorpus> all = LoadPagesFromPath(tree_.root(), 4096);
  ASSERT_TRUE(all.ok());
  size_t copies = 0;
  for (const CorpusFile& f : all->files()) copies += (f.path == original || f.path.ends_with("zzlink"));
  EXPECT_EQ(copies, 1u);
}

TEST(MachineCorpusOptionsCheck, BadOptionsAreInvalidArgument) {
  MachineCorpusOptions options;
  options.pages = 0;
  EXPECT_EQ(BuildMachineCorpus(options).status().code(), Status::Code::kInvalidArgument);
  options.pages = 10;
  options.page_size = 1000;
  EXPECT_EQ(BuildMachineCorpus(options).status().code(), Status::Code::kInvalidArgument);
  options.page_size = 4096;
  for (CorpusCategory& c : options.categories) c.weight = 0;
  EXPECT_EQ(BuildMachineCorpus(options).status().code(), Status::Code::kInvalidArgument);
}

// The real machine-files corpus: deterministic, and every category whose
// roots exist here contributes pages.
TEST(MachineCorpus, FromThisMachineIsDeterministicAndMixed) {
  MachineCorpusOptions options;
  options.pages = 800;
  Result<PageCorpus> a = BuildMachineCorpus(options);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  Result<PageCorpus> b = BuildMachineCorpus(options);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->page_count(), 800u);
  EXPECT_TRUE(std::equal(a->bytes().begin(), a->bytes().end(), b->bytes().begin(), b->bytes().end()));
  const auto pages = PagesPerCategory(*a);
  for (const CorpusCategory& c : options.categories) {
    if (c.roots.empty()) continue;
    EXPECT_GT(pages.count(c.name) ? pages.at(c.name) : 0, 0u) << c.name;
  }
  EXPECT_GT(pages.at("elf"), pages.at("text"));  // 40% vs 25%
}

}  // namespace
}  // namespace cleancache
