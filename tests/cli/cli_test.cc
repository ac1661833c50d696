// Runs the built `cleancache` binary: `bench` output (JSON and text) on small
// corpora, and the errors a user gets for bad input.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "cleancache-cli-XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // Runs the binary with `args`, stdin from /dev/null, stdout and stderr to
  // files; kills it after 60 s.
  Outcome Run(const std::vector<std::string>& args) const {
    const std::string out_path = dir_ + "/stdout", err_path = dir_ + "/stderr";
    std::vector<char*> argv{const_cast<char*>(CLEANCACHE_CLI_PATH)};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
      const int in = open("/dev/null", O_RDONLY);
      const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (in < 0 || out < 0 || err < 0) _exit(127);
      dup2(in, 0);
      dup2(out, 1);
      dup2(err, 2);
      execv(argv[0], argv.data());
      _exit(127);
    }
    Outcome outcome;
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        ADD_FAILURE() << "cleancache did not finish in 60 s";
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    outcome.out = ReadAll(out_path);
    outcome.err = ReadAll(err_path);
    return outcome;
  }

  nlohmann::json RunJson(std::vector<std::string> args) const {
    args.insert(args.begin(), "bench");
    args.push_back("--json");
    const Outcome outcome = Run(args);
    EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
    EXPECT_EQ(outcome.err, "") << "stderr is not a terminal: no progress bar expected";
    return nlohmann::json::parse(outcome.out, nullptr, /*allow_exceptions=*/false);
  }

  // A failing run: non-zero exit, nothing on stdout, `needle` on stderr.
  void ExpectError(const std::vector<std::string>& args, const std::string& needle) const {
    const Outcome outcome = Run(args);
    EXPECT_NE(outcome.exit_code, 0) << outcome.out;
    EXPECT_EQ(outcome.out.find("MB/s"), std::string::npos) << outcome.out;
    EXPECT_NE(outcome.err.find(needle), std::string::npos) << "stderr: " << outcome.err;
  }

  std::string dir_;
};

void ExpectConsistent(const nlohmann::json& j, uint64_t pages) {
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["pages"], pages);
  EXPECT_EQ(j["mismatches"], 0);
  EXPECT_EQ(j["verified"], true);
  EXPECT_EQ(j["hits"].get<uint64_t>() + j["misses"].get<uint64_t>(), pages);
  EXPECT_GT(j["hits"].get<uint64_t>(), 0u);
  EXPECT_DOUBLE_EQ(j["hit_ratio"].get<double>(), j["hits"].get<double>() / static_cast<double>(pages));
  EXPECT_GT(j["put_mb_s"].get<double>(), 0);
  EXPECT_GT(j["get_mb_s"].get<double>(), 0);
  EXPECT_GT(j["real_memory_bytes"].get<uint64_t>(), 0u);
  EXPECT_GT(j["density"].get<double>(), 0);
  for (const char* key : {"compression_ratio", "real_memory_per_page", "evictions", "same_filled", "rejected",
                          "backend", "spec", "source", "page_size", "threads"})
    EXPECT_TRUE(j.contains(key)) << key;
}

TEST_F(CliTest, SyntheticBenchJson) {
  const nlohmann::json j =
      RunJson({"--synthetic", "512", "--compressibility", "0.8", "--zero-share", "0.25"});
  ExpectConsistent(j, 512);
  EXPECT_EQ(j["page_size"], 4096);
  EXPECT_EQ(j["threads"], 1);
  EXPECT_EQ(j["spec"], "zcache");
  EXPECT_EQ(j["same_filled"], 128);  // exactly 25% of the pages
  EXPECT_GT(j["compression_ratio"].get<double>(), 1.5);
}

TEST_F(CliTest, FileBenchJsonWithThreadsAndPageSize) {
  std::ofstream(dir_ + "/data.txt") << std::string(20000, 'x') << "tail";
  const nlohmann::json j = RunJson({"--file", dir_ + "/data.txt", "--page-size", "1024", "--threads", "2"});
  ExpectConsistent(j, 20);  // 20004 bytes in 1 KiB pages
  EXPECT_EQ(j["page_size"], 1024);
  EXPECT_EQ(j["threads"], 2);
  EXPECT_NE(j["source"].get<std::string>().find("data.txt"), std::string::npos);
}

TEST_F(CliTest, MachineCorpusBenchJson) {
  const nlohmann::json j = RunJson({"--corpus", "256", "--backend", "zcache:capacity=64M"});
  ExpectConsistent(j, 256);
  EXPECT_EQ(j["spec"], "zcache:capacity=64M");
  EXPECT_GT(j["compression_ratio"].get<double>(), 1.0);
}

TEST_F(CliTest, TextOutput) {
  const Outcome outcome = Run({"bench", "--synthetic", "64"});
  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  for (const char* field : {"put ", "get ", "MB/s", "hit ratio", "compression", "density", "real memory",
                            "evictions", "same-filled", "rejected"})
    EXPECT_NE(outcome.out.find(field), std::string::npos) << field << " in\n" << outcome.out;
  EXPECT_EQ(outcome.err, "");
}

TEST_F(CliTest, BadBackendSpec) {
  ExpectError({"bench", "--synthetic", "8", "--backend", "nosuch://x"}, "nosuch");
  ExpectError({"bench", "--synthetic", "8", "--backend", "zcache:bogus=1"}, "bogus");
  const Outcome outcome = Run({"bench", "--synthetic", "8", "--backend", "nosuch://x"});
  EXPECT_EQ(outcome.exit_code, 2);
}

TEST_F(CliTest, MissingFile) {
  ExpectError({"bench", "--file", dir_ + "/does-not-exist"}, "does-not-exist");
  std::ofstream(dir_ + "/empty");
  ExpectError({"bench", "--file", dir_ + "/empty"}, "no data");
}

TEST_F(CliTest, BadNumbers) {
  ExpectError({"bench", "--synthetic", "8", "--page-size", "1000"}, "page size");
  ExpectError({"bench", "--synthetic", "8", "--page-size", "131072"}, "page size");
  ExpectError({"bench", "--synthetic", "8", "--threads", "0"}, "threads");
  ExpectError({"bench", "--corpus", "abc"}, "corpus");
  ExpectError({"bench", "--corpus", "0"}, "corpus");
  ExpectError({"bench", "--synthetic", "-5"}, "synthetic");
  ExpectError({"bench", "--synthetic", "8", "--compressibility", "1.5"}, "compressibility");
  ExpectError({"bench", "--synthetic", "8", "--zero-share", "x"}, "zero-share");
}

TEST_F(CliTest, ConflictingSources) {
  ExpectError({"bench", "--corpus", "8", "--synthetic", "8"}, "excludes");
  ExpectError({"bench", "--file", "/etc/hostname", "--corpus", "8"}, "excludes");
  ExpectError({"bench", "--compressibility", "0.5"}, "synthetic");
}

TEST_F(CliTest, NoSubcommandOrUnknownOption) {
  ExpectError({}, "subcommand");
  ExpectError({"bench", "--frobnicate"}, "frobnicate");
}

}  // namespace
