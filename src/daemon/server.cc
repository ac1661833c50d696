#include "daemon/server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "daemon/stats_report.h"
#include "tmem/frame_socket.h"

namespace cleancache::daemon {
namespace {

using Clock = std::chrono::steady_clock;

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

uint64_t RandomEpoch() {
  uint64_t epoch = 0;
  while (epoch == 0) {
    if (::getrandom(&epoch, sizeof(epoch), 0) != sizeof(epoch)) {
      epoch = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
              (uint64_t{static_cast<uint32_t>(::getpid())} << 32);
    }
  }
  return epoch;
}

bool FillUnixAddress(const std::string& path, sockaddr_un* addr) {
  *addr = sockaddr_un{};
  addr->sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr->sun_path)) return false;
  std::memcpy(addr->sun_path, path.c_str(), path.size() + 1);
  return true;
}

// True when a live daemon answers on `path`.
bool SomeoneListens(const sockaddr_un& addr) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool live = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return live;
}

}  // namespace

Server::Server(ServerOptions options) : options_(std::move(options)) {
  if (!options_.logger) options_.logger = StderrLogger("cleancached");
}

Result<std::unique_ptr<Server>> Server::Start(ServerOptions options) {
  if (!options.store_factory) options.store_factory = StoreFactoryForSpec(options.config.backend);
  std::unique_ptr<Server> server(new Server(std::move(options)));
  Server& s = *server;
  s.epoch_ = RandomEpoch();
  // Pool ids start at a random point so that ids from an earlier daemon on
  // the same socket are unlikely to even look familiar to a confused client.
  s.next_pool_id_ = (s.epoch_ & 0xFFFFFFFFull) << 16 | 1;
  // Check the config (sizes and caps against the backend) and probe the
  // store factory once, so a bad backend spec fails at start.
  if (Status st = CheckDaemonConfig(s.options_.config); !st.ok()) return st;
  if (auto probe = s.options_.store_factory(s.options_.config.capacity); !probe.ok()) {
    return Status::InvalidArgument("backend '" + s.options_.config.backend + "': " + probe.status().message());
  }
  s.live_config_ = std::make_unique<LiveConfig>(s.options_.config);
  s.governor_ =
      std::make_unique<Governor>(s.options_.config.capacity, s.options_.store_factory, 64, s.options_.config.policy,
                                 CurvePolicyOptions{.min_share = s.options_.config.min_share});
  s.shared_pools_ = std::make_unique<SharedPoolRegistry>(*s.live_config_, *s.governor_);
  s.context_.reset(new DaemonContext{*s.live_config_, *s.governor_, *s.shared_pools_, s.epoch_, s.next_pool_id_,
                                     [&s] { return s.Stats().dump(); }, s.refused_puts_});
  if (Status st = s.Listen(); !st.ok()) return st;
  if (!s.options_.config.metrics.empty()) {
    auto metrics = MetricsHttpServer::Start(s.options_.config.metrics, [&s] { return MetricsText(s.Stats()); });
    if (!metrics.ok()) {
      s.Stop();
      return metrics.status();
    }
    s.metrics_ = std::move(*metrics);
  }
  s.accept_thread_ = std::thread([&s] { s.AcceptLoop(); });
  s.rebalance_thread_ = std::thread([&s] { s.RebalanceLoop(); });
  return server;
}

Status Server::Listen() {
  const std::string& path = options_.config.socket_path;
  sockaddr_un addr;
  if (!FillUnixAddress(path, &addr)) return Status::InvalidArgument("socket path too long: " + path);
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return Status::InvalidArgument(path + " exists and is not a socket");
    if (SomeoneListens(addr)) return Status::Busy("another daemon is serving " + path);
    ::unlink(path.c_str());  // stale socket of a daemon that died
  }
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return Status::IOError(Errno("socket"));
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return Status::IOError(Errno("bind " + path));
  }
  bound_ = true;  // from here on the socket file is ours to remove
  if (::chmod(path.c_str(), options_.config.socket_mode) != 0) return Status::IOError(Errno("chmod " + path));
  if (::listen(listen_fd_, 128) != 0) return Status::IOError(Errno("listen " + path));
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (stop_fd_ < 0) return Status::IOError(Errno("eventfd"));
  return Status::Ok();
}

