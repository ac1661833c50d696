// Runs the built `cleancache` binary: `bench` output (JSON and text) on small
// corpora, the errors (and exit codes) a user gets for bad input, and
// `serve` under signals.
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
#include <utility>
#include <vector>

#include "cleancache/backend_spec.h"
#include "cleancache/version.h"

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
  const nlohmann::json j = RunJson({"--synthetic", "512", "--compressibility", "0.8", "--zero-share", "0.25"});
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
  for (const char* field : {"put ", "get ", "MB/s", "hit ratio", "compression", "density", "real memory", "evictions",
                            "same-filled", "rejected"})
    EXPECT_NE(outcome.out.find(field), std::string::npos) << field << " in\n" << outcome.out;
  EXPECT_EQ(outcome.err, "");
}

TEST_F(CliTest, VersionOnTheProgramAndEverySubcommand) {
  const std::string first_line = std::string("cleancache ") + CLEANCACHE_VERSION_STRING + " (revision ";
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--version"}, {"version"}, {"bench", "--version"}, {"stats", "--version"}}) {
    const Outcome outcome = Run(args);
    EXPECT_EQ(outcome.exit_code, 0) << args[0];
    EXPECT_EQ(outcome.out.rfind(first_line, 0), 0u) << args[0] << ": " << outcome.out;
    EXPECT_NE(outcome.out.find("backends: zcache"), std::string::npos) << outcome.out;
  }
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

// One rule (src/cli/commands.h): bad input exits 2 in every subcommand, with
// a message naming the culprit; nothing is started.
TEST_F(CliTest, EveryCommandExitsTwoForTheSameBadSpec) {
  const std::vector<std::pair<std::string, std::string>> bad_specs = {
      {"nosuch://x", "nosuch"},
      {"zcache:codec=nonsense", "nonsense"},
      {"zcache:bogus=1", "bogus"},
      {"zcache:capacity=99999T", "99999T"},
      {"zcache:capacity=16777216T", "too large"},
  };
  for (const auto& [spec, culprit] : bad_specs) {
    std::vector<std::vector<std::string>> commands = {
        {"bench", "--synthetic", "8", "--backend", spec},
        {"serve", "--socket", dir_ + "/never.sock", "--backend", spec},
    };
#ifdef CLEANCACHE_HAVE_FUSE
    commands.push_back({"mount", dir_ + "/backing", dir_ + "/mnt", "--backend", spec});
#endif
    for (const auto& args : commands) {
      const Outcome outcome = Run(args);
      EXPECT_EQ(outcome.exit_code, 2) << args[0] << " " << spec << ": " << outcome.err;
      EXPECT_NE(outcome.err.find(culprit), std::string::npos) << args[0] << " " << spec << ": " << outcome.err;
      EXPECT_EQ(outcome.err.find("cleancache " + args[0] + ": "), 0u) << outcome.err;
    }
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/never.sock"));
  // Malformed command lines are bad input too, whatever CLI11's own code.
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"bench", "--frobnicate"},
                                             {"serve", "--frobnicate"},
                                             {"stats", "--frobnicate"},
                                             {"stats"},
                                             {"serve", "--capacity", "lots", "--socket", dir_ + "/never.sock"},
                                             {"serve", "--capacity", "99999T", "--socket", dir_ + "/never.sock"},
                                             {"nosuchcommand"},
                                             {}}) {
    EXPECT_EQ(Run(args).exit_code, 2) << (args.empty() ? "(no arguments)" : args[0]);
  }
#ifdef CLEANCACHE_HAVE_FUSE
  EXPECT_EQ(Run({"mount", "--frobnicate"}).exit_code, 2);
  EXPECT_EQ(Run({"mount", dir_, dir_ + "/mnt", "--primary", "lots"}).exit_code, 2);
  EXPECT_EQ(Run({"umount"}).exit_code, 2);
#endif
  // A valid spec whose backend cannot work is a runtime failure: 1.
  EXPECT_EQ(Run({"bench", "--synthetic", "8", "--backend", "tmem:" + dir_ + "/no-daemon.sock"}).exit_code, 1);
  EXPECT_EQ(Run({"stats", "--socket", dir_ + "/no-daemon.sock"}).exit_code, 1);
}

