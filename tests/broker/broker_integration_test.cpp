// The alarm broker end to end: real daemons, a real redis-server, the mock
// APNs server over TLS HTTP/2. Times are real: an alarm is scheduled a little
// in the future and the test waits (bounded) for the mock to receive it.
#include "tests/mocks/mock_push_server.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

#include "config/config.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_server.hpp"

namespace herald::test {
namespace {

using namespace std::chrono;
namespace json = boost::json;

const std::string admin_token = "broker-admin-token";
const std::string phone_b_token = "phone-b-token";  // bound to associate 5001

std::string hex_token(int n) {
  char buf[65];
  std::snprintf(buf, sizeof buf, "%064x", n + 0x1000);
  return buf;
}

std::string iso(system_clock::time_point t) {
  auto s = time_point_cast<seconds>(t);
  auto ms = duration_cast<milliseconds>(t - s).count();
  std::time_t tt = system_clock::to_time_t(s);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

// StartDate has whole seconds: schedule on second boundaries.
system_clock::time_point whole_second_after(milliseconds from_now) {
  return ceil<seconds>(system_clock::now() + from_now);
}

class broker_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("broker");
    const auto& pki = test_pki::shared();
    apns_ = std::make_unique<mock_apns_server>(pki);
    std::ofstream(dir_ + "/tokens.yaml") << "- name: admin\n  sha256: \"" << sha256_hex(admin_token)
                                         << "\"\n  scopes: [devices.read, devices.write, appointments.read, appointments.write, broker.run, messages.write, push.application.crm]\n";
    // A phone app's credential, bound to associate 5001.
    std::ofstream(dir_ + "/tokens.yaml", std::ios::app) << "- name: phone-b\n  sha256: \"" << sha256_hex(phone_b_token)
                                                        << "\"\n  scopes: [devices.read, devices.write]\n  associate_id: 5001\n";
  }

  std::string write_config(unsigned short port, const std::string& broker_extra) {
    const auto& pki = test_pki::shared();
    std::string path = dir_ + "/herald-" + std::to_string(port) + ".yaml";
    // HERALD_TEST_SERVER_THREADS: run the same tests with more server threads.
    const char* threads = std::getenv("HERALD_TEST_SERVER_THREADS");
    std::ofstream(path) << "server:\n  listen: 127.0.0.1:" << port << "\n  threads: " << (threads ? threads : "2") << "\n  shutdown_grace: 5s\n"
                        << "redis:\n  url: " << redis_.url() << "\n  key_prefix: b\n  reconnect_max: 200ms\n"
                        << "auth:\n  tokens_file: tokens.yaml\n"
                        << "apps:\n  pocket:\n    apns:\n      team_id: " << pki.apns_team_id << "\n      key_id: " << pki.apns_key_id
                        << "\n      key_file: " << pki.apns_p8_file << "\n      topic: " << pki.apns_topic
                        << "\n      environment: production\n      endpoint: " << apns_->endpoint() << "\n      ca_file: " << pki.ca_file
                        << "\n" << pocket_extra_ << extra_apps_ << providers_section() << "broker:\n" << broker_extra << "locales:\n  default_language: en\n  directory: " << HERALD_TEST_SOURCE_DIR
                        << "/config/locales\ntimezones:\n  default: Europe/Oslo\n  table_file: " << HERALD_TEST_SOURCE_DIR
                        << "/config/timezones.yaml\nlog:\n  level: info\n";
    return path;
  }

  // HERALD_TEST_PROVIDER_THREADS: run the same tests with providers.threads > 1.
  std::string providers_section() const {
    const char* env = std::getenv("HERALD_TEST_PROVIDER_THREADS");
    const std::string threads = provider_threads_.empty() ? (env ? env : "") : provider_threads_;
    return threads.empty() ? std::string() : "providers:\n  threads: " + threads + "\n";
  }

  struct daemon {
    unsigned short port;
    std::unique_ptr<child_process> proc;
    std::unique_ptr<http_client> client;
  };

