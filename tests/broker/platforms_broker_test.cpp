// Every platform reaches its phone, end to end: a real daemon and
// redis-server, the validating APNs, FCM, WNS and Web Push mocks on loopback.
// An appointment alarm for an associate with an iPhone, an Android phone, a
// Windows device and a browser arrives once on each, in the device's
// language; WNS and Web Push "gone" answers remove the registration; a Web
// registration pointing at an internal or plain-http address is refused;
// `herald send` reaches the Windows device and the browser too.
#include "tests/mocks/mock_platforms.hpp"
#include "tests/mocks/mock_push_server.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

#include "config/config.hpp"
#include "providers/jwt.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_server.hpp"

namespace herald::test {
namespace {

using namespace std::chrono;
namespace json = boost::json;

const std::string admin_token = "platforms-admin-token";

std::string iso(system_clock::time_point t) {
  auto s = time_point_cast<seconds>(t);
  std::time_t tt = system_clock::to_time_t(s);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.000Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

void write_private(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

class platforms_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("platforms");
    pki_ = test_pki::generate(dir_ + "/pki");  // own service account: the FCM mock rewrites its token_uri
    apns_ = std::make_unique<mock_apns_server>(pki_);
    fcm_ = std::make_unique<mock_fcm_server>(pki_);
    wns_ = std::make_unique<mock_wns_server>(pki_);
    auto vapid = signing_key::generate(signing_key::algorithm::es256);
    write_private(dir_ + "/vapid.pem", vapid.private_pem());
    mock_webpush_options wo;
    wo.cert_file = pki_.server_cert_file;
    wo.key_file = pki_.server_key_file;
    wo.vapid_public_key = base64url_encode(vapid.ec_public_point());
    webpush_ = std::make_unique<mock_webpush_server>(wo);
    write_private(dir_ + "/wns_secret", "herald-test-wns-secret\n");
    std::ofstream(dir_ + "/tokens.yaml") << "- name: admin\n  sha256: \"" << sha256_hex(admin_token)
                                         << "\"\n  scopes: [devices.read, devices.write, appointments.read, appointments.write]\n";
  }
  void TearDown() override { pki_.remove_files(); }

  void start_daemon() {
    port_ = free_port();
    std::string path = dir_ + "/herald.yaml";
    std::ofstream(path) << "server:\n  listen: 127.0.0.1:" << port_ << "\n  shutdown_grace: 2s\n"
                        << "redis:\n  url: " << redis_.url() << "\n  key_prefix: p\n"
                        << "auth:\n  tokens_file: tokens.yaml\n"
                        << "apps:\n  pocket:\n"
                        << "    apns:\n      team_id: " << pki_.apns_team_id << "\n      key_id: " << pki_.apns_key_id
                        << "\n      key_file: " << pki_.apns_p8_file << "\n      topic: " << pki_.apns_topic
                        << "\n      endpoint: " << apns_->endpoint() << "\n      ca_file: " << pki_.ca_file << "\n"
                        << "    fcm:\n      service_account_file: " << pki_.fcm_service_account_file
                        << "\n      endpoint: " << fcm_->endpoint() << "\n      ca_file: " << pki_.ca_file << "\n"
                        << "    wns:\n      client_id: ms-app://s-1-15-2-herald-test\n      client_secret_file: wns_secret"
                        << "\n      token_endpoint: " << wns_->token_endpoint()
                        << "\n      allowed_hosts: [127.0.0.1]\n      ca_file: " << pki_.ca_file << "\n"
                        << "    webpush:\n      vapid_private_key_file: vapid.pem\n      subject: mailto:ops@example.com"
                        << "\n      allowed_hosts: [127.0.0.1]\n      ca_file: " << pki_.ca_file << "\n"
                        << "broker:\n  interval: 30s\n  max_lateness: 5m\n"
                        << "locales:\n  default_language: en\n  directory: " << HERALD_TEST_SOURCE_DIR << "/config/locales\n"
                        << "timezones:\n  default: Europe/Oslo\n  table_file: " << HERALD_TEST_SOURCE_DIR
                        << "/config/timezones.yaml\nlog:\n  level: info\n";
    proc_ = std::make_unique<child_process>(std::vector<std::string>{HERALD_TEST_BINARY, "serve", "--config", path},
                                            dir_ + "/herald.log");
    ASSERT_TRUE(wait_for_port(port_, seconds(10))) << proc_->output();
    client_ = std::make_unique<http_client>("127.0.0.1", port_);
    int status = 0;
    for (int i = 0; i < 500 && status != 200; ++i) {
      try {
        status = client_->request("GET", "/readyz").status;
      } catch (const std::exception&) {
      }
      if (status != 200) std::this_thread::sleep_for(milliseconds(10));
    }
    ASSERT_EQ(status, 200) << proc_->output();
  }

  std::map<std::string, std::string> auth() {
    return {{"Authorization", "Bearer " + admin_token}, {"Content-Type", "application/json"}};
  }

  http_response register_device(int associate, const std::string& id, const std::string& platform,
                                const std::string& handle, const std::string& language) {
    json::object info{{"DeviceName", id},   {"DeviceIdentifier", id}, {"Language", language}, {"PNSHandle", handle},
                      {"Platform", platform}, {"OSVersion", "1"},      {"TimeZoneId", 460}};
    json::object body{{"AssociateId", associate}, {"DeviceInfo", info}};
    return client_->request("POST", "/api/v1/Agents/Pocket/RegisterDeviceForPushNotification", json::serialize(body),
                            auth());
  }

  void put_appointment(const std::string& id, int associate, system_clock::time_point due) {
    std::string body = R"({"AssociateIds":[)" + std::to_string(associate) +
                       R"(],"Title":"Board meeting","Location":"Room 4","StartDate":")" + iso(due + minutes(15)) +
                       R"(","HasAlarm":true,"AlarmLeadTime":"00:15:00","Type":"Meeting","Private":false})";
    auto r = client_->request("PUT", "/api/v1/appointments/" + id, body, auth());
    ASSERT_TRUE(r.status == 200 || r.status == 201) << r.status << " " << r.body;
  }

  std::size_t device_count(int associate) {
    auto list = client_->request("POST", "/api/v1/Agents/Pocket/GetRegisteredDevices",
                                 R"({"AssociateId":)" + std::to_string(associate) + "}", auth());
    return json::parse(list.body).as_array().size();
  }

  // Polls `done` (bounded) until true.
  template <typename F>
  bool eventually(F done, milliseconds timeout = seconds(15)) {
    auto deadline = steady_clock::now() + timeout;
    while (steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(milliseconds(5));
    }
    return done();
  }

  redis_server redis_;
  std::string dir_;
  test_pki pki_;
  std::unique_ptr<mock_apns_server> apns_;
  std::unique_ptr<mock_fcm_server> fcm_;
  std::unique_ptr<mock_wns_server> wns_;
  std::unique_ptr<mock_webpush_server> webpush_;
  unsigned short port_ = 0;
  std::unique_ptr<child_process> proc_;
  std::unique_ptr<http_client> client_;
  std::string config_path() const { return dir_ + "/herald.yaml"; }
};

