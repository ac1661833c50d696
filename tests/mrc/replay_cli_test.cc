// `cleancache replay` end to end: the table, --json, a saved trace replayed
// back, and the exit codes of bad input (2).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "corpus/temp_tree.h"

namespace {

class ReplayCliTest : public ::testing::Test {
 protected:
  // Runs `cleancache replay ARGS` through the shell; returns the exit code,
  // with stdout in out_ and stderr in err_.
  int Replay(const std::string& args, const std::string& environment = "") {
    const std::string command = environment + " " + CLEANCACHE_CLI_PATH + " replay " + args + " >" + dir_ + "/out 2>" +
                                dir_ + "/err </dev/null";
    const int status = std::system(command.c_str());
    out_ = Slurp(dir_ + "/out");
    err_ = Slurp(dir_ + "/err");
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  static std::string Slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  cleancache::testing::TempTree tree_;
  const std::string dir_ = tree_.root();
  std::string out_, err_;
};

constexpr const char* kSmall = "--generate zipf --pages 4096 --accesses 30000 --capacities 4M,8M";

TEST_F(ReplayCliTest, PrintsATableAndJson) {
  ASSERT_EQ(Replay(kSmall), 0) << err_;
  EXPECT_NE(out_.find("measured"), std::string::npos) << out_;
  EXPECT_NE(out_.find("predicted"), std::string::npos) << out_;
  EXPECT_NE(out_.find("8 MiB"), std::string::npos) << out_;

  ASSERT_EQ(Replay(std::string(kSmall) + " --json"), 0) << err_;
  const auto json = nlohmann::json::parse(out_);
  ASSERT_EQ(json["capacities"].size(), 2u);
  EXPECT_EQ(json["capacities"][1]["capacity_bytes"], 8u << 20);
  EXPECT_EQ(json["reads"], 30000u);
  EXPECT_GT(json["curve_points"].size(), 10u);
}

TEST_F(ReplayCliTest, SavedTraceReplaysToTheSameFigures) {
  ASSERT_EQ(Replay(std::string(kSmall) + " --json --save-trace " + dir_ + "/t"), 0) << err_;
  const auto generated = nlohmann::json::parse(out_);
  ASSERT_EQ(Replay(dir_ + "/t --capacities 4M,8M --json"), 0) << err_;
  const auto replayed = nlohmann::json::parse(out_);
  EXPECT_EQ(replayed["capacities"], generated["capacities"]);
}

TEST_F(ReplayCliTest, DrawsAChartOrSaysWhyNot) {
  if (std::system("command -v gnuplot >/dev/null 2>&1") == 0) {
    ASSERT_EQ(Replay(std::string(kSmall) + " --png " + dir_ + "/chart.png"), 0) << err_;
    EXPECT_GT(std::filesystem::file_size(dir_ + "/chart.png"), 1000u);
  }
  // Without gnuplot the table is still printed; the missing chart is a runtime failure.
  ASSERT_EQ(Replay(std::string(kSmall) + " --png " + dir_ + "/none.png", "PATH=/nonexistent"), 1);
  EXPECT_NE(out_.find("predicted"), std::string::npos) << out_;
  EXPECT_NE(err_.find("gnuplot is not installed"), std::string::npos) << err_;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/none.png"));
}

TEST_F(ReplayCliTest, BadInputExitsTwo) {
  EXPECT_EQ(Replay("--generate zipf --capacities 4M,lots"), 2);
  EXPECT_NE(err_.find("lots"), std::string::npos) << err_;
  EXPECT_EQ(Replay("--generate zipf --backend memcached://127.0.0.1:1"), 2);
  EXPECT_NE(err_.find("capacity"), std::string::npos) << err_;
  EXPECT_EQ(Replay("--generate zipfian"), 2);
  EXPECT_EQ(Replay(""), 2);  // neither a trace nor --generate
  EXPECT_EQ(Replay(dir_ + "/missing"), 2);
  EXPECT_NE(err_.find("missing"), std::string::npos) << err_;
  std::ofstream(dir_ + "/short") << "CCTRACE1\x01";
  EXPECT_EQ(Replay(dir_ + "/short"), 2);
  EXPECT_NE(err_.find("truncated"), std::string::npos) << err_;
}

}  // namespace
