// `cleancache serve` and systemd's notify protocol, with a fake
// NOTIFY_SOCKET (a unix datagram socket this test binds): READY=1 once the
// socket accepts connections, RELOADING=1 with MONOTONIC_USEC then READY=1
// around a SIGHUP reload, STOPPING=1 on SIGTERM; and no trouble without it.
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "tmem/daemon_connection.h"

namespace cleancache {
namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char dir_template[] = "/tmp/cc-notify-XXXXXX";
    path = mkdtemp(dir_template);
  }
  ~TempDir() { (void)!system(("rm -rf '" + path + "'").c_str()); }
};

// `cleancache serve` as a child; killed and reaped however the test ends.
struct Daemon {
  pid_t pid = -1;
  Daemon(const std::vector<std::string>& args, const std::string& notify_socket) {
    pid = fork();
    if (pid == 0) {
      if (notify_socket.empty()) {
        unsetenv("NOTIFY_SOCKET");
      } else {
        setenv("NOTIFY_SOCKET", notify_socket.c_str(), 1);
      }
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  int Wait() {
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return -1;
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  ~Daemon() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    bound_ = bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~NotifySocket() { close(fd_); }
  bool bound() const { return bound_; }
  // The next datagram, or "" after 20 s.
  std::string Next() {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 20000) != 1) return "";
    char buf[4096];
    const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
};

std::vector<std::string> ServeArgs(const std::string& dir) {
  return {CLEANCACHE_CLI_PATH, "serve", "--socket", dir + "/tmem.sock", "--capacity", "16M"};
}

TEST(DaemonNotify, ReadyWhenListeningReloadingAroundSighupStoppingAtTheEnd) {
  TempDir dir;
  NotifySocket notify(dir.path + "/notify");
  ASSERT_TRUE(notify.bound());
  Daemon daemon(ServeArgs(dir.path), dir.path + "/notify");
  EXPECT_EQ(notify.Next(), "READY=1");
  // READY=1 came after the socket listens: a client gets in at once.
  auto stats = daemon::FetchDaemonStats(dir.path + "/tmem.sock", 5000);
  EXPECT_TRUE(stats.ok()) << stats.status().ToString();

  ASSERT_EQ(kill(daemon.pid, SIGHUP), 0);
  const std::string reloading = notify.Next();
  EXPECT_TRUE(reloading.starts_with("RELOADING=1\nMONOTONIC_USEC=")) << reloading;
  const std::string usec = reloading.substr(reloading.find('=', 12) + 1);
  EXPECT_FALSE(usec.empty());
  EXPECT_EQ(usec.find_first_not_of("0123456789"), std::string::npos) << usec;
  EXPECT_EQ(notify.Next(), "READY=1");
  EXPECT_TRUE(daemon::FetchDaemonStats(dir.path + "/tmem.sock", 5000).ok());

  ASSERT_EQ(kill(daemon.pid, SIGTERM), 0);
  EXPECT_EQ(notify.Next(), "STOPPING=1");
  EXPECT_EQ(daemon.Wait(), 0);
}

TEST(DaemonNotify, HarmlessWithoutNotifySocket) {
  TempDir dir;
  Daemon daemon(ServeArgs(dir.path), "");
  bool up = false;
  for (int i = 0; i < 400 && !up; ++i) {
    up = daemon::FetchDaemonStats(dir.path + "/tmem.sock", 1000).ok();
    if (!up) usleep(25000);
  }
  EXPECT_TRUE(up);
  ASSERT_EQ(kill(daemon.pid, SIGHUP), 0);
  EXPECT_TRUE(daemon::FetchDaemonStats(dir.path + "/tmem.sock", 5000).ok());
  ASSERT_EQ(kill(daemon.pid, SIGTERM), 0);
  EXPECT_EQ(daemon.Wait(), 0);
}

}  // namespace
}  // namespace cleancache
