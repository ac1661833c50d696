#include "daemon_harness.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <sys/stat.h>

#include <spdlog/sinks/base_sink.h>

#include <filesystem>

namespace cleancache::testing {

// Keeps each line the server logs, with its level: "[warning] text".
class DaemonHarness::LineSink : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  explicit LineSink(DaemonHarness* harness) : harness_(harness) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const auto level = spdlog::level::to_string_view(msg.level);
    std::string line =
        "[" + std::string(level.data(), level.size()) + "] " + std::string(msg.payload.data(), msg.payload.size());
    std::lock_guard lock(harness_->log_mutex_);
    harness_->log_.push_back(std::move(line));
  }
  void flush_() override {}

 private:
  DaemonHarness* harness_;
};

daemon::DaemonConfig DaemonHarness::DefaultConfig() {
  daemon::DaemonConfig config;
  config.capacity = 64ull << 20;
  config.backend = "zcache:segment=64K";
  config.tenant_by = daemon::TenantBy::kProcess;
  return config;
}

DaemonHarness::DaemonHarness(daemon::DaemonConfig config, daemon::StoreFactory factory, bool start,
                             std::chrono::microseconds request_poll)
    : config_(std::move(config)), factory_(std::move(factory)), request_poll_(request_poll) {
  char pattern[] = "/tmp/cc-daemon-XXXXXX";
  const char* dir = ::mkdtemp(pattern);
  if (dir == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = dir;
  ::chmod(dir, 0755);  // tests may connect as a second uid
  socket_ = dir_ + "/tmem.sock";
  config_.socket_path = socket_;
  if (start) Start();
}

DaemonHarness::~DaemonHarness() {
  Stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string DaemonHarness::Spec(const std::string& extra) const {
  return "tmem:" + socket_ + "?timeout_ms=5000&reconnect_ms=0" + (extra.empty() ? "" : "&" + extra);
}

void DaemonHarness::Stop() {
  if (server_) server_->Stop();
  server_.reset();
}

void DaemonHarness::Start() {
  daemon::ServerOptions options;
  options.config = config_;
  options.store_factory = factory_;
  options.rebalance_interval = std::chrono::milliseconds(100);
  options.request_poll = request_poll_;
  options.logger = std::make_shared<spdlog::logger>("cleancached", std::make_shared<LineSink>(this));
  auto server = daemon::Server::Start(std::move(options));
  if (!server.ok()) throw std::runtime_error("daemon did not start: " + server.status().ToString());
  server_ = std::move(*server);
}

bool DaemonHarness::LogContains(const std::string& text) { return Log().find(text) != std::string::npos; }

std::string DaemonHarness::Log() {
  std::lock_guard lock(log_mutex_);
  std::string all;
  for (const auto& line : log_) all += line + "\n";
  return all;
}

}  // namespace cleancache::testing
