// Black-box tests of the herald binary as an operator meets it: a minimal
// configuration outside the source tree, run from an unrelated directory.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <chrono>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "config/config.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_server.hpp"

namespace herald::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

struct run_result {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs `herald args...` to completion with `cwd` as its working directory.
run_result run_herald(const std::string& cwd, const std::vector<std::string>& args, const std::string& log_file) {
  std::vector<std::string> argv{"/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", cwd, HERALD_TEST_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  child_process child(argv, log_file);
  run_result r;
  const auto code = child.wait(std::chrono::seconds(30));
  r.exit_code = code.value_or(-1);
  r.output = child.output();
  return r;
}

bool wait_ready(unsigned short port, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  http_client c("127.0.0.1", port);
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (c.request("GET", "/readyz").status == 200) return true;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

const std::string token = "minimal-test-token";

// redis.url and one token; the listen port is the only addition (tests run side by side).
std::string minimal_config(const redis_server& redis, unsigned short port) {
  return "server:\n  listen: 127.0.0.1:" + std::to_string(port) + "\nredis:\n  url: " + redis.url() +
         "\nauth:\n  tokens:\n    - name: crm\n      sha256: \"" + sha256_hex(token) +
         "\"\n      scopes: [devices.read, devices.write]\n      associate_id: 919\n";
}

class minimal_config_test : public ::testing::Test {
 protected:
  void SetUp() override {
    config_dir_ = make_temp_dir("herald-minimal-etc");
    work_dir_ = make_temp_dir("herald-minimal-cwd");  // empty: no config/, no locales/
    port_ = free_port();
    write_file(config_dir_ + "/herald.yaml", minimal_config(redis_, port_));
  }
  void TearDown() override {
    fs::remove_all(config_dir_);
    fs::remove_all(work_dir_);
  }

  redis_server redis_;
  std::string config_dir_;
  std::string work_dir_;
  unsigned short port_ = 0;
};

TEST_F(minimal_config_test, check_config_uses_the_built_in_catalogs_and_zones) {
  const auto r = run_herald(work_dir_, {"check-config", "--config", config_dir_ + "/herald.yaml"}, config_dir_ + "/check.log");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("configuration OK"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("catalogs: da, de, en, fr, nb, nl, nn, no, sv, built in"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("time-zone table: built in"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("directory: ~"), std::string::npos) << r.output;
}

// The delivery trace's bounds are configuration: out of range is exit 2
// naming the key, for check-config, serve and the trace command alike.
TEST_F(minimal_config_test, bad_trace_bounds_exit_2) {
  write_file(config_dir_ + "/bad.yaml", minimal_config(redis_, port_) + "trace:\n  max_events: 10001\n  max_age: 1h\n");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"check-config", "--config", config_dir_ + "/bad.yaml"},
        std::vector<std::string>{"serve", "--config", config_dir_ + "/bad.yaml"},
        std::vector<std::string>{"trace", "--config", config_dir_ + "/bad.yaml", "--device", "x"}}) {
    const auto r = run_herald(work_dir_, args, config_dir_ + "/bad.log");
    EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.output;
    EXPECT_NE(r.output.find("trace.max_events"), std::string::npos) << r.output;
  }
  write_file(config_dir_ + "/good.yaml", minimal_config(redis_, port_) + "trace:\n  max_events: 7\n  max_age: 2h\n");
  const auto ok = run_herald(work_dir_, {"check-config", "--config", config_dir_ + "/good.yaml"}, config_dir_ + "/good.log");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("max_events: 7"), std::string::npos) << ok.output;
  EXPECT_NE(ok.output.find("max_age: 2h"), std::string::npos) << ok.output;
}

TEST_F(minimal_config_test, serves_from_an_unrelated_directory) {
  std::vector<std::string> argv{"/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", work_dir_, HERALD_TEST_BINARY, "serve", "--config",
                                config_dir_ + "/herald.yaml"};
  child_process daemon(argv, config_dir_ + "/serve.log");
  ASSERT_TRUE(wait_for_port(port_, std::chrono::seconds(10))) << daemon.output();
  ASSERT_TRUE(wait_ready(port_)) << daemon.output();

  http_client client("127.0.0.1", port_);
  const std::map<std::string, std::string> headers{{"Authorization", "Bearer " + token},
                                                   {"Content-Type", "application/json; charset=utf-8"}};
  const std::string device =
      R"({"DeviceInfo":{"DeviceName":"Phone","DeviceIdentifier":"dev-1","PocketVersion":"10.2.1","Language":"nb-NO",)"
      R"("PNSHandle":"a1b2c3d4","Platform":"Apple","OSVersion":"iOS 17.1","TimeZoneId":261}})";
  auto r = client.request("POST", "/api/v1/Agents/Pocket/RegisterDeviceForPushNotification", device, headers);
  ASSERT_EQ(r.status, 204) << r.body;
  r = client.request("POST", "/api/v1/Agents/Pocket/GetRegisteredDevices", R"({"AssociateId":919})", headers);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("dev-1"), std::string::npos) << r.body;
  // Without the token: refused, so the one configured token is what let us in.
  r = client.request("POST", "/api/v1/Agents/Pocket/GetRegisteredDevices", R"({"AssociateId":919})",
                     {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 401) << r.body;

  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(std::chrono::seconds(15)), 0) << daemon.output();
}

