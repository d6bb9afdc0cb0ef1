// Black-box tests of `herald serve`: the real binary, a real redis-server on a
// free loopback port, HTTP over loopback.
#include "tests/support/http_client.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/parse.hpp>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "config/config.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_server.hpp"

namespace herald::test {
namespace {

namespace json = boost::json;

const std::string crm_token = "crm-test-token";      // associate 919, read+write
const std::string admin_token = "admin-test-token";  // no associate, read+write
const std::string reader_token = "reader-test-token";  // devices.read only

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

std::string tokens_yaml(bool rotated) {
  std::string crm = rotated ? "crm-rotated-token" : crm_token;
  return "- name: crm\n  sha256: \"" + sha256_hex(crm) +
         "\"\n  scopes: [devices.read, devices.write]\n  associate_id: 919\n"
         "- name: admin\n  sha256: \"" + sha256_hex(admin_token) +
         "\"\n  scopes: [devices.read, devices.write]\n"
         "- name: reader\n  sha256: \"" + sha256_hex(reader_token) + "\"\n  scopes: [devices.read]\n";
}

class daemon_fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("api");
    port_ = free_port();
    write_file(dir_ + "/tokens.yaml", tokens_yaml(false));
    write_file(dir_ + "/herald.yaml",
               "server:\n  listen: 127.0.0.1:" + std::to_string(port_) +
                   "\n  body_limit: 8192\n  shutdown_grace: 5s\nredis:\n  url: " + redis_.url() +
                   "\n  key_prefix: t" + std::to_string(port_) +
                   "\n  reconnect_max: 200ms\n  command_timeout: 1s\nauth:\n  tokens_file: tokens.yaml\nlog:\n  level: debug\n"
                   "locales:\n  directory: " HERALD_TEST_SOURCE_DIR "/config/locales\n"
                   "timezones:\n  table_file: " HERALD_TEST_SOURCE_DIR "/config/timezones.yaml\n");
    start_daemon();
  }

  void start_daemon() {
    const char* bin = HERALD_TEST_BINARY;
    daemon_ = std::make_unique<child_process>(std::vector<std::string>{bin, "serve", "--config", dir_ + "/herald.yaml"},
                                              dir_ + "/herald.log");
    ASSERT_TRUE(wait_for_port(port_, std::chrono::seconds(10))) << daemon_->output();
    ASSERT_TRUE(wait_ready(true)) << daemon_->output();
  }

  // Polls /readyz until it reports `ready` (bounded).
  bool wait_ready(bool ready, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    http_client c("127.0.0.1", port_);
    while (std::chrono::steady_clock::now() < deadline) {
      try {
        auto r = c.request("GET", "/readyz");
        if ((r.status == 200) == ready) return true;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  http_response post(const std::string& method, const std::string& body, const std::string& token,
                     std::map<std::string, std::string> headers = {}) {
    if (!token.empty()) headers["Authorization"] = "Bearer " + token;
    if (!headers.count("Content-Type")) headers["Content-Type"] = "application/json; charset=utf-8";
    return client().request("POST", "/api/v1/Agents/Pocket/" + method, body, headers);
  }

  static std::string device_body(const std::string& id, const std::string& extra = "") {
    return R"({"DeviceInfo":{"DeviceName":"John's iPhone","DeviceIdentifier":")" + id +
           R"(","PocketVersion":"10.2.1","Language":"en-US","PNSHandle":"tok-)" + id +
           R"(","Platform":"Apple","OSVersion":"iOS 17.1","TimeZoneId":261})" + extra + "}";
  }

  redis_server redis_;
  std::string dir_;
  unsigned short port_ = 0;
  std::unique_ptr<child_process> daemon_;
  std::unique_ptr<http_client> client_ptr_;
  http_client& client() { return *client_ptr_; }
};

class api_test : public daemon_fixture {
 protected:
  void SetUp() override {
    daemon_fixture::SetUp();
    client_ptr_ = std::make_unique<http_client>("127.0.0.1", port_);
  }
};