  // `wrapper`: a command the daemon runs under (faketime ...).
  daemon start_daemon(const std::string& broker_extra = "  interval: 30s\n  max_lateness: 5m\n", std::vector<std::string> wrapper = {}) {
    daemon d;
    d.port = free_port();
    auto cfg = write_config(d.port, broker_extra);
    for (std::string arg : {std::string(HERALD_TEST_BINARY), std::string("serve"), std::string("--config"), cfg}) wrapper.push_back(arg);
    d.proc = std::make_unique<child_process>(wrapper,
                                             dir_ + "/herald-" + std::to_string(d.port) + ".log");
    EXPECT_TRUE(wait_for_port(d.port, seconds(10))) << d.proc->output();
    d.client = std::make_unique<http_client>("127.0.0.1", d.port);
    for (int i = 0; i < 500; ++i) {
      try {
        if (d.client->request("GET", "/readyz").status == 200) break;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(milliseconds(10));
    }
    return d;
  }

  std::map<std::string, std::string> auth() {
    return {{"Authorization", "Bearer " + admin_token}, {"Content-Type", "application/json"}};
  }

  void register_device(daemon& d, int associate, int n, const std::string& language = "en-US", int tz = 460,
                       const std::string& platform = "Apple") {
    std::string body = R"({"AssociateId":)" + std::to_string(associate) + R"(,"DeviceInfo":{"DeviceName":"Phone","DeviceIdentifier":"dev-)" +
                       std::to_string(n) + R"(","Language":")" + language + R"(","PNSHandle":")" + hex_token(n) +
                       R"(","Platform":")" + platform + R"(","OSVersion":"17","TimeZoneId":)" + std::to_string(tz) + "}}";
    auto r = d.client->request("POST", "/api/v1/Agents/Pocket/RegisterDeviceForPushNotification", body, auth());
    ASSERT_EQ(r.status, 204) << r.body;
  }

  // An appointment whose alarm is due at `due` (lead time 15 minutes).
  void put_appointment(daemon& d, const std::string& id, std::vector<int> associates, system_clock::time_point due) {
    std::string ids;
    for (auto a : associates) ids += (ids.empty() ? "" : ",") + std::to_string(a);
    std::string body = R"({"AssociateIds":[)" + ids + R"(],"Title":"Board meeting","Location":"Room 4","StartDate":")" +
                       iso(due + minutes(15)) + R"(","HasAlarm":true,"AlarmLeadTime":"00:15:00","Type":"Meeting","Private":false})";
    auto r = d.client->request("PUT", "/api/v1/appointments/" + id, body, auth());
    ASSERT_TRUE(r.status == 200 || r.status == 201) << r.status << " " << r.body;
  }

  // Waits (bounded) until the mock has received `n` requests for `token`.
  bool wait_token(const std::string& token, std::size_t n, milliseconds timeout) {
    auto deadline = steady_clock::now() + timeout;
    while (steady_clock::now() < deadline) {
      if (apns_->count_for_token(token) >= n) return true;
      std::this_thread::sleep_for(milliseconds(2));
    }
    return false;
  }

  // Waits (bounded) until every entry of the work stream is acknowledged:
  // after that nothing can be sent again.
  bool wait_work_drained(milliseconds timeout) {
    auto deadline = steady_clock::now() + timeout;
    while (steady_clock::now() < deadline) {
      if (redis_.cli("XLEN b:work") == "0\n") return true;
      std::this_thread::sleep_for(milliseconds(20));
    }
    return false;
  }

  std::vector<recorded_request> requests_for(const std::string& token) {
    std::vector<recorded_request> out;
    for (auto& r : apns_->requests())
      if (r.device_token == token) out.push_back(r);
    return out;
  }

  redis_server redis_;
  std::string dir_;
  std::unique_ptr<mock_apns_server> apns_;
  std::string extra_apps_;  // more apps: entries under `apps:`
  std::string pocket_extra_;  // more providers of the pocket app (fcm:)
  std::string provider_threads_;  // providers.threads ("": the default, or HERALD_TEST_PROVIDER_THREADS)
};

TEST_F(broker_test, AlarmFiresOnItsTimerWithin100ms) {
  auto d = start_daemon();  // sweep interval 30 s: only the timer can fire it in time
  register_device(d, 919, 1, "nb-NO", 261);
  // A first alarm opens the provider connection (TCP, TLS, SETTINGS, the
  // first JWT), as a running daemon keeps it open: the bound below is the
  // timer's, not a cold start's (which a sanitizer build makes slow).
  register_device(d, 918, 2);
  put_appointment(d, "WARM", {918}, system_clock::now() + milliseconds(200));
  ASSERT_TRUE(wait_token(hex_token(2), 1, seconds(10))) << d.proc->output();
  auto due = whole_second_after(milliseconds(1200));
  put_appointment(d, "A1", {919}, due);
  ASSERT_TRUE(wait_token(hex_token(1), 1, seconds(10))) << d.proc->output();
  auto reqs = requests_for(hex_token(1));
  ASSERT_EQ(reqs.size(), 1u);
  auto lag = duration_cast<milliseconds>(reqs[0].received_at - due).count();
  EXPECT_GE(lag, 0);
  EXPECT_LT(lag, 100) << "received " << lag << " ms after due";
  EXPECT_EQ(reqs[0].status, 200);
  // The payload (docs/API.md), localized for nb-NO in Oslo.
  auto payload = json::parse(reqs[0].body);
  EXPECT_EQ(payload.at("aps").at("alert").at("title").as_string(), "Board meeting");
  std::string body(payload.at("aps").at("alert").at("body").as_string());
  EXPECT_NE(body.find("om 15 minutter"), std::string::npos) << body;
  EXPECT_NE(body.find("Room 4"), std::string::npos) << body;
  EXPECT_EQ(payload.at("aps").at("sound").as_string(), "default");
  EXPECT_EQ(payload.at("herald").at("appointment_id").as_string(), "A1");
  EXPECT_EQ(payload.at("herald").at("event").as_string(), "AppointmentAlarm");
}