const std::string iphone_token(64, 'a');
const std::string android_token = "fcm-android-token-1";

TEST_F(platforms_test, AnAlarmReachesIphoneAndroidWindowsAndBrowserOnceEachInTheirLanguage) {
  start_daemon();
  ASSERT_EQ(register_device(5000, "iphone", "Apple", iphone_token, "en-US").status, 204);
  ASSERT_EQ(register_device(5000, "android", "Google", android_token, "de-DE").status, 204);
  ASSERT_EQ(register_device(5000, "windows", "Microsoft", wns_->channel_uri("win-1"), "fr-FR").status, 204);
  auto r = register_device(5000, "browser", "Web", webpush_->subscribe("web-1"), "nb-NO");
  ASSERT_EQ(r.status, 204) << r.body;
  put_appointment("P1", 5000, system_clock::now() + milliseconds(500));

  ASSERT_TRUE(eventually([&] {
    return apns_->delivered_count() >= 1 && fcm_->delivered_count() >= 1 && wns_->delivered_count() >= 1 &&
           webpush_->messages_for("web-1").size() >= 1;
  })) << proc_->output();
  // Once the work stream is drained nothing can be sent again: then count.
  ASSERT_TRUE(eventually([&] { return redis_.cli("XLEN p:work") == "0\n"; })) << redis_.cli("XPENDING p:work herald");
  EXPECT_EQ(apns_->delivered_count_for_token(iphone_token), 1u);
  EXPECT_EQ(fcm_->delivered_count_for_token(android_token), 1u);
  EXPECT_EQ(wns_->delivered_count_for_token("win-1"), 1u);
  ASSERT_EQ(webpush_->messages_for("web-1").size(), 1u);

  auto apns_body = json::parse(apns_->requests().at(0).body).as_object();
  EXPECT_NE(std::string(apns_body.at("aps").at("alert").at("body").as_string()).find("Starts"), std::string::npos);
  auto fcm_body = json::parse(fcm_->requests().at(0).body).as_object();
  EXPECT_NE(std::string(fcm_body.at("message").at("notification").at("body").as_string()).find("Beginnt"),
            std::string::npos);
  auto toast = wns_->requests().at(0).body;
  EXPECT_NE(toast.find("<text>Board meeting</text>"), std::string::npos) << toast;
  EXPECT_NE(toast.find("Commence"), std::string::npos) << toast;
  EXPECT_NE(toast.find("appointmentId=P1"), std::string::npos) << toast;
  auto web = json::parse(webpush_->messages_for("web-1").at(0)).as_object();
  EXPECT_EQ(web.at("title").as_string(), "Board meeting");
  EXPECT_NE(std::string(web.at("body").as_string()).find("Starter"), std::string::npos);
  EXPECT_EQ(web.at("herald").at("appointment_id").as_string(), "P1");
  EXPECT_EQ(webpush_->vapid_failures(), 0u);

  // Readiness and metrics cover the new providers like APNs and FCM.
  auto ready = client_->request("GET", "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_NE(ready.body.find("pocket/wns"), std::string::npos) << ready.body;
  EXPECT_NE(ready.body.find("pocket/webpush"), std::string::npos) << ready.body;
  // Counted once the answer is in: the mocks record the request before.
  for (std::string provider : {"wns", "webpush"}) {
    const auto line = "herald_push_delivered_total{app=\"pocket\",provider=\"" + provider + "\"} 1";
    std::string metrics;
    EXPECT_TRUE(eventually([&] {
      metrics = client_->request("GET", "/metrics").body;
      return metrics.find(line) != std::string::npos;
    })) << provider << "\n" << metrics;
  }
}

TEST_F(platforms_test, WnsAndWebPushGoneRemoveTheRegistration) {
  start_daemon();
  ASSERT_EQ(register_device(5100, "windows", "Microsoft", wns_->channel_uri("win-gone"), "en").status, 204);
  auto web = register_device(5100, "browser", "Web", webpush_->subscribe("web-gone"), "en");
  ASSERT_EQ(web.status, 204) << web.body;
  ASSERT_EQ(register_device(5100, "iphone", "Apple", iphone_token, "en").status, 204);
  wns_->fail_token("win-gone", mock_fault::apns(410, "channel expired"));
  webpush_->fail_token("web-gone", mock_fault::apns(410, ""));
  put_appointment("G1", 5100, system_clock::now() + milliseconds(300));
  ASSERT_TRUE(eventually([&] { return wns_->count_for_token("win-gone") >= 1 && webpush_->count_for_token("web-gone") >= 1; }))
      << proc_->output();
  EXPECT_TRUE(eventually([&] { return device_count(5100) == 1; })) << proc_->output();
}

TEST_F(platforms_test, WebRegistrationToAnInternalOrPlainHttpEndpointIsRefused) {
  start_daemon();
  auto sub = json::parse(webpush_->subscribe("web-x")).as_object();
  for (std::string endpoint : {std::string("https://169.254.169.254/latest/meta-data/"), "http://127.0.0.1:" + std::to_string(webpush_->port()) + "/push/web-x"}) {
    sub["endpoint"] = endpoint;
    auto r = register_device(5200, "browser", "Web", json::serialize(sub), "en");
    EXPECT_EQ(r.status, 400) << endpoint << ": " << r.body;
    EXPECT_NE(r.body.find("endpoint"), std::string::npos) << r.body;
  }
  auto bad_key = json::parse(webpush_->subscribe("web-y")).as_object();
  bad_key["keys"].as_object()["auth"] = "AAAA";
  auto r = register_device(5200, "browser", "Web", json::serialize(bad_key), "en");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("keys.auth"), std::string::npos) << r.body;
  EXPECT_EQ(register_device(5200, "windows", "Microsoft", "https://169.254.169.254/w/?token=x", "en").status, 400);
  EXPECT_EQ(device_count(5200), 0u);
}