TEST_F(api_test, RegisterThenListJsonAndSelect) {
  auto r = post("RegisterDeviceForPushNotification", device_body("dev-1"), crm_token);
  ASSERT_EQ(r.status, 204) << r.body;
  ASSERT_EQ(post("RegisterDeviceForPushNotification", device_body("dev-2"), crm_token).status, 204);

  auto list = post("GetRegisteredDevices", R"({"AssociateId":919})", crm_token, {{"Accept", "application/json"}});
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_NE(list.header("content-type").find("application/json"), std::string::npos);
  auto arr = json::parse(list.body).as_array();
  ASSERT_EQ(arr.size(), 2u);
  const auto& d = arr[0].as_object();
  EXPECT_EQ(d.at("DeviceIdentifier").as_string(), "dev-1");
  EXPECT_EQ(d.at("DeviceName").as_string(), "John's iPhone");
  EXPECT_EQ(d.at("PocketVersion").as_string(), "10.2.1");
  EXPECT_EQ(d.at("Language").as_string(), "en-US");
  EXPECT_EQ(d.at("PNSHandle").as_string(), "tok-dev-1");
  EXPECT_EQ(d.at("Platform").as_string(), "Apple");
  EXPECT_EQ(d.at("OSVersion").as_string(), "iOS 17.1");
  EXPECT_EQ(d.at("TimeZoneId").as_int64(), 261);

  auto sel = client().request("POST", "/api/v1/Agents/Pocket/GetRegisteredDevices?$select=DeviceIdentifier,platform",
                             R"({"AssociateId":919})",
                             {{"Authorization", "SOTicket " + crm_token}, {"Content-Type", "application/json"}});
  ASSERT_EQ(sel.status, 200) << sel.body;
  auto s = json::parse(sel.body).as_array()[1].as_object();
  EXPECT_EQ(s.at("DeviceIdentifier").as_string(), "dev-2");
  EXPECT_EQ(s.at("Platform").as_string(), "Apple");
  EXPECT_TRUE(s.at("DeviceName").is_null());
  EXPECT_TRUE(s.at("PNSHandle").is_null());
  EXPECT_TRUE(s.at("TimeZoneId").is_null());
}

