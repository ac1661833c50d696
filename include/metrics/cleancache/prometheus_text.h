// Building Prometheus text exposition (format 0.0.4) without getting its
// rules wrong: every family gets `# HELP` and `# TYPE` once, before its
// samples; counters are named `..._total`; label values are escaped.
//
// Contract: a PrometheusText is a plain value filled by one thread. Family()
// must precede the samples of that family; a counter family's name must end
// in `_total` and a metric name must match [a-zA-Z_:][a-zA-Z0-9_:]*, else
// Family() throws std::logic_error (a programming error, found by the tests
// that scrape every family). BuildInfo() adds `<prefix>_build_info` with the
// version and revision of this build (cleancache/version.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cleancache {

class PrometheusText {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;
  enum class Type { kCounter, kGauge };

  void Family(std::string_view name, std::string_view help, Type type);
  void Sample(std::string_view name, double value, const Labels& labels = {});
  void Sample(std::string_view name, uint64_t value, const Labels& labels = {});
  // Family + one sample.
  void Counter(std::string_view name, std::string_view help, uint64_t value);
  void Gauge(std::string_view name, std::string_view help, double value);
  // `<prefix>_build_info{version="...",revision="..."} 1`.
  void BuildInfo(std::string_view prefix);

  const std::string& text() const { return out_; }

 private:
  void Start(std::string_view name, const Labels& labels);
  std::string out_;
};

// A label value with \, " and newlines escaped as the format asks.
std::string EscapeLabelValue(std::string_view value);

}  // namespace cleancache
