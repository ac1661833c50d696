// The log of `cleancache mount` and `cleancache serve`: parsing --log and
// --log-level, what `auto` resolves to, and the lines a file sink gets.
#include "cli/log_setup.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace cleancache::cli {
namespace {

GetEnv Env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

TEST(LogTarget, AutoIsTheJournalUnderSystemdElseSyslogInTheBackground) {
  EXPECT_EQ(ResolveLogTarget(LogTarget::kAuto, false, Env({})), LogTarget::kStderr);
  EXPECT_EQ(ResolveLogTarget(LogTarget::kAuto, true, Env({})), LogTarget::kSyslog);
  EXPECT_EQ(ResolveLogTarget(LogTarget::kAuto, false, Env({{"JOURNAL_STREAM", "8:12345"}})), LogTarget::kJournal);
  EXPECT_EQ(ResolveLogTarget(LogTarget::kAuto, true, Env({{"INVOCATION_ID", "0123abcd"}})), LogTarget::kJournal);
  EXPECT_EQ(ResolveLogTarget(LogTarget::kAuto, true, Env({{"INVOCATION_ID", ""}})), LogTarget::kSyslog);
  // An explicit target is kept whatever the environment.
  EXPECT_EQ(ResolveLogTarget(LogTarget::kStderr, true, Env({{"JOURNAL_STREAM", "8:1"}})), LogTarget::kStderr);
  EXPECT_EQ(ResolveLogTarget(LogTarget::kSyslog, false, Env({})), LogTarget::kSyslog);
  EXPECT_EQ(ResolveLogTarget(LogTarget::kFile, false, Env({{"JOURNAL_STREAM", "8:1"}})), LogTarget::kFile);
}

TEST(LogTarget, ParsesTargetsAndLevels) {
  LogSettings s;
  ASSERT_TRUE(ParseLogTarget("journal", &s).ok());
  EXPECT_EQ(s.target, LogTarget::kJournal);
  ASSERT_TRUE(ParseLogTarget("syslog", &s).ok());
  EXPECT_EQ(s.target, LogTarget::kSyslog);
  ASSERT_TRUE(ParseLogTarget("file:/var/log/x.log", &s).ok());
  EXPECT_EQ(s.target, LogTarget::kFile);
  EXPECT_EQ(s.file, "/var/log/x.log");
  ASSERT_TRUE(ParseLogTarget("file:rel.log", &s).ok());  // made absolute: the mount changes to /
  EXPECT_EQ(s.file, std::filesystem::current_path().string() + "/rel.log");
  Status bad = ParseLogTarget("file:", &s);
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("auto, stderr, syslog, journal, file:PATH"), std::string::npos) << bad.message();
  ASSERT_TRUE(ParseLogLevel("debug", &s).ok());
  EXPECT_EQ(s.level, spdlog::level::debug);
  ASSERT_TRUE(ParseLogLevel("error", &s).ok());
  EXPECT_EQ(s.level, spdlog::level::err);
  EXPECT_FALSE(ParseLogLevel("warning", &s).ok());
}

TEST(LogSink, JournalAndSyslogSinksAreMade) {
  LogSettings s;
  for (LogTarget t : {LogTarget::kStderr, LogTarget::kSyslog, LogTarget::kJournal}) {
    auto sink = MakeLogSink(t, s, "cleancache-test");
    ASSERT_TRUE(sink.ok()) << LogTargetName(t);
    EXPECT_NE(sink->get(), nullptr);
  }
}

TEST(LogSink, FileLinesCarryLevelAndIdentityAndSwitchingMovesThem) {
  char dir_template[] = "/tmp/cc-log-XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  LogSettings s;
  s.file = dir + "/first.log";
  s.level = spdlog::level::info;
  auto first = MakeLogSink(LogTarget::kFile, s, "cleancache-test");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto log = MakeLogger("mount /mnt/x", *first, s);
  log->info("mounted");
  log->debug("not at info");
  LogSettings second_settings = s;
  second_settings.file = dir + "/second.log";
  auto second = MakeLogSink(LogTarget::kFile, second_settings, "cleancache-test");
  ASSERT_TRUE(second.ok());
  SwitchSink(*log, *second);
  log->warn("after the switch");
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  const std::string one = read(dir + "/first.log"), two = read(dir + "/second.log");
  EXPECT_NE(one.find("[info] mount /mnt/x: mounted\n"), std::string::npos) << one;
  EXPECT_NE(one.find("[" + std::to_string(getpid()) + "]"), std::string::npos) << one;
  EXPECT_EQ(one.find("not at info"), std::string::npos) << one;
  EXPECT_EQ(one.find("after the switch"), std::string::npos) << one;
  EXPECT_NE(two.find("[warning] mount /mnt/x: after the switch\n"), std::string::npos) << two;
  // A file that cannot be opened (its parent is a regular file).
  LogSettings bad = s;
  bad.file = dir + "/first.log/x";
  auto failed = MakeLogSink(LogTarget::kFile, bad, "cleancache-test");
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("log file '" + bad.file + "'"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cleancache::cli