TEST_F(platforms_test, HeraldSendReachesTheWindowsDeviceAndTheBrowser) {
  start_daemon();
  ASSERT_EQ(register_device(5200, "windows", "Microsoft", wns_->channel_uri("win-send"), "en").status, 204);
  auto web = register_device(5200, "browser", "Web", webpush_->subscribe("web-send"), "en");
  ASSERT_EQ(web.status, 204) << web.body;
  child_process send({HERALD_TEST_BINARY, "send", "--config", config_path(), "--associate", "5200", "--title", "Hello",
                      "--body", "World"},
                     dir_ + "/send.log");
  auto code = send.wait(seconds(20));
  ASSERT_TRUE(code.has_value()) << send.output();
  EXPECT_EQ(*code, 0) << send.output();
  auto out = send.output();
  EXPECT_NE(out.find("device=windows platform=Microsoft outcome=delivered status=200"), std::string::npos) << out;
  EXPECT_NE(out.find("device=browser platform=Web outcome=delivered status=201"), std::string::npos) << out;
  EXPECT_EQ(wns_->delivered_count_for_token("win-send"), 1u);
  auto toast = wns_->requests().at(0).body;
  EXPECT_NE(toast.find("Hello"), std::string::npos) << toast;
  auto messages = webpush_->messages_for("web-send");
  ASSERT_EQ(messages.size(), 1u);
  auto msg = json::parse(messages[0]).as_object();
  EXPECT_EQ(msg.at("title").as_string(), "Hello");
  EXPECT_EQ(msg.at("body").as_string(), "World");
}

}  // namespace
}  // namespace herald::test