TEST_F(broker_test, MovedAppointmentFiresAtTheNewTimeOnlyAndDeletedNever) {
  auto d = start_daemon();
  register_device(d, 919, 1);
  register_device(d, 920, 2);
  register_device(d, 921, 3);
  auto now = whole_second_after(milliseconds(800));
  put_appointment(d, "MOVE", {919}, now);
  put_appointment(d, "MOVE", {919}, now + milliseconds(2000));  // moved later
  put_appointment(d, "GONE", {920}, now);
  ASSERT_EQ(d.client->request("DELETE", "/api/v1/appointments/GONE", "", auth()).status, 204);
  put_appointment(d, "SENTINEL", {921}, now + milliseconds(3000));

  ASSERT_TRUE(wait_token(hex_token(3), 1, seconds(10)));  // the sentinel fired, so everything before it did too
  auto moved = requests_for(hex_token(1));
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_GE(duration_cast<milliseconds>(moved[0].received_at - (now + milliseconds(2000))).count(), 0);
  EXPECT_EQ(apns_->count_for_token(hex_token(2)), 0u);  // deleted: never fired

  // GET shows the current revision; DELETE again is 404.
  auto got = d.client->request("GET", "/api/v1/appointments/MOVE", "", auth());
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(json::parse(got.body).at("Revision").as_int64(), 2);
  EXPECT_EQ(d.client->request("DELETE", "/api/v1/appointments/GONE", "", auth()).status, 404);
}

TEST_F(broker_test, TwoDaemonsDeliverEachAlarmOncePerDevice) {
  auto a = start_daemon();
  auto b = start_daemon();
  for (int i = 0; i < 20; ++i) {
    register_device(a, 1000 + i, 2 * i);
    register_device(a, 1000 + i, 2 * i + 1);
  }
  register_device(a, 2000, 999);
  auto due = system_clock::now() + milliseconds(1200);
  for (int i = 0; i < 20; ++i) put_appointment(i % 2 ? a : b, "TWO-" + std::to_string(i), {1000 + i}, due);
  put_appointment(b, "TWO-SENTINEL", {2000}, due + milliseconds(700));
  ASSERT_TRUE(wait_token(hex_token(999), 1, seconds(10)));
  // The sentinel may go out through one daemon while the other still opens
  // its first connection: wait for every device, then for the work stream
  // to drain (nothing left that could still be sent), then count.
  for (int n = 0; n < 40; ++n) EXPECT_TRUE(wait_token(hex_token(n), 1, seconds(10))) << "device " << n;
  ASSERT_TRUE(wait_work_drained(seconds(10))) << redis_.cli("XPENDING b:work herald");
  for (int n = 0; n < 40; ++n) EXPECT_EQ(apns_->count_for_token(hex_token(n)), 1u) << "device " << n;
  EXPECT_TRUE(apns_->tokens_delivered_twice().empty());
}