#ifdef CLEANCACHE_HAVE_DAEMON
// `cleancache serve` in the background, its stderr in a file; SIGKILLed by
// the destructor if still running.
class ServeProcess {
 public:
  ServeProcess(const std::vector<std::string>& args, const std::string& err_path) {
    std::vector<char*> argv{const_cast<char*>(CLEANCACHE_CLI_PATH), const_cast<char*>("serve")};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(err, 2);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~ServeProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  bool Alive() const { return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0; }
  // The exit status after `signal`; -1 if it did not end within 20 s.
  int StopWith(int signal) {
    kill(pid_, signal);
    int status = 0;
    for (int i = 0; i < 2000; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
};

// Waits (at most 20 s) until `condition` holds.
template <typename F>
bool Eventually(F condition) {
  for (int i = 0; i < 2000; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

TEST_F(CliTest, ServeReloadsItsConfigOnSighupAndRemovesItsSocketOnSigterm) {
  const std::string socket = dir_ + "/tmem.sock", conf = dir_ + "/cleancached.conf", log = dir_ + "/serve.log";
  const std::string me = "uid:" + std::to_string(geteuid());
  const std::string base = "socket = " + socket + "\ncapacity = 64M\ntenant_by = uid\n";
  std::ofstream(conf) << base;
  ServeProcess serve({"--config", conf}, log);
  ASSERT_TRUE(Eventually([&] { return std::filesystem::exists(socket); })) << ReadAll(log);
  // A client of the tenant, connected across the reloads.
  auto client = cleancache::CreateBackend("tmem:" + socket);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto pool = (*client)->OpenPool(cleancache::PoolConfig{});
  ASSERT_TRUE(pool.ok());
  (*client)->PutPage(*pool, cleancache::FileKey::FromInode(1, 1), 0, std::vector<uint8_t>(4096, 7));
  auto cap_of_me = [&]() -> int64_t {
    const Outcome stats = Run({"stats", "--socket", socket, "--json"});
    const auto j = nlohmann::json::parse(stats.out, nullptr, false);
    if (j.is_discarded()) return -1;
    for (const auto& t : j["tenants"]) {
      if (t["name"] == me) return t["cap_bytes"].get<int64_t>();
    }
    return -1;
  };
  ASSERT_EQ(cap_of_me(), 0);

  std::ofstream(conf) << base << "[tenant " << me << "]\ncap = 8M\n";
  ASSERT_EQ(kill(serve.pid(), SIGHUP), 0);
  EXPECT_TRUE(Eventually([&] { return cap_of_me() == (8 << 20); })) << ReadAll(log);
  EXPECT_TRUE(serve.Alive());
  EXPECT_NE(ReadAll(log).find("SIGHUP"), std::string::npos) << ReadAll(log);
  EXPECT_NE(ReadAll(log).find("cap none -> 8 MiB"), std::string::npos) << ReadAll(log);

  std::ofstream(conf) << base << "[tenant " << me << "]\ncap = lots\n";  // invalid: the old config stays
  ASSERT_EQ(kill(serve.pid(), SIGHUP), 0);
  EXPECT_TRUE(Eventually([&] { return ReadAll(log).find("keeping the old one") != std::string::npos; }))
      << ReadAll(log);
  EXPECT_NE(ReadAll(log).find("cleancached.conf:5: cap: bad size 'lots'"), std::string::npos)
      << "names file, line and value: " << ReadAll(log);
  EXPECT_TRUE(serve.Alive());
  EXPECT_EQ(cap_of_me(), 8 << 20);

  EXPECT_EQ(serve.StopWith(SIGTERM), 0);
  EXPECT_FALSE(std::filesystem::exists(socket));
  EXPECT_NE(ReadAll(log).find("SIGTERM, stopping"), std::string::npos) << ReadAll(log);
}

TEST_F(CliTest, ServeRemovesItsSocketOnSigint) {
  const std::string socket = dir_ + "/tmem.sock", log = dir_ + "/serve.log";
  ServeProcess serve({"--socket", socket, "--capacity", "16M"}, log);
  ASSERT_TRUE(Eventually([&] { return std::filesystem::exists(socket); })) << ReadAll(log);
  ASSERT_EQ(kill(serve.pid(), SIGHUP), 0);  // no config file: the flags again, nothing changes
  EXPECT_TRUE(Eventually([&] { return ReadAll(log).find("reload: no change") != std::string::npos; })) << ReadAll(log);
  EXPECT_EQ(serve.StopWith(SIGINT), 0);
  EXPECT_FALSE(std::filesystem::exists(socket));
}
#endif

}  // namespace
