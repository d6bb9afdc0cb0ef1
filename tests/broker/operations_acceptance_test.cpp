// Operating Herald end to end: the real daemon, a real redis-server, the mock
// APNs over TLS HTTP/2, and the one-shot commands an operator runs.
// - An alarm to an associate with a delivered, a tag-filtered and a gone
//   (410) device: `herald trace --appointment` shows all three with why.
// - A message rejected once is dead-lettered, listed, replayed through the
//   work stream and delivered exactly once; a second replay is refused.
#include "tests/mocks/mock_push_server.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_server.hpp"

namespace herald::test {
namespace {

using namespace std::chrono;

const std::string admin_token = "ops-admin-token";

std::string hex_token(int n) {
  char buf[65];
  std::snprintf(buf, sizeof buf, "%064x", n + 0x2000);
  return buf;
}

std::string iso(system_clock::time_point t) {
  const std::time_t tt = system_clock::to_time_t(time_point_cast<seconds>(t));
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

struct run_result {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// The line of `output` that contains `needle` ("" when none).
std::string line_with(const std::string& output, const std::string& needle) {
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line))
    if (line.find(needle) != std::string::npos) return line;
  return {};
}

class operations_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("ops");
    const auto& pki = test_pki::shared();
    apns_ = std::make_unique<mock_apns_server>(pki);
    std::ofstream(dir_ + "/tokens.yaml") << "- name: admin\n  sha256: \"" << sha256_hex(admin_token)
                                         << "\"\n  scopes: [devices.read, devices.write, appointments.write, messages.write, admin.read, admin.write]\n";
    port_ = free_port();
    config_ = dir_ + "/herald.yaml";
    std::ofstream(config_) << "server:\n  listen: 127.0.0.1:" << port_ << "\n  shutdown_grace: 2s\n"
                           << "redis:\n  url: " << redis_.url() << "\n  key_prefix: ops\n  reconnect_max: 200ms\n"
                           << "auth:\n  tokens_file: tokens.yaml\n"
                           << "apps:\n  pocket:\n    apns:\n      team_id: " << pki.apns_team_id << "\n      key_id: " << pki.apns_key_id
                           << "\n      key_file: " << pki.apns_p8_file << "\n      topic: " << pki.apns_topic
                           << "\n      environment: production\n      endpoint: " << apns_->endpoint() << "\n      ca_file: " << pki.ca_file
                           << "\nbroker:\n  interval: 30s\n  max_lateness: 5m\ntrace:\n  max_events: 20\n  max_age: 1h\nlog:\n  level: info\n";
    daemon_ = std::make_unique<child_process>(std::vector<std::string>{HERALD_TEST_BINARY, "serve", "--config", config_}, dir_ + "/herald.log");
    ASSERT_TRUE(wait_for_port(port_, seconds(10))) << daemon_->output();
    client_ = std::make_unique<http_client>("127.0.0.1", port_);
    bool ready = false;
    for (int i = 0; i < 500 && !ready; ++i) {
      try {
        ready = client_->request("GET", "/readyz").status == 200;
      } catch (const std::exception&) {
      }
      if (!ready) std::this_thread::sleep_for(milliseconds(10));
    }
    ASSERT_TRUE(ready) << daemon_->output();
  }

  std::map<std::string, std::string> auth() const {
    return {{"Authorization", "Bearer " + admin_token}, {"Content-Type", "application/json"}};
  }