TEST_F(broker_test, KilledDaemonsAlarmIsFinishedByAnotherWithoutDoubles) {
  const std::string fast = "  interval: 1s\n  max_lateness: 5m\n  takeover_after: 1s\n";
  auto a = start_daemon(fast);
  for (int n = 0; n < 30; ++n) register_device(a, 3000, n);
  apns_->set_response_delay(milliseconds(3000));  // a's sends hang in flight
  put_appointment(a, "KILL", {3000}, system_clock::now() + milliseconds(300));
  ASSERT_TRUE(apns_->wait_for_requests(1, seconds(10)));
  a.proc->signal(SIGKILL);
  a.proc->wait(seconds(5));
  auto seen_before_kill = apns_->request_count();
  apns_->set_response_delay(milliseconds(0));

  auto b = start_daemon(fast);  // takes over a's pending work after takeover_after
  for (int n = 0; n < 30; ++n) ASSERT_TRUE(wait_token(hex_token(n), 1, seconds(15))) << "device " << n << " missed\n" << b.proc->output();
  for (int n = 0; n < 30; ++n) {
    auto reqs = requests_for(hex_token(n));
    ASSERT_GE(reqs.size(), 1u);
    // A repeat is only possible for a request a sent and never got an answer
    // for (the mock recorded it on arrival); it then carries the same apns-id.
    std::set<std::string> ids;
    for (auto& r : reqs) ids.insert(r.apns_id);
    EXPECT_EQ(ids.size(), 1u) << "device " << n << " got two different deliveries";
    EXPECT_LE(reqs.size(), 2u);
  }
  EXPECT_GE(seen_before_kill, 1u);
  // The killed daemon's consumer owns nothing any more and is removed from
  // the group (after two takeover periods idle).
  bool one_consumer = false;
  for (int i = 0; i < 1000 && !one_consumer; ++i) {
    one_consumer = redis_.cli("XINFO GROUPS b:work").find("consumers\n1\n") != std::string::npos;
    if (!one_consumer) std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_TRUE(one_consumer) << redis_.cli("XINFO CONSUMERS b:work herald") << b.proc->output();
}

TEST_F(broker_test, SigtermLetsTheBatchInFlightFinish) {
  auto d = start_daemon();
  for (int n = 0; n < 20; ++n) register_device(d, 3500, 100 + n);
  apns_->set_response_delay(milliseconds(1500));  // the sends are in flight when SIGTERM arrives
  put_appointment(d, "TERM", {3500}, system_clock::now() + milliseconds(300));
  ASSERT_TRUE(apns_->wait_for_requests(1, seconds(10)));
  d.proc->signal(SIGTERM);
  ASSERT_EQ(d.proc->wait(seconds(10)), 0) << d.proc->output();
  // Every device was answered and recorded by this daemon, and its work
  // entry acknowledged: nothing is left for a takeover.
  for (int n = 0; n < 20; ++n) {
    EXPECT_EQ(apns_->delivered_count_for_token(hex_token(100 + n)), 1u) << "device " << n;
    EXPECT_EQ(redis_.cli("GET b:delivery:alarm:TERM:1:dev-" + std::to_string(100 + n)), "delivered\n") << "device " << n;
  }
  EXPECT_EQ(redis_.cli("XLEN b:work"), "0\n");
  EXPECT_NE(d.proc->output().find("broker.drained"), std::string::npos) << d.proc->output();
}

TEST_F(broker_test, ProviderThreadsSendOverEveryConnectionAndDrainOnSigterm) {
  provider_threads_ = "2";
  pocket_extra_ = "      connections: 4\n";  // still under apns: 2 shards of 2 connections
  auto d = start_daemon();
  for (int n = 0; n < 40; ++n) register_device(d, 3600 + n / 2, 200 + n);
  apns_->set_response_delay(milliseconds(800));  // the sends are in flight when SIGTERM arrives
  std::vector<int> associates;
  for (int a = 0; a < 20; ++a) associates.push_back(3600 + a);
  put_appointment(d, "THREADS", associates, system_clock::now() + milliseconds(300));
  ASSERT_TRUE(apns_->wait_for_requests(4, seconds(10))) << d.proc->output();
  d.proc->signal(SIGTERM);
  ASSERT_EQ(d.proc->wait(seconds(10)), 0) << d.proc->output();
  for (int n = 0; n < 40; ++n) {
    EXPECT_EQ(apns_->delivered_count_for_token(hex_token(200 + n)), 1u) << "device " << n;
    EXPECT_EQ(redis_.cli("GET b:delivery:alarm:THREADS:1:dev-" + std::to_string(200 + n)), "delivered\n") << "device " << n;
  }
  EXPECT_EQ(apns_->connection_count(), 4u);
  EXPECT_EQ(redis_.cli("XLEN b:work"), "0\n");
  EXPECT_NE(d.proc->output().find("provider_threads=2"), std::string::npos) << d.proc->output();
  EXPECT_NE(d.proc->output().find("broker.drained"), std::string::npos) << d.proc->output();
}

TEST_F(broker_test, DeviceOfAnIbmApplicationGetsItsAlarmThroughThatApplication) {
  const auto& pki = test_pki::shared();
  auto crm_options = mock_apns_options::from(pki);
  crm_options.topic = "com.example.crm";  // another bundle: the pocket app's topic would be refused
  mock_apns_server crm(crm_options);
  extra_apps_ = "  crm:\n    apns:\n      team_id: " + pki.apns_team_id + "\n      key_id: " + pki.apns_key_id + "\n      key_file: " +
                pki.apns_p8_file + "\n      topic: com.example.crm\n      environment: production\n      endpoint: " + crm.endpoint() +
                "\n      ca_file: " + pki.ca_file + "\n";
  auto d = start_daemon();
  register_device(d, 8000, 1);  // Pocket: the default app
  auto ibm = d.client->request("POST", "/imfpush/v1/apps/crm/devices",
                               R"({"deviceId":"dev-2","platform":"A","token":")" + hex_token(2) + R"(","userId":"8000"})", auth());
  ASSERT_EQ(ibm.status, 201) << ibm.body;
  put_appointment(d, "APPS", {8000}, system_clock::now() + milliseconds(300));
  ASSERT_TRUE(wait_token(hex_token(1), 1, seconds(10))) << d.proc->output();
  ASSERT_TRUE(crm.wait_for_requests(1, seconds(10))) << d.proc->output();
  EXPECT_EQ(apns_->delivered_count_for_token(hex_token(1)), 1u);
  EXPECT_EQ(apns_->count_for_token(hex_token(2)), 0u);
  EXPECT_EQ(crm.delivered_count_for_token(hex_token(2)), 1u);
  EXPECT_EQ(crm.count_for_token(hex_token(1)), 0u);
}

TEST_F(broker_test, EntryThatFailsEveryTimeIsDeadLetteredAfterMaxDeliveries) {
  // A retry entry whose device record never decodes: processing it fails
  // every time (the entry stays pending and is taken over again and again).
  redis_.cli("SET b:device:broken not-json");
  redis_.cli("XGROUP CREATE b:work herald 0 MKSTREAM");
  redis_.cli("XADD b:work '*' kind retry job_kind alarm id POISON rev 1 due " +
             std::to_string(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count()) + " device broken attempt 1");
  auto d = start_daemon("  interval: 1s\n  max_lateness: 5m\n  takeover_after: 300ms\n  max_deliveries: 3\n");
  bool buried = false;
  for (int i = 0; i < 1500 && !buried; ++i) {
    buried = redis_.cli("XLEN b:deadletter") == "1\n";
    if (!buried) std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_TRUE(buried) << d.proc->output();
  auto entry = redis_.cli("XRANGE b:deadletter - +");
  EXPECT_NE(entry.find("POISON"), std::string::npos) << entry;
  EXPECT_NE(entry.find("processing failed 3 times"), std::string::npos) << entry;
  EXPECT_EQ(redis_.cli("XLEN b:work"), "0\n");  // acknowledged: it stops coming back
  EXPECT_NE(d.proc->output().find("broker.entry_dead_lettered"), std::string::npos);
}

// A phone handed from associate 5000 to 5001 keeps its push token: 5001's
// app registers the DeviceIdentifier with that PNSHandle, the device moves,
// and the next alarms reach it as 5001's, not 5000's.
TEST_F(broker_test, PhoneHandedOverGetsTheNewOwnersAlarms) {
  auto d = start_daemon();
  register_device(d, 5000, 7);  // dev-7, token hex_token(7), registered by the service credential
  std::string body = R"({"DeviceInfo":{"DeviceName":"B's phone","DeviceIdentifier":"dev-7","Language":"en-US","PNSHandle":")" +
                     hex_token(7) + R"(","Platform":"Apple","OSVersion":"iOS 18","TimeZoneId":460}})";
  auto moved = d.client->request("POST", "/api/v1/Agents/Pocket/RegisterDeviceForPushNotification", body,
                                 {{"Authorization", "Bearer " + phone_b_token}, {"Content-Type", "application/json"}});
  ASSERT_EQ(moved.status, 204) << moved.body;
  auto a_list = d.client->request("POST", "/api/v1/Agents/Pocket/GetRegisteredDevices", R"({"AssociateId":5000})", auth());
  EXPECT_EQ(json::parse(a_list.body).as_array().size(), 0u) << a_list.body;
  put_appointment(d, "HANDOVER-A", {5000}, system_clock::now() + milliseconds(200));
  put_appointment(d, "HANDOVER-B", {5001}, system_clock::now() + milliseconds(400));
  ASSERT_TRUE(wait_token(hex_token(7), 1, seconds(10))) << d.proc->output();
  // A's alarm was due first, so it was handled before B's reached the mock:
  // had the device still been A's, its notification would be here too.
  auto reqs = requests_for(hex_token(7));
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(json::parse(reqs[0].body).at("herald").at("appointment_id").as_string(), "HANDOVER-B");
}