// A locales.directory that is set but missing is still an error: an override is never silently ignored.
TEST_F(minimal_config_test, a_missing_override_is_an_error) {
  write_file(config_dir_ + "/herald.yaml", minimal_config(redis_, port_) + "locales:\n  directory: locales\n");
  const auto r = run_herald(work_dir_, {"check-config", "--config", config_dir_ + "/herald.yaml"}, config_dir_ + "/check.log");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(config_dir_ + "/locales: locales directory does not exist"), std::string::npos) << r.output;
}

// /metrics of a running daemon: build info, readiness, conventional bucket
// bounds; log.format json makes every log line a JSON object.
TEST_F(minimal_config_test, metrics_and_json_logs) {
  write_file(config_dir_ + "/herald.yaml", minimal_config(redis_, port_) + "log:\n  format: json\n  level: info\n");
  child_process daemon({HERALD_TEST_BINARY, "serve", "--config", config_dir_ + "/herald.yaml"}, config_dir_ + "/serve.log");
  ASSERT_TRUE(wait_for_port(port_, std::chrono::seconds(10))) << daemon.output();
  ASSERT_TRUE(wait_ready(port_)) << daemon.output();

  http_client client("127.0.0.1", port_);
  const auto version = run_herald(work_dir_, {"version"}, config_dir_ + "/version.log");
  ASSERT_EQ(version.exit_code, 0) << version.output;
  // "herald 0.1.0 (commit abcdef012345)"
  const auto open = version.output.find(" (commit ");
  ASSERT_NE(open, std::string::npos) << version.output;
  const std::string number = version.output.substr(7, open - 7);
  const std::string commit = version.output.substr(open + 9, version.output.find(')') - open - 9);
  EXPECT_FALSE(commit.empty()) << version.output;

  const auto r = client.request("GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  const std::string& m = r.body;
  EXPECT_NE(m.find("herald_build_info{version=\"" + number + "\",commit=\"" + commit + "\"} 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("\nherald_ready 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("herald_dependency_ready{dependency=\"redis\"} 1\n"), std::string::npos) << m;
  // The request latency histogram has observations by now; its bounds print as written.
  EXPECT_NE(m.find("herald_http_request_duration_seconds_bucket{le=\"0.0025\"}"), std::string::npos) << m;
  EXPECT_NE(m.find("herald_http_request_duration_seconds_bucket{le=\"0.0001\"}"), std::string::npos) << m;
  EXPECT_EQ(m.find("le=\"0.0025000000000000001\""), std::string::npos) << m;

  redis_.stop();  // readiness follows Redis
  bool saw_not_ready = false;
  for (int i = 0; i < 250 && !saw_not_ready; ++i) {
    saw_not_ready = client.request("GET", "/metrics").body.find("\nherald_ready 0\n") != std::string::npos;
    if (!saw_not_ready) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(saw_not_ready);
  redis_.start();

  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(std::chrono::seconds(15)), 0) << daemon.output();
  std::istringstream log(daemon.output());
  int lines = 0;
  bool saw_ready_event = false;
  for (std::string line; std::getline(log, line);) {
    ++lines;
    boost::system::error_code ec;
    const auto value = json::parse(line, ec);
    ASSERT_FALSE(ec) << "not JSON: " << line;
    ASSERT_TRUE(value.is_object()) << line;
    const auto& o = value.as_object();
    EXPECT_TRUE(o.contains("ts") && o.contains("level") && o.contains("event")) << line;
    if (o.at("event") == "daemon.ready") saw_ready_event = true;
  }
  EXPECT_GE(lines, 3);
  EXPECT_TRUE(saw_ready_event) << daemon.output();
}

// `herald token new`: a fresh token each time, an entry Herald accepts, and the token works.
TEST_F(minimal_config_test, token_new_prints_an_entry_that_authenticates_the_token) {
  const auto tokens_file = config_dir_ + "/tokens.yaml";
  // Names must differ (the configuration rejects a name used twice).
  const auto argv = [&](const std::string& name) {
    return std::vector<std::string>{"/bin/sh", "-c",
                                    "exec \"$0\" token new --name \"$2\" --scopes devices.read,devices.write --associate 919 >>\"$1\"",
                                    HERALD_TEST_BINARY, tokens_file, name};
  };
  child_process first(argv("ops"), config_dir_ + "/token1.log");
  ASSERT_EQ(first.wait(std::chrono::seconds(10)), 0) << first.output();
  child_process second(argv("ops-2"), config_dir_ + "/token2.log");
  ASSERT_EQ(second.wait(std::chrono::seconds(10)), 0) << second.output();

  // stderr: the token, once, on the line after the explanation.
  const auto token_of = [](const std::string& out) {
    const auto nl = out.find('\n');
    return out.substr(nl + 1, out.find('\n', nl + 1) - nl - 1);
  };
  const std::string t1 = token_of(first.output());
  const std::string t2 = token_of(second.output());
  EXPECT_EQ(t1.size(), 43u) << first.output();  // 32 random bytes, base64url
  EXPECT_NE(t1, t2);
  EXPECT_EQ(t1.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), std::string::npos) << t1;

  // stdout (appended to tokens.yaml): two entries with the tokens' SHA-256, never the tokens.
  write_file(config_dir_ + "/herald.yaml", "server:\n  listen: 127.0.0.1:" + std::to_string(port_) + "\nredis:\n  url: " + redis_.url() +
                                               "\nauth:\n  tokens_file: tokens.yaml\n");
  const config cfg = load_config_file(config_dir_ + "/herald.yaml");
  ASSERT_EQ(cfg.auth.tokens.size(), 2u);
  EXPECT_EQ(cfg.auth.tokens[0].name, "ops");
  EXPECT_EQ(cfg.auth.tokens[1].name, "ops-2");
  EXPECT_EQ(cfg.auth.tokens[0].sha256, sha256_digest(t1));
  EXPECT_EQ(cfg.auth.tokens[1].sha256, sha256_digest(t2));
  EXPECT_EQ(cfg.auth.tokens[0].scopes, (std::vector<std::string>{"devices.read", "devices.write"}));
  EXPECT_EQ(cfg.auth.tokens[0].associate_id, 919);
  std::ifstream file(tokens_file);
  const std::string stored((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_EQ(stored.find(t1), std::string::npos) << stored;

  child_process daemon({HERALD_TEST_BINARY, "serve", "--config", config_dir_ + "/herald.yaml"}, config_dir_ + "/serve.log");
  ASSERT_TRUE(wait_for_port(port_, std::chrono::seconds(10))) << daemon.output();
  ASSERT_TRUE(wait_ready(port_)) << daemon.output();
  http_client client("127.0.0.1", port_);
  const auto r = client.request("POST", "/api/v1/Agents/Pocket/GetRegisteredDevices", R"({"AssociateId":919})",
                                {{"Authorization", "Bearer " + t2}, {"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 200) << r.body;
  const auto wrong = client.request("POST", "/api/v1/Agents/Pocket/GetRegisteredDevices", R"({"AssociateId":919})",
                                    {{"Authorization", "Bearer " + t2 + "x"}, {"Content-Type", "application/json"}});
  EXPECT_EQ(wrong.status, 401) << wrong.body;
}

TEST_F(minimal_config_test, token_new_rejects_what_the_configuration_would) {
  const auto unknown_scope = run_herald(work_dir_, {"token", "new", "--name", "x", "--scopes", "devices.read,root"}, config_dir_ + "/t1.log");
  EXPECT_EQ(unknown_scope.exit_code, 2);
  EXPECT_NE(unknown_scope.output.find("--scopes[1]: unknown scope \"root\""), std::string::npos) << unknown_scope.output;
  const auto bad_associate = run_herald(work_dir_, {"token", "new", "--name", "x", "--scopes", "devices.read", "--associate", "abc"},
                                        config_dir_ + "/t2.log");
  EXPECT_EQ(bad_associate.exit_code, 2);
  EXPECT_NE(bad_associate.output.find("--associate: expected an integer"), std::string::npos) << bad_associate.output;
  const auto no_name = run_herald(work_dir_, {"token", "new", "--scopes", "devices.read"}, config_dir_ + "/t3.log");
  EXPECT_EQ(no_name.exit_code, 2);
  EXPECT_NE(no_name.output.find("--name is required"), std::string::npos) << no_name.output;
}

// The dead-letter stream as the broker writes it (<prefix>:deadletter, one
// field per attribute): listed newest first, filtered, shown, purged by age.
TEST_F(minimal_config_test, deadletter_list_show_purge) {
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const std::string old_id = std::to_string(now_ms - 3 * 24 * 3600 * 1000LL) + "-0";  // three days ago
  redis_.cli("XADD herald:deadletter " + old_id +
             " delivery alarm:A0:1:dev-0 kind alarm id A0 device dev-0 platform Apple reason BadDeviceToken status 400");
  redis_.cli("XADD herald:deadletter '*' delivery alarm:A1:1:dev-1 kind alarm id A1 device dev-1 platform Apple reason BadDeviceToken status 400");
  const std::string new_id = redis_.cli("XADD herald:deadletter '*' delivery message:M1:0:dev-2 kind message id M1 device dev-2 platform Android "
                                        "reason 'late: gave up retrying'");
  const std::string newest = new_id.substr(0, new_id.find('\n'));
  ASSERT_FALSE(newest.empty());
  const std::string config = config_dir_ + "/herald.yaml";

  auto list = run_herald(work_dir_, {"deadletter", "list", "--config", config}, config_dir_ + "/dl1.log");
  ASSERT_EQ(list.exit_code, 0) << list.output;
  const auto m1 = list.output.find("M1");
  const auto a1 = list.output.find("A1");
  const auto a0 = list.output.find("A0");
  ASSERT_TRUE(m1 != std::string::npos && a1 != std::string::npos && a0 != std::string::npos) << list.output;
  EXPECT_LT(m1, a1) << "newest first\n" << list.output;
  EXPECT_LT(a1, a0) << list.output;
  EXPECT_NE(list.output.find("late: gave up retrying"), std::string::npos) << list.output;
  EXPECT_NE(list.output.find("3 entries shown"), std::string::npos) << list.output;

  list = run_herald(work_dir_, {"deadletter", "list", "--config", config, "--since", "1d", "--reason", "BadDevice"}, config_dir_ + "/dl2.log");
  ASSERT_EQ(list.exit_code, 0) << list.output;
  EXPECT_NE(list.output.find("A1"), std::string::npos) << list.output;
  EXPECT_EQ(list.output.find("A0"), std::string::npos) << "older than --since\n" << list.output;
  EXPECT_EQ(list.output.find("M1"), std::string::npos) << "other reason\n" << list.output;

  const auto show = run_herald(work_dir_, {"deadletter", "show", "--config", config, newest}, config_dir_ + "/dl3.log");
  ASSERT_EQ(show.exit_code, 0) << show.output;
  EXPECT_NE(show.output.find("id: " + newest + "\n"), std::string::npos) << show.output;
  EXPECT_NE(show.output.find("delivery: message:M1:0:dev-2\n"), std::string::npos) << show.output;
  EXPECT_NE(show.output.find("platform: Android\n"), std::string::npos) << show.output;
  const auto missing = run_herald(work_dir_, {"deadletter", "show", "--config", config, "1-0"}, config_dir_ + "/dl4.log");
  EXPECT_EQ(missing.exit_code, 1) << missing.output;

  const auto purge = run_herald(work_dir_, {"deadletter", "purge", "--config", config, "--before", "2d"}, config_dir_ + "/dl5.log");
  ASSERT_EQ(purge.exit_code, 0) << purge.output;
  EXPECT_NE(purge.output.find("purged 1 entries"), std::string::npos) << purge.output;
  EXPECT_EQ(redis_.cli("XLEN herald:deadletter"), "2\n");

  const auto usage = run_herald(work_dir_, {"deadletter", "purge", "--config", config}, config_dir_ + "/dl6.log");
  EXPECT_EQ(usage.exit_code, 2) << usage.output;

  // Replay: dev-2 is not registered, so the entry is refused and stays.
  const auto gone = run_herald(work_dir_, {"deadletter", "replay", "--config", config, newest}, config_dir_ + "/dl7.log");
  EXPECT_EQ(gone.exit_code, 1) << gone.output;
  EXPECT_NE(gone.output.find(newest + " refused device_gone"), std::string::npos) << gone.output;
  EXPECT_EQ(redis_.cli("XLEN herald:deadletter"), "2\n");
  EXPECT_EQ(redis_.cli("EXISTS herald:work"), "0\n");
  const auto matching = run_herald(work_dir_, {"deadletter", "replay", "--config", config, "--all-matching", "--reason", "late"},
                                   config_dir_ + "/dl8.log");
  EXPECT_EQ(matching.exit_code, 1) << matching.output;  // one matched, none replayed
  EXPECT_NE(matching.output.find("0 replayed, 1 refused"), std::string::npos) << matching.output;
  for (const std::vector<std::string>& bad : {std::vector<std::string>{"deadletter", "replay", "--config", config},
                                              std::vector<std::string>{"deadletter", "replay", "--config", config, newest, "--all-matching"},
                                              std::vector<std::string>{"deadletter", "replay", "--config", config, newest, "--reason", "x"},
                                              std::vector<std::string>{"deadletter", "purge", "--config", config, "--before", "soon"}}) {
    const auto r = run_herald(work_dir_, bad, config_dir_ + "/dl9.log");
    EXPECT_EQ(r.exit_code, 2) << r.output;
  }
}

// An alarm to a device Herald cannot send to (no provider configured) and to
// one whose tags opt out: both are in the appointment's trace with the
// reason, the first also in its device's trace and the dead-letter stream.
TEST_F(minimal_config_test, trace_shows_why_a_device_got_nothing) {
  const std::string tokens = "auth:\n  tokens:\n    - name: crm\n      sha256: \"" + sha256_hex(token) +
                             "\"\n      scopes: [devices.read, devices.write, appointments.write]\n      associate_id: 919\n";
  write_file(config_dir_ + "/herald.yaml",
             "server:\n  listen: 127.0.0.1:" + std::to_string(port_) + "\nredis:\n  url: " + redis_.url() + "\n" + tokens);
  child_process daemon({HERALD_TEST_BINARY, "serve", "--config", config_dir_ + "/herald.yaml"}, config_dir_ + "/serve.log");
  ASSERT_TRUE(wait_for_port(port_, std::chrono::seconds(10))) << daemon.output();
  ASSERT_TRUE(wait_ready(port_)) << daemon.output();
  http_client client("127.0.0.1", port_);
  const std::map<std::string, std::string> headers{{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
  auto r = client.request("POST", "/api/v1/Agents/Pocket/RegisterDeviceForPushNotification",
                          R"({"DeviceInfo":{"DeviceName":"Phone","DeviceIdentifier":"phone-1","PocketVersion":"10.2.1","Language":"en-US",)"
                          R"("PNSHandle":"a1b2c3d4","Platform":"Apple","OSVersion":"iOS 17.1","TimeZoneId":261}})",
                          headers);
  ASSERT_EQ(r.status, 204) << r.body;
  // A second phone whose tags opt out of alarms.
  r = client.request("POST", "/api/v1/Agents/Pocket/RegisterDeviceForPushNotification",
                     R"({"DeviceInfo":{"DeviceName":"Tablet","DeviceIdentifier":"tablet-1","PocketVersion":"10.2.1","Language":"en-US",)"
                     R"("PNSHandle":"e5f6a7b8","Platform":"Google","OSVersion":"14","TimeZoneId":261}})",
                     headers);
  ASSERT_EQ(r.status, 204) << r.body;
  r = client.request("POST", "/api/v1/Agents/Pocket/SetPushNotificationTagsForDevice",
                     R"({"DeviceIdentifier":"tablet-1","Tags":"NewTicket"})", headers);
  ASSERT_EQ(r.status, 204) << r.body;
  // Due now: starts in 5 minutes, alarm 5 minutes before.
  const std::time_t start = std::time(nullptr) + 300;
  std::tm tm{};
  gmtime_r(&start, &tm);
  char start_text[32];
  std::strftime(start_text, sizeof start_text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  r = client.request("PUT", "/api/v1/appointments/APPT-1",
                     R"({"AssociateIds":[919],"Title":"Review","StartDate":")" + std::string(start_text) +
                         R"(","HasAlarm":true,"AlarmLeadTime":"00:05:00","Type":"Meeting","Private":false})",
                     headers);
  ASSERT_TRUE(r.status == 200 || r.status == 201) << r.status << " " << r.body;

  bool traced = false;
  for (int i = 0; i < 500 && !traced; ++i) {
    traced = redis_.cli("LLEN herald:trace:alarm:APPT-1") == "2\n";
    if (!traced) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(traced) << daemon.output();

  const auto by_appointment = run_herald(work_dir_, {"trace", "--config", config_dir_ + "/herald.yaml", "--appointment", "APPT-1"},
                                         config_dir_ + "/trace1.log");
  ASSERT_EQ(by_appointment.exit_code, 0) << by_appointment.output;
  EXPECT_NE(by_appointment.output.find("APPT-1"), std::string::npos) << by_appointment.output;
  EXPECT_NE(by_appointment.output.find("phone-1"), std::string::npos) << by_appointment.output;
  EXPECT_NE(by_appointment.output.find("no_provider"), std::string::npos) << by_appointment.output;
  EXPECT_NE(by_appointment.output.find("dead_letter"), std::string::npos) << by_appointment.output;
  EXPECT_NE(by_appointment.output.find("2 events for alarm:APPT-1"), std::string::npos) << by_appointment.output;
  // The tag-filtered tablet is there too, with why it got nothing.
  const auto tablet = by_appointment.output.find("tablet-1");
  ASSERT_NE(tablet, std::string::npos) << by_appointment.output;
  const std::string tablet_line = by_appointment.output.substr(tablet, by_appointment.output.find('\n', tablet) - tablet);
  EXPECT_NE(tablet_line.find("not_wanted"), std::string::npos) << tablet_line;
  EXPECT_NE(tablet_line.find("device tags name neither AppointmentAlarm nor All"), std::string::npos) << tablet_line;

  const auto by_device = run_herald(work_dir_, {"trace", "--config", config_dir_ + "/herald.yaml", "--device", "phone-1"},
                                    config_dir_ + "/trace2.log");
  ASSERT_EQ(by_device.exit_code, 0) << by_device.output;
  EXPECT_NE(by_device.output.find("APPT-1"), std::string::npos) << by_device.output;
  EXPECT_NE(by_device.output.find("no_provider"), std::string::npos) << by_device.output;
  // Bounded: the lists expire (7 days after their newest event).
  const auto ttl = std::stoll(redis_.cli("PTTL herald:trace:device:phone-1"));
  EXPECT_GT(ttl, 6LL * 86'400'000);
  EXPECT_LE(ttl, 7LL * 86'400'000);

  const auto dead = run_herald(work_dir_, {"deadletter", "list", "--config", config_dir_ + "/herald.yaml"}, config_dir_ + "/dl.log");
  EXPECT_NE(dead.output.find("APPT-1"), std::string::npos) << dead.output;

  const auto nothing = run_herald(work_dir_, {"trace", "--config", config_dir_ + "/herald.yaml", "--device", "other"}, config_dir_ + "/trace3.log");
  EXPECT_EQ(nothing.exit_code, 0) << nothing.output;
  EXPECT_NE(nothing.output.find("0 events for device:other"), std::string::npos) << nothing.output;
}

}  // namespace
}  // namespace herald::test