  void register_device(int associate, const std::string& id, int token) {
    auto r = client_->request("POST", "/api/v1/Agents/Pocket/RegisterDeviceForPushNotification",
                              R"({"AssociateId":)" + std::to_string(associate) + R"(,"DeviceInfo":{"DeviceName":"Phone","DeviceIdentifier":")" + id +
                                  R"(","Language":"en-US","PNSHandle":")" + hex_token(token) +
                                  R"(","Platform":"Apple","OSVersion":"17","TimeZoneId":460}})",
                              auth());
    ASSERT_EQ(r.status, 204) << r.body;
  }

  run_result herald(std::vector<std::string> args) {
    std::vector<std::string> argv{HERALD_TEST_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    child_process child(argv, dir_ + "/cmd-" + std::to_string(++commands_) + ".log");
    run_result r;
    r.exit_code = child.wait(seconds(30)).value_or(-1);
    r.output = child.output();
    return r;
  }

  // Polls (bounded) until `done` holds.
  template <typename Predicate>
  bool eventually(Predicate done, milliseconds timeout = seconds(15)) {
    const auto deadline = steady_clock::now() + timeout;
    while (!done()) {
      if (steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(milliseconds(20));
    }
    return true;
  }

  redis_server redis_;
  std::string dir_, config_;
  unsigned short port_ = 0;
  int commands_ = 0;
  std::unique_ptr<mock_apns_server> apns_;
  std::unique_ptr<child_process> daemon_;
  std::unique_ptr<http_client> client_;
};

TEST_F(operations_test, trace_of_an_appointment_shows_why_each_device_got_what_it_got) {
  register_device(919, "phone-ok", 1);
  register_device(919, "tablet-tags", 2);
  register_device(919, "phone-gone", 3);
  auto tags = client_->request("POST", "/api/v1/Agents/Pocket/SetPushNotificationTagsForDevice",
                               R"({"DeviceIdentifier":"tablet-tags","Tags":"NewTicket"})", auth());
  ASSERT_EQ(tags.status, 204) << tags.body;
  const auto now_ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  apns_->fail_token(hex_token(3), mock_fault::apns_unregistered(now_ms));

  // Due in about a second: starts in 5 minutes and a second, alarm 5 minutes before.
  const auto start = ceil<seconds>(system_clock::now() + milliseconds(1200)) + minutes(5);
  auto put = client_->request("PUT", "/api/v1/appointments/APPT-OPS",
                              R"({"AssociateIds":[919],"Title":"Review","StartDate":")" + iso(start) +
                                  R"(","HasAlarm":true,"AlarmLeadTime":"00:05:00","Type":"Meeting","Private":false})",
                              auth());
  ASSERT_TRUE(put.status == 200 || put.status == 201) << put.status << " " << put.body;
  ASSERT_TRUE(eventually([&] { return redis_.cli("LLEN ops:trace:alarm:APPT-OPS") == "3\n"; })) << daemon_->output();
  EXPECT_EQ(apns_->delivered_count_for_token(hex_token(1)), 1u);
  EXPECT_EQ(apns_->count_for_token(hex_token(2)), 0u);  // tags said no: never sent

  const auto trace = herald({"trace", "--config", config_, "--appointment", "APPT-OPS"});
  ASSERT_EQ(trace.exit_code, 0) << trace.output;
  const auto ok = line_with(trace.output, "phone-ok");
  EXPECT_NE(ok.find("delivered"), std::string::npos) << trace.output;
  EXPECT_NE(ok.find("200"), std::string::npos) << ok;
  const auto tablet = line_with(trace.output, "tablet-tags");
  EXPECT_NE(tablet.find("not_wanted"), std::string::npos) << trace.output;
  EXPECT_NE(tablet.find("skipped"), std::string::npos) << tablet;
  EXPECT_NE(tablet.find("tags"), std::string::npos) << tablet;
  const auto gone = line_with(trace.output, "phone-gone");
  EXPECT_NE(gone.find("device_gone"), std::string::npos) << trace.output;
  EXPECT_NE(gone.find("removed"), std::string::npos) << gone;
  EXPECT_NE(gone.find("410"), std::string::npos) << gone;
  EXPECT_NE(gone.find("Unregistered"), std::string::npos) << gone;
  EXPECT_NE(trace.output.find("3 events for alarm:APPT-OPS"), std::string::npos) << trace.output;

  // The same through the admin REST route, and per device.
  auto rest = client_->request("GET", "/api/v1/admin/appointments/APPT-OPS/deliveries", "", auth());
  ASSERT_EQ(rest.status, 200) << rest.body;
  for (const char* needle : {"\"phone-ok\"", "\"tablet-tags\"", "\"phone-gone\"", "\"not_wanted\"", "\"device_gone\""})
    EXPECT_NE(rest.body.find(needle), std::string::npos) << needle << " in " << rest.body;
  const auto device = herald({"trace", "--config", config_, "--device", "phone-gone"});
  ASSERT_EQ(device.exit_code, 0) << device.output;
  EXPECT_NE(line_with(device.output, "APPT-OPS").find("Unregistered"), std::string::npos) << device.output;
  // Bounded by the configuration: trace.max_age 1h.
  const auto ttl = std::stoll(redis_.cli("PTTL ops:trace:device:phone-ok"));
  EXPECT_GT(ttl, 3'000'000);
  EXPECT_LE(ttl, 3'600'000);
}