Server::~Server() { Stop(); }

void Server::Stop() {
  std::call_once(stop_once_, [this] {
    stopping_ = true;
    if (stop_fd_ >= 0) {
      const uint64_t one = 1;
      (void)!::write(stop_fd_, &one, sizeof(one));
    }
    if (accept_thread_.joinable()) accept_thread_.join();
    {
      std::lock_guard lock(rebalance_mutex_);
      rebalance_wake_.notify_all();
    }
    if (rebalance_thread_.joinable()) rebalance_thread_.join();
    {
      std::lock_guard lock(connections_mutex_);
      for (Connection& c : connections_) {
        if (c.fd >= 0) ::shutdown(c.fd, SHUT_RDWR);
      }
    }
    ReapFinished(true);
    metrics_.reset();
    if (listen_fd_ >= 0) {
      ::close(listen_fd_);
      if (bound_) ::unlink(options_.config.socket_path.c_str());
      listen_fd_ = -1;
    }
    if (stop_fd_ >= 0) ::close(stop_fd_);
    stop_fd_ = -1;
  });
}

Status Server::Reload(const DaemonConfig& file) {
  std::lock_guard lock(reload_mutex_);
  ConfigReload reload = MergeReload(*live_config_->Get(), file);
  Status valid = CheckDaemonConfig(reload.config);
  if (valid.ok()) {
    // Every cap must make a store of the daemon's kind (the checks above
    // cover spec-made stores; this covers any factory).
    auto probe = [this](uint64_t cap) {
      return options_.store_factory(cap == 0 ? options_.config.capacity : std::min(cap, options_.config.capacity))
          .status();
    };
    valid = probe(reload.config.default_tenant.cap);
    for (const auto& [name, policy] : reload.config.tenants) {
      if (valid.ok()) valid = probe(policy.cap);
    }
    for (const auto& [uuid, shared] : reload.config.shared_pools) {
      if (valid.ok()) valid = probe(shared.policy.cap);
    }
  }
  if (!valid.ok()) {
    Log(spdlog::level::warn, "reload: new config is invalid, keeping the old one: " + valid.message());
    return valid;
  }
  for (const std::string& line : reload.need_restart) Log(spdlog::level::warn, "reload: " + line);
  live_config_->Set(reload.config);
  const auto config = live_config_->Get();
  for (const std::string& line : reload.applied) Log(spdlog::level::info, "reload: " + line);
  const auto tenants =
      governor_->SetPolicies([&config](const Tenant& t) { return config->PolicyFor(t.name(), t.uid()); });
  for (const std::string& line : tenants) Log(spdlog::level::info, "reload: tenant " + line);
  if (reload.applied.empty() && reload.need_restart.empty()) Log(spdlog::level::info, "reload: no change");
  return Status::Ok();
}

void Server::Log(spdlog::level::level_enum level, const std::string& line) { options_.logger->log(level, line); }

std::shared_ptr<spdlog::logger> StderrLogger(const std::string& name) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  sink->set_formatter(std::make_unique<spdlog::pattern_formatter>("[%l] %n: %v"));
  return std::make_shared<spdlog::logger>(name, std::move(sink));
}

void Server::ReapFinished(bool all) {
  std::list<Connection> finished;
  {
    std::lock_guard lock(connections_mutex_);
    for (auto it = connections_.begin(); it != connections_.end();) {
      auto next = std::next(it);
      if (all || it->done) finished.splice(finished.end(), connections_, it);
      it = next;
    }
  }
  for (Connection& c : finished) {
    if (c.thread.joinable()) c.thread.join();
  }
}

