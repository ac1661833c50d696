#include "cleancache/prometheus_text.h"

#include <fmt/format.h>

#include <stdexcept>

#include "cleancache/version.h"

namespace cleancache {
namespace {

bool ValidName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void PrometheusText::Family(std::string_view name, std::string_view help, Type type) {
  if (!ValidName(name)) throw std::logic_error(fmt::format("metric name '{}' is not valid", name));
  if (type == Type::kCounter && !name.ends_with("_total")) {
    throw std::logic_error(fmt::format("counter '{}' must end in _total", name));
  }
  // HELP text escapes \ and newlines (not quotes).
  std::string escaped;
  for (char c : help) {
    if (c == '\\')
      escaped += "\\\\";
    else if (c == '\n')
      escaped += "\\n";
    else
      escaped += c;
  }
  out_ +=
      fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escaped, name, type == Type::kCounter ? "counter" : "gauge");
}

void PrometheusText::Start(std::string_view name, const Labels& labels) {
  out_ += name;
  if (labels.empty()) return;
  out_ += '{';
  for (size_t i = 0; i < labels.size(); ++i) {
    out_ += fmt::format("{}{}=\"{}\"", i == 0 ? "" : ",", labels[i].first, EscapeLabelValue(labels[i].second));
  }
  out_ += '}';
}

void PrometheusText::Sample(std::string_view name, double value, const Labels& labels) {
  Start(name, labels);
  out_ += fmt::format(" {}\n", value);
}

void PrometheusText::Sample(std::string_view name, uint64_t value, const Labels& labels) {
  Start(name, labels);
  out_ += fmt::format(" {}\n", value);
}

void PrometheusText::Counter(std::string_view name, std::string_view help, uint64_t value) {
  Family(name, help, Type::kCounter);
  Sample(name, value);
}

void PrometheusText::Gauge(std::string_view name, std::string_view help, double value) {
  Family(name, help, Type::kGauge);
  Sample(name, value);
}

void PrometheusText::BuildInfo(std::string_view prefix) {
  const std::string name = fmt::format("{}_build_info", prefix);
  Family(name, "Version and source revision of this build; always 1.", Type::kGauge);
  Sample(name, uint64_t{1}, {{"version", Version()}, {"revision", BuildRevision()}});
}

}  // namespace cleancache