TEST_F(operations_test, a_dead_lettered_message_is_listed_replayed_once_and_delivered_once) {
  register_device(920, "phone-dl", 4);
  apns_->fail_token(hex_token(4), mock_fault::apns(400, "BadMessageId"));  // a permanent rejection, once
  auto sent = client_->request("POST", "/api/v1/Agents/Pocket/SendPushNotification",
                               R"({"AssociateIds":[920],"Message":{"Title":"Hello","Message":"once"}})", auth());
  ASSERT_EQ(sent.status, 204) << sent.body;
  ASSERT_TRUE(eventually([&] { return redis_.cli("XLEN ops:deadletter") == "1\n"; })) << daemon_->output();
  EXPECT_EQ(apns_->count_for_token(hex_token(4)), 1u);
  EXPECT_EQ(apns_->delivered_count_for_token(hex_token(4)), 0u);

  const auto list = herald({"deadletter", "list", "--config", config_, "--reason", "BadMessageId", "--app", "default"});
  ASSERT_EQ(list.exit_code, 0) << list.output;
  const auto row = line_with(list.output, "phone-dl");
  ASSERT_FALSE(row.empty()) << list.output;
  const std::string id = row.substr(0, row.find(' '));
  const auto other_app = herald({"deadletter", "list", "--config", config_, "--app", "other-app"});
  EXPECT_EQ(line_with(other_app.output, "phone-dl"), "") << other_app.output;

  const auto replay = herald({"deadletter", "replay", "--config", config_, id});
  ASSERT_EQ(replay.exit_code, 0) << replay.output;
  EXPECT_NE(replay.output.find(id + " replayed"), std::string::npos) << replay.output;
  ASSERT_TRUE(eventually([&] { return apns_->delivered_count_for_token(hex_token(4)) >= 1; })) << daemon_->output();

  const auto again = herald({"deadletter", "replay", "--config", config_, id});
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_NE(again.output.find("already_replayed"), std::string::npos) << again.output;
  auto rest_again = client_->request("POST", "/api/v1/admin/deadletters/" + id + "/replay", "", auth());
  EXPECT_EQ(rest_again.status, 409) << rest_again.body;

  // Everything queued was processed: nothing left that could send again.
  ASSERT_TRUE(eventually([&] { return redis_.cli("XLEN ops:work") == "0\n"; })) << daemon_->output();
  EXPECT_EQ(apns_->delivered_count_for_token(hex_token(4)), 1u);
  EXPECT_EQ(apns_->count_for_token(hex_token(4)), 2u);  // the rejection and the replay
  EXPECT_EQ(redis_.cli("XLEN ops:deadletter"), "0\n");
  const auto trace = herald({"trace", "--config", config_, "--device", "phone-dl"});
  ASSERT_EQ(trace.exit_code, 0) << trace.output;
  EXPECT_NE(trace.output.find("dead_letter"), std::string::npos) << trace.output;
  EXPECT_NE(line_with(trace.output, "delivered").find("200"), std::string::npos) << trace.output;
}

}  // namespace
}  // namespace herald::test
