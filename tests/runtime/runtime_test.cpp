// The metrics registry's Prometheus text and the logger's two formats.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/log.hpp"
#include "runtime/metrics.hpp"

namespace herald {
namespace {

namespace json = boost::json;

TEST(metrics_format, shortest_decimal) {
  EXPECT_EQ(format_metric_value(0.0025), "0.0025");
  EXPECT_EQ(format_metric_value(0.0001), "0.0001");
  EXPECT_EQ(format_metric_value(0.00025), "0.00025");
  EXPECT_EQ(format_metric_value(0.1), "0.1");
  EXPECT_EQ(format_metric_value(0.1 + 0.2), "0.30000000000000004");  // exact, not rounded
  EXPECT_EQ(format_metric_value(1e-05), "1e-05");
  EXPECT_EQ(format_metric_value(0), "0");
  EXPECT_EQ(format_metric_value(1), "1");
  EXPECT_EQ(format_metric_value(2.5), "2.5");
  EXPECT_EQ(format_metric_value(10), "10");
  EXPECT_EQ(format_metric_value(123456789), "123456789");
  EXPECT_EQ(format_metric_value(-3.5), "-3.5");
  EXPECT_EQ(format_metric_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_metric_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_metric_value(std::nan("")), "NaN");
  // Every value reads back as the same double.
  for (double v : latency_buckets()) EXPECT_EQ(std::stod(format_metric_value(v)), v) << v;
}

std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
  return out;
}

TEST(metrics_render, histogram_buckets_are_conventional) {
  metrics_registry m;
  auto& h = m.get_histogram("test_latency_seconds", "Latency", {{"route", "x"}});
  h.observe(0.002);
  h.observe(0.003);
  h.observe(20);
  const std::string text = m.render();
  EXPECT_NE(text.find("# TYPE test_latency_seconds histogram\n"), std::string::npos) << text;
  EXPECT_NE(text.find("test_latency_seconds_bucket{route=\"x\",le=\"0.0025\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("test_latency_seconds_bucket{route=\"x\",le=\"0.005\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("test_latency_seconds_bucket{route=\"x\",le=\"10\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("test_latency_seconds_bucket{route=\"x\",le=\"+Inf\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("test_latency_seconds_sum{route=\"x\"} 20.005\n"), std::string::npos) << text;
  EXPECT_NE(text.find("test_latency_seconds_count{route=\"x\"} 3\n"), std::string::npos) << text;
  // No bound prints with binary noise ("0.0025000000000000001").
  for (const auto& line : lines_starting(text, "test_latency_seconds_bucket")) {
    const auto le = line.find("le=\"");
    ASSERT_NE(le, std::string::npos) << line;
    const std::string value = line.substr(le + 4, line.find('"', le + 4) - le - 4);
    EXPECT_LE(value.size(), 7u) << line;
  }
}

TEST(metrics_render, collectors_run_before_each_render) {
  metrics_registry m;
  int calls = 0;
  m.add_collector([&] { m.get_gauge("test_ready", "Ready").set(++calls % 2); });
  EXPECT_NE(m.render().find("test_ready 1\n"), std::string::npos);
  EXPECT_NE(m.render().find("test_ready 0\n"), std::string::npos);
  EXPECT_EQ(calls, 2);
}

// Everything the logger wrote to a temporary file.
class captured_log {
 public:
  captured_log() : file_(std::tmpfile()) {}
  ~captured_log() { std::fclose(file_); }
  std::FILE* file() { return file_; }
  std::vector<std::string> lines() {
    std::fflush(file_);
    std::rewind(file_);
    std::vector<std::string> out;
    std::string line;
    for (int c; (c = std::fgetc(file_)) != EOF;) {
      if (c == '\n') {
        out.push_back(line);
        line.clear();
      } else {
        line.push_back(static_cast<char>(c));
      }
    }
    return out;
  }

 private:
  std::FILE* file_;
};

TEST(log_format, text_lines_stay_key_value) {
  captured_log out;
  logger log(log_level::info, out.file(), false, log_format::text);
  log.info("http.request").kv("route", "GetRegisteredDevices").kv("status", 200).kv("ok", true).kv("note", "two words");
  log.debug("filtered").kv("x", 1);
  const auto lines = out.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(" level=info event=http.request route=GetRegisteredDevices status=200 ok=true note=\"two words\""),
            std::string::npos)
      << lines[0];
  EXPECT_EQ(lines[0].rfind("ts=", 0), 0u) << lines[0];
}

TEST(log_format, json_lines_parse_with_typed_values) {
  EXPECT_EQ(parse_log_format("json"), log_format::json);
  EXPECT_EQ(parse_log_format("text"), log_format::text);
  EXPECT_EQ(parse_log_format("logfmt"), std::nullopt);

  captured_log out;
  logger log(log_level::info, out.file(), false, log_format::json);
  log.notice("daemon.starting").kv("config", "/etc/herald/herald.yaml").kv("threads", 2).kv("clean", false)
      .kv("latency", 0.25).kv("count", 18446744073709551615ull).kv("delta", -5);
  log.warning("odd \"input\"").kv("text", std::string("line\nbreak\ttab\\ \x01 caf\xc3\xa9 bad\xff"));
  const auto lines = out.lines();
  ASSERT_EQ(lines.size(), 2u);

  const json::object first = json::parse(lines[0]).as_object();
  EXPECT_EQ(first.at("level").as_string(), "notice");
  EXPECT_EQ(first.at("event").as_string(), "daemon.starting");
  EXPECT_EQ(first.at("config").as_string(), "/etc/herald/herald.yaml");
  EXPECT_EQ(first.at("threads").as_int64(), 2);
  EXPECT_EQ(first.at("clean").as_bool(), false);
  EXPECT_DOUBLE_EQ(first.at("latency").to_number<double>(), 0.25);
  EXPECT_EQ(first.at("count").as_uint64(), 18446744073709551615ull);
  EXPECT_EQ(first.at("delta").as_int64(), -5);
  const std::string ts(first.at("ts").as_string());
  EXPECT_EQ(ts.size(), 24u) << ts;  // 2026-11-24T13:00:00.000Z
  EXPECT_EQ(ts.back(), 'Z') << ts;

  const json::object second = json::parse(lines[1]).as_object();  // escapes and invalid UTF-8 keep it valid JSON
  EXPECT_EQ(second.at("event").as_string(), "odd \"input\"");
  EXPECT_EQ(second.at("text").as_string(), "line\nbreak\ttab\\ \x01 caf\xc3\xa9 bad\xef\xbf\xbd");
}

}  // namespace
}  // namespace herald