TEST_F(broker_test, GoneDeviceIsRemoved) {
  auto d = start_daemon();
  register_device(d, 4000, 1);
  register_device(d, 4000, 2);
  auto ts = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count() + 1000;
  apns_->fail_token(hex_token(1), mock_fault::apns_unregistered(ts));
  put_appointment(d, "G1", {4000}, system_clock::now() + milliseconds(300));
  ASSERT_TRUE(wait_token(hex_token(1), 1, seconds(10)));
  ASSERT_TRUE(wait_token(hex_token(2), 1, seconds(10)));
  bool removed = false;
  for (int i = 0; i < 300 && !removed; ++i) {
    auto list = d.client->request("POST", "/api/v1/Agents/Pocket/GetRegisteredDevices", R"({"AssociateId":4000})", auth());
    removed = json::parse(list.body).as_array().size() == 1;
    if (!removed) std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_TRUE(removed) << d.proc->output();
}

TEST_F(broker_test, ServiceUnavailableThenSuccessIsDeliveredOnceAfterBackoff) {
  auto d = start_daemon();
  register_device(d, 5000, 1);
  apns_->fail_token(hex_token(1), mock_fault::apns_service_unavailable(1));
  put_appointment(d, "R1", {5000}, system_clock::now() + milliseconds(300));
  ASSERT_TRUE(wait_token(hex_token(1), 2, seconds(15))) << d.proc->output();
  auto reqs = requests_for(hex_token(1));
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].status, 503);
  EXPECT_EQ(reqs[1].status, 200);
  EXPECT_EQ(reqs[0].apns_id, reqs[1].apns_id);
  EXPECT_GE(duration_cast<milliseconds>(reqs[1].received_at - reqs[0].received_at).count(), 1000);
  EXPECT_EQ(apns_->delivered_count_for_token(hex_token(1)), 1u);
}

