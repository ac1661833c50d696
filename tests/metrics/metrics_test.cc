#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <string>

#include "cleancache/metrics_http.h"
#include "cleancache/prometheus_text.h"
#include "cleancache/version.h"
#include "support/prometheus_check.h"

namespace cleancache {
namespace {

using testing::CheckExposition;
using testing::HttpGet;

TEST(PrometheusText, WritesFamiliesTheCheckerAccepts) {
  PrometheusText out;
  out.BuildInfo("demo");
  out.Counter("demo_hits_total", "Hits.", 7);
  out.Gauge("demo_ratio", "A ratio.", 0.25);
  out.Family("demo_tenant_bytes", "Per tenant, with a help text holding a \\ and\na newline.",
             PrometheusText::Type::kGauge);
  out.Sample("demo_tenant_bytes", uint64_t{4096}, {{"tenant", "cgroup:/a \"quoted\" \\ path\nx"}});
  out.Sample("demo_tenant_bytes", uint64_t{0}, {{"tenant", "uid:0"}});
  const auto e = CheckExposition(out.text());
  ASSERT_TRUE(e.error.empty()) << e.error << "\n" << out.text();
  EXPECT_EQ(e.types.at("demo_hits_total"), "counter");
  EXPECT_EQ(e.Value("demo_hits_total"), 7);
  EXPECT_EQ(e.Value("demo_ratio"), 0.25);
  EXPECT_EQ(e.Value("demo_tenant_bytes{tenant=\"cgroup:/a \\\"quoted\\\" \\\\ path\\nx\"}"), 4096) << out.text();
  EXPECT_EQ(e.Value(std::string("demo_build_info{version=\"") + Version() + "\",revision=\"" + BuildRevision() + "\"}"),
            1)
      << out.text();
}

TEST(PrometheusText, RefusesWhatTheFormatForbids) {
  PrometheusText out;
  EXPECT_THROW(out.Family("demo_hits", "A counter without _total.", PrometheusText::Type::kCounter), std::logic_error);
  EXPECT_THROW(out.Family("9lives", "Starts with a digit.", PrometheusText::Type::kGauge), std::logic_error);
  EXPECT_THROW(out.Family("has-dash", "A dash.", PrometheusText::Type::kGauge), std::logic_error);
  EXPECT_TRUE(out.text().empty());
}

// The checker must catch what it is there for, or the scrape tests prove nothing.
TEST(ExpositionChecker, FindsEachKindOfMistake) {
  const std::pair<const char*, const char*> bad[] = {
      {"x 1\n", "before its # TYPE"},
      {"# TYPE x gauge\nx 1\n", "before its # HELP"},
      {"# HELP x h\n# TYPE x counter\nx 1\n", "_total"},
      {"# HELP x h\n# TYPE x gauge\nx one\n", "not a number"},
      {"# HELP x h\n# TYPE x gauge\nx{a=b} 1\n", "not quoted"},
      {"# HELP x h\n# TYPE x gauge\nx{a=\"b\\q\"} 1\n", "bad escape"},
      {"# HELP x h\n# TYPE x gauge\nx{1a=\"b\"} 1\n", "bad label name"},
      {"# HELP x h\n# TYPE x gauge\nx 1\nx 2\n", "series twice"},
      {"# HELP x h\n# TYPE x gauge\nx 1\n# HELP y h\n# TYPE x gauge\n", "TYPE"},
      {"# HELP x-y h\n", "bad metric name"},
      {"# HELP x h\n# TYPE x gauge\nx 1", "newline"},
      {"# HELP x h\n# TYPE x wobbly\n", "unknown type"},
  };
  for (auto [text, why] : bad) {
    const auto e = CheckExposition(text);
    EXPECT_NE(e.error.find(why), std::string::npos) << text << " -> '" << e.error << "'";
  }
}

TEST(MetricsHttpServer, ServesTheBodyAtSlashMetricsOnly) {
  std::atomic<int> calls{0};
  auto server = MetricsHttpServer::Start("127.0.0.1:0", [&calls] {
    PrometheusText out;
    out.Counter("demo_scrapes_total", "Scrapes.", static_cast<uint64_t>(++calls));
    return out.text();
  });
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  ASSERT_NE((*server)->port(), 0);
  auto reply = HttpGet((*server)->port(), "/metrics");
  EXPECT_EQ(reply.status, 200);
  EXPECT_NE(reply.content_type.find("text/plain; version=0.0.4"), std::string::npos) << reply.content_type;
  auto e = CheckExposition(reply.body);
  ASSERT_TRUE(e.error.empty()) << e.error;
  EXPECT_EQ(e.Value("demo_scrapes_total"), 1);
  EXPECT_EQ(CheckExposition(HttpGet((*server)->port(), "/metrics").body).Value("demo_scrapes_total"), 2);
  EXPECT_EQ(HttpGet((*server)->port(), "/").status, 404);
  EXPECT_EQ(HttpGet((*server)->port(), "/metricsx").status, 404);
  EXPECT_EQ(calls.load(), 2);
}

TEST(MetricsHttpServer, ListensOnLoopbackOnly) {
  for (const char* address : {"0.0.0.0:9000", "10.0.0.1:9000", "[::1]:9000", "localhost:9000", "127.0.0.1",
                              "127.0.0.1:http", "127.0.0.1:70000"}) {
    auto server = MetricsHttpServer::Start(address, [] { return std::string(); });
    EXPECT_FALSE(server.ok()) << address;
    EXPECT_EQ(server.status().code(), Status::Code::kInvalidArgument) << address;
  }
  // A port in use is a runtime failure, not bad input.
  auto first = MetricsHttpServer::Start("127.0.0.1:0", [] { return std::string(); });
  ASSERT_TRUE(first.ok());
  auto second = MetricsHttpServer::Start("127.0.0.1:" + std::to_string((*first)->port()), [] { return std::string(); });
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kIOError) << second.status().ToString();
}

}  // namespace
}  // namespace cleancache