TEST_F(api_test, ListAsXml) {
  ASSERT_EQ(post("RegisterDeviceForPushNotification", device_body("x&1"), crm_token).status, 204);
  auto r = post("GetRegisteredDevices", R"({"AssociateId":919})", crm_token, {{"Accept", "application/xml"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.header("content-type").find("application/xml"), std::string::npos);
  EXPECT_NE(r.body.find("<PocketDeviceInfo><DeviceName>John&apos;s iPhone</DeviceName><DeviceIdentifier>x&amp;1</DeviceIdentifier>"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("<TimeZoneId>261</TimeZoneId>"), std::string::npos);
  auto sel = client().request("POST", "/api/v1/Agents/Pocket/GetRegisteredDevices?%24select=Language", "{}",
                             {{"Authorization", "Bearer " + crm_token}, {"Content-Type", "application/json"}, {"Accept", "text/xml"}});
  ASSERT_EQ(sel.status, 200);
  EXPECT_NE(sel.body.find("<Language>en-US</Language>"), std::string::npos);
  EXPECT_NE(sel.body.find("<DeviceName i:nil=\"true\"/>"), std::string::npos);
}

TEST_F(api_test, DeviceMovedToAnotherAssociateLeavesOldList) {
  ASSERT_EQ(post("RegisterDeviceForPushNotification", device_body("shared-phone"), crm_token).status, 204);
  auto moved = post("RegisterDeviceForPushNotification", device_body("shared-phone", R"(,"AssociateId":42)"), admin_token);
  ASSERT_EQ(moved.status, 204) << moved.body;
  auto old_list = post("GetRegisteredDevices", R"({"AssociateId":919})", admin_token);
  ASSERT_EQ(old_list.status, 200);
  EXPECT_EQ(json::parse(old_list.body).as_array().size(), 0u);
  auto new_list = post("GetRegisteredDevices", R"({"AssociateId":42})", admin_token);
  ASSERT_EQ(json::parse(new_list.body).as_array().size(), 1u);
  // A credential bound to associate 919 may not list associate 42.
  EXPECT_EQ(post("GetRegisteredDevices", R"({"AssociateId":42})", crm_token).status, 403);
  // A service credential must say which associate.
  EXPECT_EQ(post("RegisterDeviceForPushNotification", device_body("p2"), admin_token).status, 400);
}

TEST_F(api_test, AuthenticationAndScopeErrors) {
  auto none = post("GetRegisteredDevices", R"({"AssociateId":919})", "");
  EXPECT_EQ(none.status, 401);
  EXPECT_FALSE(none.header("www-authenticate").empty());
  EXPECT_EQ(json::parse(none.body).at("ErrorSource").as_string(), "Herald");
  EXPECT_EQ(post("GetRegisteredDevices", R"({"AssociateId":919})", "wrong-token").status, 401);
  EXPECT_EQ(client().request("POST", "/api/v1/Agents/Pocket/GetRegisteredDevices", "{}",
                            {{"Authorization", "Basic dGplMDpUamUw"}, {"Content-Type", "application/json"}}).status, 401);
  auto forbidden = post("RegisterDeviceForPushNotification", device_body("r1"), reader_token);
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_NE(json::parse(forbidden.body).at("ErrorMessage").as_string().find("devices.write"), std::string::npos);
}

TEST_F(api_test, ValidationAndProtocolErrors) {
  auto bad = [&](const std::string& body) { return post("RegisterDeviceForPushNotification", body, crm_token); };
  auto missing_id = bad(R"({"DeviceInfo":{"PNSHandle":"t","Platform":"Apple"}})");
  EXPECT_EQ(missing_id.status, 400);
  auto err = json::parse(missing_id.body).as_object();
  EXPECT_EQ(err.at("Error").as_bool(), true);
  EXPECT_NE(err.at("ErrorMessage").as_string().find("DeviceIdentifier"), std::string::npos);
  EXPECT_EQ(bad(R"({"DeviceInfo":{"DeviceIdentifier":"d","Platform":"Apple"}})").status, 400);
  EXPECT_EQ(bad(R"({"DeviceInfo":{"DeviceIdentifier":"d","PNSHandle":"t","Platform":"Palm"}})").status, 400);
  EXPECT_EQ(bad(R"({"DeviceInfo":{"DeviceIdentifier":")" + std::string(300, 'a') + R"(","PNSHandle":"t","Platform":"Apple"}})").status, 400);
  EXPECT_EQ(bad(R"({"DeviceInfo":)").status, 400);
  // 415: wrong Content-Type.
  EXPECT_EQ(post("RegisterDeviceForPushNotification", device_body("d"), crm_token, {{"Content-Type", "text/plain"}}).status, 415);
  // 406: an Accept we cannot produce.
  EXPECT_EQ(post("GetRegisteredDevices", "{}", crm_token, {{"Accept", "text/html"}}).status, 406);
  // 413: a body over server.body_limit (8 KiB in this test).
  auto big = post("RegisterDeviceForPushNotification", std::string(20000, ' ') + device_body("d"), crm_token);
  EXPECT_EQ(big.status, 413);
  // 404 / 405
  EXPECT_EQ(client().request("GET", "/nope").status, 404);
  EXPECT_EQ(client().request("GET", "/api/v1/Agents/Pocket/GetRegisteredDevices").status, 405);
  // Nothing invalid was stored.
  auto list = post("GetRegisteredDevices", "{}", crm_token);
  EXPECT_EQ(json::parse(list.body).as_array().size(), 0u);
}

TEST_F(api_test, KeepAliveServesManyRequestsOnOneConnection) {
  for (int i = 0; i < 50; ++i) {
    auto r = client().request("GET", "/healthz");
    ASSERT_EQ(r.status, 200);
    EXPECT_NE(r.header("connection"), "close");
  }
}

TEST_F(api_test, RedisOutageGives503ThenRecoversWithoutRestart) {
  ASSERT_EQ(post("RegisterDeviceForPushNotification", device_body("before"), crm_token).status, 204);
  redis_.stop();
  ASSERT_TRUE(wait_ready(false)) << daemon_->output();
  auto ready = client().request("GET", "/readyz");
  EXPECT_EQ(ready.status, 503);
  auto body = json::parse(ready.body).as_object();
  EXPECT_EQ(body.at("checks").at("redis").at("ok").as_bool(), false);
  // Without a credential: ok / not ok only; the reason is in the log.
  EXPECT_FALSE(body.at("checks").at("redis").as_object().contains("reason"));

  auto start = std::chrono::steady_clock::now();
  auto down = post("GetRegisteredDevices", "{}", crm_token);
  EXPECT_EQ(down.status, 503);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));  // fails fast
  EXPECT_EQ(json::parse(down.body).at("ErrorType").as_string(), "ServiceUnavailable");
  EXPECT_EQ(post("RegisterDeviceForPushNotification", device_body("during"), crm_token).status, 503);
  EXPECT_EQ(client().request("GET", "/healthz").status, 200);

  redis_.start();  // empty again: no persistence in tests
  ASSERT_TRUE(wait_ready(true)) << daemon_->output();
  ASSERT_EQ(post("RegisterDeviceForPushNotification", device_body("after"), crm_token).status, 204);
  auto list = post("GetRegisteredDevices", "{}", crm_token);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(json::parse(list.body).as_array().size(), 1u);
  EXPECT_TRUE(daemon_->running());
}

TEST_F(api_test, SighupReloadsTokensAndKeepsOldConfigOnError) {
  write_file(dir_ + "/tokens.yaml", tokens_yaml(true));
  daemon_->signal(SIGHUP);
  // The new token works once the reload is done (bounded poll).
  bool rotated = false;
  for (int i = 0; i < 200 && !rotated; ++i) {
    rotated = post("GetRegisteredDevices", "{}", "crm-rotated-token").status == 200;
    if (!rotated) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(rotated) << daemon_->output();
  EXPECT_EQ(post("GetRegisteredDevices", "{}", crm_token).status, 401);

  // A broken token file is rejected; the previous tokens stay in force.
  write_file(dir_ + "/tokens.yaml", "- name: broken\n  sha256: nothex\n");
  daemon_->signal(SIGHUP);
  bool logged = false;
  for (int i = 0; i < 200 && !logged; ++i) {
    logged = daemon_->output().find("config.reload_rejected") != std::string::npos;
    if (!logged) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(logged) << daemon_->output();
  EXPECT_EQ(post("GetRegisteredDevices", "{}", "crm-rotated-token").status, 200);
  EXPECT_TRUE(daemon_->running());
}

TEST_F(api_test, SigtermFinishesTheRequestInFlight) {
  // Send a request head and half its body, then SIGTERM, then the rest.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port_);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string body = device_body("in-flight");
  std::string head = "POST /api/v1/Agents/Pocket/RegisterDeviceForPushNotification HTTP/1.1\r\nHost: x\r\n"
                     "Authorization: Bearer " + crm_token + "\r\nContent-Type: application/json\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n";
  std::string first = head + body.substr(0, 20);
  ASSERT_EQ(::send(fd, first.data(), first.size(), 0), static_cast<ssize_t>(first.size()));
  // Wait until the daemon has parsed the head (it logs each request head at debug level).
  bool parsed = false;
  for (int i = 0; i < 500 && !parsed; ++i) {
    parsed = daemon_->output().find("target=/api/v1/Agents/Pocket/RegisterDeviceForPushNotification") != std::string::npos;
    if (!parsed) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(parsed) << daemon_->output();
  daemon_->signal(SIGTERM);
  // The listener closes, but the in-flight request is completed.
  bool closed = false;
  for (int i = 0; i < 200 && !closed; ++i) {
    closed = !wait_for_port(port_, std::chrono::milliseconds(1));
    if (!closed) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(closed) << "listener still open after SIGTERM";
  std::string rest = body.substr(20);
  ASSERT_EQ(::send(fd, rest.data(), rest.size(), 0), static_cast<ssize_t>(rest.size()));
  std::string response;
  char buf[4096];
  for (;;) {
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    response.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  EXPECT_EQ(response.rfind("HTTP/1.1 204", 0), 0u) << response;
  EXPECT_NE(response.find("Connection: close"), std::string::npos) << response;
  auto code = daemon_->wait(std::chrono::seconds(10));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << daemon_->output();
  EXPECT_NE(redis_.cli("--scan --pattern '*device:in-flight'").find("in-flight"), std::string::npos);
}

TEST(cli_test, CheckConfigExitCodes) {
  const char* bin = HERALD_TEST_BINARY;
  auto dir = make_temp_dir("cli");
  write_file(dir + "/bad.yaml", "server:\n  listen: 127.0.0.1:99999\n");
  child_process bad({bin, "check-config", "--config", dir + "/bad.yaml"}, dir + "/bad.log");
  EXPECT_EQ(bad.wait(std::chrono::seconds(10)), 2);
  EXPECT_NE(bad.output().find("server.listen"), std::string::npos) << bad.output();
  child_process serve_bad({bin, "serve", "--config", dir + "/bad.yaml"}, dir + "/serve.log");
  EXPECT_EQ(serve_bad.wait(std::chrono::seconds(10)), 2);

  const std::string l10n = std::string("locales:\n  directory: ") + HERALD_TEST_SOURCE_DIR + "/config/locales\ntimezones:\n  table_file: " +
                           HERALD_TEST_SOURCE_DIR + "/config/timezones.yaml\n";
  write_file(dir + "/good.yaml", "redis:\n  url: redis://:s3cret-pass@127.0.0.1:6379/0\n" + l10n);
  child_process good({bin, "check-config", "--config", dir + "/good.yaml"}, dir + "/good.log");
  EXPECT_EQ(good.wait(std::chrono::seconds(10)), 0) << good.output();
  EXPECT_EQ(good.output().find("s3cret-pass"), std::string::npos) << good.output();
  EXPECT_NE(good.output().find("listen"), std::string::npos);
  EXPECT_NE(good.output().find("catalogs: da, de, en"), std::string::npos) << good.output();

  // The catalogs are checked too: a broken pattern is a bad configuration.
  std::filesystem::create_directories(dir + "/locales");
  write_file(dir + "/locales/en.yaml", "alarm:\n  body: \"Starts at {time\"\n");
  write_file(dir + "/bad-l10n.yaml", "locales:\n  directory: " + dir + "/locales\ntimezones:\n  table_file: " + HERALD_TEST_SOURCE_DIR +
                                         "/config/timezones.yaml\n");
  child_process bad_l10n({bin, "check-config", "--config", dir + "/bad-l10n.yaml"}, dir + "/bad-l10n.log");
  EXPECT_EQ(bad_l10n.wait(std::chrono::seconds(10)), 2);
  EXPECT_NE(bad_l10n.output().find("alarm.body"), std::string::npos) << bad_l10n.output();

  child_process version({bin, "version"}, dir + "/version.log");
  EXPECT_EQ(version.wait(std::chrono::seconds(10)), 0);
  EXPECT_NE(version.output().find("herald "), std::string::npos);
}

}  // namespace
}  // namespace herald::test