TEST_F(broker_test, RetryWaitingAcrossARestartIsRetried) {
  auto d = start_daemon();
  register_device(d, 6000, 1);
  apns_->fail_token(hex_token(1), mock_fault::apns_service_unavailable(3));
  put_appointment(d, "R2", {6000}, system_clock::now() + milliseconds(300));
  ASSERT_TRUE(wait_token(hex_token(1), 1, seconds(10)));
  // The mock records the request when it arrives; wait until herald has
  // persisted the retry (else the stop would leave the entry to a takeover).
  bool persisted = false;
  for (int i = 0; i < 1000 && !persisted; ++i) {
    persisted = redis_.cli("ZCARD b:retries").find('1') != std::string::npos;
    if (!persisted) std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_TRUE(persisted) << d.proc->output();
  d.proc->signal(SIGTERM);
  ASSERT_EQ(d.proc->wait(seconds(10)), 0) << d.proc->output();
  auto d2 = start_daemon();
  ASSERT_TRUE(wait_token(hex_token(1), 2, seconds(15))) << d2.proc->output();
  EXPECT_EQ(apns_->delivered_count_for_token(hex_token(1)), 1u);
}

TEST_F(broker_test, RunAppointmentAlarmBrokerAndSendPushNotification) {
  auto d = start_daemon();
  register_device(d, 7000, 1);
  // Due a moment ago: the on-demand pass sends it before answering.
  put_appointment(d, "NOW", {7000}, system_clock::now() - seconds(1));
  auto r = d.client->request("POST", "/api/v1/Agents/Pocket/RunAppointmentAlarmBroker", "", auth());
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_TRUE(wait_token(hex_token(1), 1, seconds(5)));
}

// `herald broker run-once` with no daemon running: one pass claims the due
// alarm and sends it, then the command exits 0 with a summary.
TEST_F(broker_test, BrokerRunOnceSendsWhatIsDueWithoutADaemon) {
  auto d = start_daemon();
  register_device(d, 7100, 71);
  const auto due = system_clock::now() + seconds(3);
  put_appointment(d, "ONCE", {7100}, due);
  d.proc->signal(SIGTERM);  // stopped before the alarm falls due
  ASSERT_EQ(d.proc->wait(seconds(10)), 0) << d.proc->output();
  std::this_thread::sleep_until(due + milliseconds(200));  // the alarm's due time, not a guess
  EXPECT_EQ(apns_->delivered_count_for_token(hex_token(71)), 0u);
  child_process once({HERALD_TEST_BINARY, "broker", "run-once", "--config", dir_ + "/herald-" + std::to_string(d.port) + ".yaml"},
                     dir_ + "/run-once.log");
  auto code = once.wait(seconds(30));
  ASSERT_TRUE(code.has_value()) << once.output();
  EXPECT_EQ(*code, 0) << once.output();
  EXPECT_NE(once.output().find("broker pass done: claimed=1 sent=1 late_dropped=0"), std::string::npos) << once.output();
  EXPECT_EQ(apns_->delivered_count_for_token(hex_token(71)), 1u);
  EXPECT_EQ(redis_.cli("GET b:delivery:alarm:ONCE:1:dev-71"), "delivered\n");
}

TEST_F(broker_test, HeraldSendPrintsOneResultLinePerDevice) {
  auto d = start_daemon();
  register_device(d, 9000, 1);
  std::string ms = R"({"AssociateId":9000,"DeviceInfo":{"DeviceIdentifier":"win-1","PNSHandle":"wns-token","Platform":"Microsoft"}})";
  ASSERT_EQ(d.client->request("POST", "/api/v1/Agents/Pocket/RegisterDeviceForPushNotification", ms, auth()).status, 204);
  child_process send({HERALD_TEST_BINARY, "send", "--config", dir_ + "/herald-" + std::to_string(d.port) + ".yaml", "--associate",
                      "9000", "--title", "Hello", "--body", "World", "--data", "k=v"},
                     dir_ + "/send.log");
  auto code = send.wait(seconds(20));
  ASSERT_TRUE(code.has_value()) << send.output();
  EXPECT_EQ(*code, 1) << send.output();  // not every device was delivered (Microsoft has no provider)
  auto out = send.output();
  EXPECT_NE(out.find("device=dev-1 platform=Apple outcome=delivered status=200"), std::string::npos) << out;
  EXPECT_NE(out.find("device=win-1 platform=Microsoft outcome=no_provider"), std::string::npos) << out;
  auto reqs = requests_for(hex_token(1));
  ASSERT_EQ(reqs.size(), 1u);
  auto payload = json::parse(reqs[0].body);
  EXPECT_EQ(payload.at("aps").at("alert").at("title").as_string(), "Hello");
  EXPECT_EQ(payload.at("k").as_string(), "v");

  child_process usage({HERALD_TEST_BINARY, "send", "--config", dir_ + "/herald-" + std::to_string(d.port) + ".yaml", "--title", "x"},
                      dir_ + "/usage.log");
  EXPECT_EQ(usage.wait(seconds(10)), 2);
}

TEST_F(broker_test, AlarmLaterThanMaxLatenessIsDroppedAndCounted) {
  auto d = start_daemon("  interval: 30s\n  max_lateness: 2s\n");
  register_device(d, 8000, 1);
  put_appointment(d, "LATE", {8000}, system_clock::now() - seconds(10));
  bool counted = false;
  for (int i = 0; i < 500 && !counted; ++i) {
    auto m = d.client->request("GET", "/metrics");
    counted = m.body.find("herald_broker_alarms_late_dropped_total 1") != std::string::npos;
    if (!counted) std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_TRUE(counted) << d.proc->output();
  EXPECT_EQ(apns_->count_for_token(hex_token(1)), 0u);
}

TEST_F(broker_test, SlowProviderWithTwoDaemonsIsNotTakenOverAndEachAlarmSentOnce) {
  // The provider answers after 5 s, takeover_after is 2 s and both daemons
  // sweep every second: without lease renewal the second daemon would take
  // over the first one's entries mid-send and send them again.
  const std::string cfg = "  interval: 1s\n  max_lateness: 5m\n  takeover_after: 2s\n";
  auto a = start_daemon(cfg);
  auto b = start_daemon(cfg);
  for (int i = 0; i < 10; ++i) register_device(a, 11000 + i, 200 + i);
  apns_->set_response_delay(milliseconds(5000));
  auto due = system_clock::now() + milliseconds(800);
  for (int i = 0; i < 10; ++i) put_appointment(i % 2 ? a : b, "SLOW-" + std::to_string(i), {11000 + i}, due);
  for (int i = 0; i < 10; ++i) {
    auto deadline = steady_clock::now() + seconds(30);
    while (apns_->delivered_count_for_token(hex_token(200 + i)) < 1 && steady_clock::now() < deadline)
      std::this_thread::sleep_for(milliseconds(20));
    ASSERT_EQ(apns_->delivered_count_for_token(hex_token(200 + i)), 1u) << "device " << i << "\n" << a.proc->output();
  }
  ASSERT_TRUE(wait_work_drained(seconds(20))) << redis_.cli("XPENDING b:work herald");
  for (int i = 0; i < 10; ++i) EXPECT_EQ(apns_->count_for_token(hex_token(200 + i)), 1u) << "device " << i;
  EXPECT_TRUE(apns_->tokens_delivered_twice().empty());
  EXPECT_EQ(a.proc->output().find("broker.takeover"), std::string::npos) << a.proc->output();
  EXPECT_EQ(b.proc->output().find("broker.takeover"), std::string::npos) << b.proc->output();
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(redis_.cli("GET b:delivery:alarm:SLOW-" + std::to_string(i) + ":1:dev-" + std::to_string(200 + i)), "delivered\n");
}

TEST_F(broker_test, AppointmentForAThousandAssociatesIsDeliveredOncePerDeviceInBoundedScripts) {
  auto d = start_daemon();
  register_device(d, 1, 0);  // the record the script below copies
  // 1,000 associates (the API's bound per appointment) x 2 devices, written
  // straight into Redis in the registry's layout.
  std::ofstream(dir_ + "/devices.lua") << R"lua(
local tmpl = redis.call('GET', KEYS[1])
for a = 1, 1000 do
  for k = 0, 1 do
    local n = 2 * a + k
    local id = 'big-' .. n
    local rec = tmpl:gsub('"DeviceIdentifier":"[^"]*"', '"DeviceIdentifier":"' .. id .. '"')
                    :gsub('"PNSHandle":"[^"]*"', '"PNSHandle":"' .. string.format('%064x', n + 0x100000) .. '"')
                    :gsub('"AssociateId":%d+', '"AssociateId":' .. (20000 + a))
    redis.call('SET', 'b:device:' .. id, rec)
    redis.call('HSET', 'b:associate:' .. (20000 + a) .. ':devices', id, rec)
    redis.call('SADD', 'b:devices', id)
  end
end
return 'ok'
)lua";
  ASSERT_EQ(redis_.cli("--eval " + dir_ + "/devices.lua b:device:dev-0"), "ok\n");
  std::vector<int> associates;
  for (int a = 1; a <= 1000; ++a) associates.push_back(20000 + a);
  put_appointment(d, "BIG", associates, system_clock::now() + milliseconds(1000));
  auto deadline = steady_clock::now() + seconds(60);
  while (apns_->delivered_count() < 2000 && steady_clock::now() < deadline) std::this_thread::sleep_for(milliseconds(20));
  ASSERT_EQ(apns_->delivered_count(), 2000u) << d.proc->output();
  ASSERT_TRUE(wait_work_drained(seconds(10)));
  EXPECT_TRUE(apns_->tokens_delivered_twice().empty());
  char token[65];
  for (int n : {2, 3, 1000, 2001}) {
    std::snprintf(token, sizeof token, "%064x", n + 0x100000);
    EXPECT_EQ(apns_->count_for_token(token), 1u) << n;
  }
  auto out = d.proc->output();
  EXPECT_EQ(out.find("broker.pass_failed"), std::string::npos) << out;
  EXPECT_NE(out.find("event=alarm.sent appointment=BIG"), std::string::npos) << out;
}

TEST_F(broker_test, DaemonWhoseClockIsThirtySecondsFastDecidesOnRedisTime) {
  // libfaketime moves the daemon's clocks 30 s ahead. Its alarms must still
  // fire at their due time (Redis time), and a message queued at Redis time
  // "now" (as a correct daemon does) must not look 30 s late to it. FCM:
  // its mock accepts a token signed up to 60 s ahead (the APNs mock: 1 s).
#if defined(__SANITIZE_ADDRESS__)
  // libfaketime is an LD_PRELOAD library; ASan's runtime must come first in
  // the library list and refuses to start behind it.
  GTEST_SKIP() << "libfaketime cannot be preloaded into an ASan build";
#endif
  const auto& pki = test_pki::shared();
  mock_fcm_server fcm(pki);
  pocket_extra_ = "    fcm:\n      service_account_file: " + pki.fcm_service_account_file + "\n      endpoint: " + fcm.endpoint() +
                  "\n      ca_file: " + pki.ca_file + "\n";
  auto d = start_daemon("  interval: 30s\n  max_lateness: 10s\n", {"/usr/bin/faketime", "-f", "+30s"});
  register_device(d, 12000, 1, "en-US", 460, "Google");
  register_device(d, 12001, 2, "en-US", 460, "Google");
  auto now_ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  std::ofstream(dir_ + "/message.json") << R"({"associate_ids":[12001],"device_identifiers":[],"platforms":[],"tags":[],"app_id":"",)"
                                        << R"("title":"Hello","body":"on time","url":"","silent":false,"ttl":0,"data":{},"event":"Message"})";
  ASSERT_EQ(redis_.cli("-x SET b:message:SKEW < " + dir_ + "/message.json"), "OK\n");
  redis_.cli("XADD b:work '*' kind message id SKEW due " + std::to_string(now_ms));
  auto due = whole_second_after(milliseconds(3000));  // already "past" on the daemon's own clock
  put_appointment(d, "SKEW", {12000}, due);
  ASSERT_TRUE(fcm.wait_for_requests(2, seconds(15))) << d.proc->output();
  auto reqs = fcm.requests();
  ASSERT_EQ(reqs.size(), 2u);
  for (const auto& r : reqs) {
    EXPECT_EQ(r.status, 200);
    if (r.device_token != hex_token(1)) continue;
    auto lag = duration_cast<milliseconds>(r.received_at - due).count();
    EXPECT_GE(lag, 0) << "the alarm fired " << -lag << " ms early";
    EXPECT_LT(lag, 1000);
  }
  EXPECT_EQ(fcm.delivered_count_for_token(hex_token(2)), 1u) << "the message was dropped as late\n" << d.proc->output();
  auto out = d.proc->output();
  EXPECT_EQ(out.find("alarm.late_dropped"), std::string::npos) << out;
}

}  // namespace
}  // namespace herald::test
