#include "memcached/memcached_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <thread>

namespace cleancache::testing {
namespace {

constexpr const char* kBinary = "/usr/bin/memcached";

// A port nobody listens on right now (the kernel's pick for port 0).
uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

std::string UrlDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

std::unique_ptr<MemcachedServer> MemcachedServer::Start(uint32_t memory_mb, Lru lru) {
  // The free port can be taken between our probe and memcached's bind: retry.
  for (int attempt = 0; attempt < 5; ++attempt) {
    uint16_t port = FreePort();
    if (port == 0) continue;
    std::unique_ptr<MemcachedServer> server(new MemcachedServer(port, memory_mb, lru));
    if (server->Launch()) return server;
  }
  std::fprintf(stderr, "MemcachedServer: could not start %s\n", kBinary);
  return nullptr;
}

bool MemcachedServer::Launch() {
  const std::string port = std::to_string(port_);
  const std::string memory = std::to_string(memory_mb_);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);
    // memcached logs every probe connection; keep test output readable.
    int null_fd = open("/dev/null", O_WRONLY);
    if (null_fd >= 0) {
      dup2(null_fd, STDOUT_FILENO);
      dup2(null_fd, STDERR_FILENO);
    }
    std::vector<const char*> args = {kBinary, "-l", "127.0.0.1",    "-p", port.c_str(), "-U",
                                     "0",     "-m", memory.c_str(), "-t", "2"};
    if (lru_ == Lru::kInspectable) {
      // The segmented LRU moves items between lists while a metadump crawls
      // them (listing an item twice or not at all), and its maintainer starts
      // background crawls that make metadump answer BUSY.
      args.push_back("-o");
      args.push_back("no_lru_maintainer");
    }
    if (geteuid() == 0) {
      args.push_back("-u");
      args.push_back("root");
    }
    args.push_back(nullptr);
    execv(kBinary, const_cast<char* const*>(args.data()));
    _exit(127);
  }
  pid_ = pid;
  // Ready when it accepts a connection; bounded to ~5 s.
  for (int i = 0; i < 500; ++i) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    int fd = ConnectLoopback(port_, 2);
    if (fd >= 0) {
      close(fd);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Stop();
  return false;
}

void MemcachedServer::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGCONT);
  kill(pid_, SIGTERM);
  // memcached's graceful exit waits ~0.7 s for its background threads; the
  // tests have nothing to lose in it, so give it 100 ms and then SIGKILL.
  for (int i = 0; i < 10; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

MemcachedServer::~MemcachedServer() { Stop(); }

void MemcachedServer::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

bool MemcachedServer::Restart() {
  Stop();
  // The port was ours a moment ago; memcached binds with SO_REUSEADDR.
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (Launch()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

void MemcachedServer::Pause() {
  if (pid_ <= 0) return;
  kill(pid_, SIGSTOP);
  // Delivery is asynchronous: wait (bounded) until the kernel shows it stopped.
  const std::string stat_path = "/proc/" + std::to_string(pid_) + "/stat";
  for (int i = 0; i < 200; ++i) {
    if (FILE* stat = std::fopen(stat_path.c_str(), "r")) {
      char line[512] = {};
      size_t n = std::fread(line, 1, sizeof line - 1, stat);
      std::fclose(stat);
      const char* after_name = std::strrchr(line, ')');
      if (n > 0 && after_name && after_name[1] == ' ' && after_name[2] == 'T') return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void MemcachedServer::Resume() {
  if (pid_ > 0) kill(pid_, SIGCONT);
}

std::optional<std::string> MemcachedServer::Exchange(const std::string& request, const std::string& terminator,
                                                     std::initializer_list<std::string_view> one_line_replies) const {
  int fd = ConnectLoopback(port_, 2);
  if (fd < 0) return std::nullopt;
  std::optional<std::string> reply;
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
    std::string buffer;
    char chunk[65536];
    // Bounded by the socket timeout and by 64 MiB of reply.
    while (buffer.size() < (64u << 20)) {
      ssize_t n = recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      buffer.append(chunk, static_cast<size_t>(n));
      if (buffer.size() >= terminator.size() &&
          buffer.compare(buffer.size() - terminator.size(), terminator.size(), terminator) == 0) {
        reply = std::move(buffer);
        break;
      }
      bool one_line = buffer.ends_with("\r\n") && buffer.find('\n') == buffer.size() - 1;
      if (one_line && std::any_of(one_line_replies.begin(), one_line_replies.end(),
                                  [&](std::string_view start) { return buffer.starts_with(start); })) {
        reply = std::move(buffer);
        break;
      }
    }
  }
  close(fd);
  return reply;
}

std::vector<std::string> MemcachedServer::RawKeys() const {
  std::vector<std::string> keys;
  std::optional<std::string> reply;
  // A crawl already running answers BUSY in one line; wait it out (bounded).
  for (int attempt = 0; attempt < 200; ++attempt) {
    reply = Exchange("lru_crawler metadump all\r\n", "END\r\n", {"BUSY", "NOTSTARTED", "ERROR"});
    if (!reply || !reply->starts_with("BUSY")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!reply) return keys;
  // metadump ends its lines with "\n", the final END with "\r\n".
  size_t at = 0;
  while (at < reply->size()) {
    size_t end = reply->find('\n', at);
    if (end == std::string::npos) end = reply->size();
    std::string_view line(reply->data() + at, end - at);
    if (line.starts_with("key=")) keys.push_back(UrlDecode(line.substr(4, line.find(' ') - 4)));
    at = end + 1;
  }
  // A crawl can meet an item twice; the caller wants each key once.
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

std::optional<std::string> MemcachedServer::RawGet(const std::string& key) const {
  // Values are binary: the reply is complete once the announced length and
  // the trailing "\r\nEND\r\n" are in; "END\r\n" alone means not found.
  auto reply = Exchange("get " + key + "\r\n", "END\r\n");
  if (!reply || !reply->starts_with("VALUE ")) return std::nullopt;
  size_t header_end = reply->find("\r\n");
  size_t last_space = reply->rfind(' ', header_end);
  size_t length = std::stoul(reply->substr(last_space + 1, header_end - last_space - 1));
  if (reply->size() < header_end + 2 + length) return std::nullopt;
  return reply->substr(header_end + 2, length);
}

bool MemcachedServer::RawSet(const std::string& key, const std::string& value) const {
  auto reply = Exchange("set " + key + " 0 0 " + std::to_string(value.size()) + "\r\n" + value + "\r\n", "\r\n");
  return reply && *reply == "STORED\r\n";
}

bool MemcachedServer::RawDelete(const std::string& key) const {
  auto reply = Exchange("delete " + key + "\r\n", "\r\n");
  return reply && *reply == "DELETED\r\n";
}

bool MemcachedServer::FlushAll() const {
  auto reply = Exchange("flush_all\r\n", "\r\n");
  return reply && *reply == "OK\r\n";
}

std::string MemcachedSpec(const std::vector<const MemcachedServer*>& servers, const std::string& options) {
  std::string spec = "memcached://";
  for (size_t i = 0; i < servers.size(); ++i) {
    if (i > 0) spec += ',';
    spec += servers[i]->address();
  }
  if (!options.empty()) spec += "?" + options;
  return spec;
}

int ConnectLoopback(uint16_t port, int timeout_seconds) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (timeout_seconds > 0) {
    timeval timeout{timeout_seconds, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace cleancache::testing
