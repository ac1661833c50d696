#include "cli/log_setup.h"

#include <syslog.h>
#include <unistd.h>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/sinks/systemd_sink.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace cleancache::cli {

Status ParseLogTarget(std::string_view text, LogSettings* settings) {
  if (text == "auto") {
    settings->target = LogTarget::kAuto;
  } else if (text == "stderr") {
    settings->target = LogTarget::kStderr;
  } else if (text == "syslog") {
    settings->target = LogTarget::kSyslog;
  } else if (text == "journal") {
    settings->target = LogTarget::kJournal;
  } else if (text.starts_with("file:") && text.size() > 5) {
    std::string path(text.substr(5));
    // A background mount changes to / once mounted: keep the file it named.
    if (path.front() != '/') {
      char* cwd = getcwd(nullptr, 0);
      if (cwd == nullptr) return Status::IOError(std::string("cannot resolve '") + path + "': " + std::strerror(errno));
      path = std::string(cwd) + "/" + path;
      free(cwd);
    }
    settings->target = LogTarget::kFile;
    settings->file = std::move(path);
  } else {
    return Status::InvalidArgument("'" + std::string(text) +
                                   "' is not one of auto, stderr, syslog, journal, file:PATH");
  }
  return Status::Ok();
}

Status ParseLogLevel(std::string_view text, LogSettings* settings) {
  if (text == "error") {
    settings->level = spdlog::level::err;
  } else if (text == "warn") {
    settings->level = spdlog::level::warn;
  } else if (text == "info") {
    settings->level = spdlog::level::info;
  } else if (text == "debug") {
    settings->level = spdlog::level::debug;
  } else {
    return Status::InvalidArgument("'" + std::string(text) + "' is not one of error, warn, info, debug");
  }
  return Status::Ok();
}

const char* LogTargetName(LogTarget target) {
  switch (target) {
    case LogTarget::kAuto: return "auto";
    case LogTarget::kStderr: return "stderr";
    case LogTarget::kSyslog: return "syslog";
    case LogTarget::kJournal: return "journal";
    case LogTarget::kFile: return "file";
  }
  return "?";
}

LogTarget ResolveLogTarget(LogTarget requested, bool background, const GetEnv& getenv) {
  if (requested != LogTarget::kAuto) return requested;
  // systemd sets INVOCATION_ID for every unit it runs and JOURNAL_STREAM when
  // stdout/stderr go to the journal (systemd.exec(5)).
  auto set = [&](const char* name) {
    const char* value = getenv(name);
    return value != nullptr && *value != '\0';
  };
  if (set("JOURNAL_STREAM") || set("INVOCATION_ID")) return LogTarget::kJournal;
  return background ? LogTarget::kSyslog : LogTarget::kStderr;
}

Result<spdlog::sink_ptr> MakeLogSink(LogTarget resolved, const LogSettings& settings, const std::string& identity) {
  spdlog::sink_ptr sink;
  std::string pattern = "[%l] %n: %v";
  switch (resolved) {
    case LogTarget::kAuto:
    case LogTarget::kStderr: sink = std::make_shared<spdlog::sinks::stderr_sink_mt>(); break;
    case LogTarget::kSyslog:
      // syslog adds the time and host; LOG_PID the process id.
      sink = std::make_shared<spdlog::sinks::syslog_sink_mt>(identity, LOG_PID, LOG_DAEMON, true);
      break;
    case LogTarget::kJournal: sink = std::make_shared<spdlog::sinks::systemd_sink_mt>(identity, true); break;
    case LogTarget::kFile: try { sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(settings.file, false);
      } catch (const spdlog::spdlog_ex& e) {
        return Status::IOError("log file '" + settings.file + "': " + e.what());
      }
      pattern = "%Y-%m-%dT%H:%M:%S.%e [%P] [%l] %n: %v";
      break;
  }
  sink->set_formatter(std::make_unique<spdlog::pattern_formatter>(pattern));
  return sink;
}

std::shared_ptr<spdlog::logger> MakeLogger(const std::string& name, spdlog::sink_ptr sink,
                                           const LogSettings& settings) {
  auto dist = std::make_shared<spdlog::sinks::dist_sink_mt>();
  dist->add_sink(std::move(sink));
  auto logger = std::make_shared<spdlog::logger>(name, std::move(dist));
  logger->set_level(settings.level);
  // Few lines, each of which may be the last before a crash or an unmount.
  logger->flush_on(spdlog::level::trace);
  return logger;
}

void SwitchSink(spdlog::logger& logger, spdlog::sink_ptr sink) {
  // MakeLogger's only sink is the dist_sink whose contents are swapped.
  auto* dist = dynamic_cast<spdlog::sinks::dist_sink_mt*>(logger.sinks().front().get());
  if (dist != nullptr) dist->set_sinks({std::move(sink)});
}

}  // namespace cleancache::cli