void Server::AcceptLoop() {
  while (!stopping_) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(fds, 2, 1000) < 0 && errno != EINTR) {
      Log(spdlog::level::err, Errno("poll"));
      return;
    }
    ReapFinished(false);
    if (fds[1].revents != 0 || stopping_) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) Log(spdlog::level::err, Errno("accept"));
      continue;
    }
    if (const uint32_t max_clients = live_config_->Get()->max_clients; open_connections_ >= max_clients) {
      ++refused_connections_;
      Log(spdlog::level::warn, "refusing a connection: " + std::to_string(max_clients) + " clients already connected");
      ::close(fd);
      continue;
    }
    ++open_connections_;
    ++total_connections_;
    const uint64_t session_id = next_session_id_++;
    std::lock_guard lock(connections_mutex_);
    Connection& c = connections_.emplace_back();
    c.fd = fd;
    c.thread = std::thread([this, &c, fd, session_id] { Serve(&c, fd, session_id); });
  }
}

void Server::RebalanceLoop() {
  std::unique_lock lock(rebalance_mutex_);
  while (!stopping_) {
    rebalance_wake_.wait_for(lock, options_.rebalance_interval, [this] { return stopping_.load(); });
    if (stopping_) break;
    lock.unlock();
    governor_->Rebalance();
    lock.lock();
  }
}

void Server::Serve(Connection* connection, int fd, uint64_t session_id) {
  auto socket = std::make_unique<FrameSocket>(fd);
  auto peer = IdentifyPeer(fd);
  if (!peer.ok()) {
    Log(spdlog::level::warn, "dropping a connection: " + peer.status().message());
  } else {
    const std::string who = "client " + peer->ToString();
    {
      Session session(*context_, *peer, session_id);
      std::vector<uint8_t> reply;
      std::string error;
      // A client that sent its last request within `request_poll` of our
      // previous reply is streaming: poll for its next one rather than sleep,
      // which saves the wake-up of this thread (15-20 us when its vCPU had
      // halted). Clients that pause longer are not polled for, so an idle
      // connection costs no CPU.
      const auto request_poll = options_.request_poll;
      bool streaming = false;
      Clock::time_point replied{};
      for (;;) {
        FrameHeader header;
        std::span<const uint8_t> body;
        const auto read = socket->ReadFrame(kMaxRequestBody, &header, &body, &error,
                                            streaming ? request_poll : std::chrono::microseconds::zero());
        streaming = request_poll > std::chrono::microseconds::zero() && Clock::now() - replied <= request_poll;
        if (read == FrameSocket::ReadResult::kClosed) break;
        if (read == FrameSocket::ReadResult::kError) {
          if (!stopping_) {
            ++protocol_errors_;
            Log(spdlog::level::warn, who + ": closing connection: " + error);
          }
          break;
        }
        Request request;
        if (ParseError e = ParseRequest(header, body, &request)) {
          ++protocol_errors_;
          Log(spdlog::level::warn,
              who + ": closing connection: bad " + OpcodeName(header.opcode) + " request: " + e.reason);
          break;
        }
        reply.clear();
        const bool keep = session.Handle(request, socket->TakeReceivedFd(), &reply, &error);
        std::string write_error;
        if (!reply.empty() && !socket->WriteAll(reply, -1, &write_error) && keep) {
          Log(spdlog::level::warn, who + ": closing connection: " + write_error);
          break;
        }
        replied = Clock::now();
        if (!keep) {
          ++protocol_errors_;
          Log(spdlog::level::warn, who + ": closing connection: " + OpcodeName(header.opcode) + ": " + error);
          break;
        }
      }
    }  // the session's pools are closed here, before the socket
  }
  {
    std::lock_guard lock(connections_mutex_);
    connection->fd = -1;
  }
  socket.reset();
  --open_connections_;
  connection->done = true;
}

nlohmann::json Server::Stats() {
  DaemonFigures figures;
  figures.epoch = epoch_;
  figures.capacity_bytes = options_.config.capacity;
  figures.connections = open_connections_;
  figures.connections_total = total_connections_;
  figures.protocol_errors = protocol_errors_;
  figures.refused_connections = refused_connections_;
  figures.refused_puts = refused_puts_;
  figures.tenant_by = TenantByName(options_.config.tenant_by);
  figures.backend = options_.config.backend;
  return StatsToJson(figures, governor_->Snapshot());
}

}  // namespace cleancache::daemon
