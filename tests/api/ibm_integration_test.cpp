// IBM MobileFirst push routes against the real daemon and a real
// redis-server (every route, every status code IBM documents), and
// POST /messages in-process with a recording submit_push.
#include "tests/support/http_client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <fstream>
#include <future>
#include <thread>

#include "api/http_api.hpp"
#include "api/server/broker_gateway.hpp"
#include "api/access/auth.hpp"
#include "config/config.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "store/device_registry.hpp"
#include "store/redis_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_server.hpp"

namespace herald::test {
namespace {

namespace json = boost::json;

const std::string admin_token = "ibm-admin";    // every IBM scope, apps myapp and other, no associate
const std::string noapp_token = "ibm-noapp";    // every operation scope, only app "other"
const std::string reader_token = "ibm-reader";  // devices.read + subscriptions.read on myapp
const std::string bound_token = "ibm-bound";    // every IBM scope on myapp, acts as associate 919
const std::string pocket_token = "pocket-919";  // Pocket agent, associate 919

const std::string all_scopes =
    "devices.read, devices.write, subscriptions.read, subscriptions.write, messages.write";

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

std::string token_yaml(const std::string& name, const std::string& token, const std::string& scopes,
                       const std::string& extra = "") {
  return "- name: " + name + "\n  sha256: \"" + sha256_hex(token) + "\"\n  scopes: [" + scopes + "]\n" + extra;
}

std::string tokens_yaml() {
  return token_yaml("admin", admin_token, all_scopes + ", push.application.myapp, push.application.other") +
         token_yaml("noapp", noapp_token, all_scopes + ", push.application.other") +
         token_yaml("reader", reader_token, "devices.read, subscriptions.read, push.application.myapp") +
         token_yaml("bound", bound_token, all_scopes + ", push.application.myapp", "  associate_id: 919\n") +
         token_yaml("pocket", pocket_token, "devices.read, devices.write", "  associate_id: 919\n");
}

using headers = std::map<std::string, std::string>;

class ibm_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("ibm");
    port_ = free_port();
    prefix_ = "t" + std::to_string(port_);
    write_file(dir_ + "/tokens.yaml", tokens_yaml());
    write_file(dir_ + "/herald.yaml",
               "server:\n  listen: 127.0.0.1:" + std::to_string(port_) + "\n  body_limit: 16384\n  shutdown_grace: 2s\n"
               "redis:\n  url: " + redis_.url() + "\n  key_prefix: " + prefix_ +
                   "\n  reconnect_max: 200ms\n  command_timeout: 1s\nauth:\n  tokens_file: tokens.yaml\n"
               "locales:\n  directory: " HERALD_TEST_SOURCE_DIR "/config/locales\n"
               "timezones:\n  table_file: " HERALD_TEST_SOURCE_DIR "/config/timezones.yaml\nlog:\n  level: info\n");
    daemon_ = std::make_unique<child_process>(
        std::vector<std::string>{HERALD_TEST_BINARY, "serve", "--config", dir_ + "/herald.yaml"}, dir_ + "/herald.log");
    ASSERT_TRUE(wait_for_port(port_, std::chrono::seconds(10))) << daemon_->output();
    ASSERT_TRUE(wait_ready(true)) << daemon_->output();
    client_ = std::make_unique<http_client>("127.0.0.1", port_);
  }

  bool wait_ready(bool ready) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    http_client c("127.0.0.1", port_);
    while (std::chrono::steady_clock::now() < deadline) {
      try {
        if ((c.request("GET", "/readyz").status == 200) == ready) return true;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // An IBM call: JSON Content-Type on bodies, Bearer `token` unless empty;
  // `extra` overrides (an empty value removes the header).
  http_response call(const std::string& method, const std::string& target, const std::string& body = {},
                     const std::string& token = admin_token, const headers& extra = {}) {
    headers h;
    if (!token.empty()) h["Authorization"] = "Bearer " + token;
    if (!body.empty()) h["Content-Type"] = "application/json";
    for (const auto& [k, v] : extra) {
      if (v.empty()) h.erase(k);
      else h[k] = v;
    }
    return client_->request(method, target, body, h);
  }

  static std::string app_path(const std::string& rest, const std::string& app = "myapp") {
    return "/imfpush/v1/apps/" + app + rest;
  }

  static std::string registration(const std::string& id, const std::string& platform = "A",
                                  const std::string& user = "admin") {
    return R"({"deviceId":")" + id + R"(","phoneNumber":"123456789","platform":")" + platform + R"(","token":"tok-)" +
           id + R"(","userId":")" + user + R"(","userAgent":"UA/1"})";
  }

  http_response register_ibm(const std::string& id, const std::string& platform = "A", const std::string& user = "admin",
                             const std::string& app = "myapp") {
    return call("POST", app_path("/devices", app), registration(id, platform, user));
  }

  http_response pocket(const std::string& method, const std::string& body) {
    return client_->request("POST", "/api/v1/Agents/Pocket/" + method, body,
                            {{"Authorization", "Bearer " + pocket_token}, {"Content-Type", "application/json"}});
  }

  static std::string pocket_device(const std::string& id, const std::string& platform = "Apple") {
    return R"({"DeviceInfo":{"DeviceName":"Anna's phone","DeviceIdentifier":")" + id +
           R"(","PocketVersion":"10.2.1","Language":"nb-NO","PNSHandle":"pocket-tok","Platform":")" + platform +
           R"(","OSVersion":"iOS 17","TimeZoneId":261}})";
  }

  // The stored device record (JSON) or null.
  json::value record(const std::string& id) {
    auto out = redis_.cli("GET " + prefix_ + ":device:" + id);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    if (out.empty()) return nullptr;
    return json::parse(out);
  }

  redis_server redis_;
  std::string dir_;
  std::string prefix_;
  unsigned short port_ = 0;
  std::unique_ptr<child_process> daemon_;
  std::unique_ptr<http_client> client_;
};

struct status_case {
  std::string name;
  std::string method;
  std::string target;
  std::string body;
  std::string token;
  headers extra;
  int status;
};

// Every route, every status code IBM documents for it (plus the 403s of the
// scopes), against a store holding device "dev-1" subscribed to "Gold".
TEST_F(ibm_test, StatusCodesOfEveryRoute) {
  ASSERT_EQ(register_ibm("dev-1").status, 201);
  ASSERT_EQ(call("POST", app_path("/subscriptions"), R"({"deviceId":"dev-1","tagName":"Gold"})").status, 201);
  const std::string devices = app_path("/devices");
  const std::string dev1 = app_path("/devices/dev-1");
  const std::string subs = app_path("/subscriptions");
  const std::string msgs = app_path("/messages");
  const std::string put_body = R"({"deviceId":"dev-1","phoneNumber":"987","token":"xyz","userId":"admin",})";
  const std::string sub_body = R"({"deviceId":"dev-1","tagName":"Silver"})";
  const std::string msg_body = R"({"message":{"alert":"Hi"},"target":{"deviceIds":["dev-1"]}})";
  const headers xml_accept{{"Accept", "application/xml"}};
  const headers text_ct{{"Content-Type", "text/plain"}};
  const headers no_ct{{"Content-Type", ""}};
  const std::vector<status_case> cases{
      // POST /devices: 201, 400, 401, 403, 405, 406
      {"register", "POST", devices, registration("dev-2"), admin_token, {}, 201},
      {"register bad json", "POST", devices, R"({"deviceId":)", admin_token, {}, 400},
      {"register missing token", "POST", devices, R"({"deviceId":"d","platform":"A"})", admin_token, {}, 400},
      {"register bad platform", "POST", devices, registration("d", "X"), admin_token, {}, 400},
      {"register userId 255", "POST", devices, registration("d", "A", std::string(255, 'u')), admin_token, {}, 400},
      {"register no token", "POST", devices, registration("d"), "", {}, 401},
      {"register wrong token", "POST", devices, registration("d"), "nope", {}, 401},
      {"register basic auth", "POST", devices, registration("d"), "", {{"Authorization", "Basic dTpw"}}, 401},
      {"register reader", "POST", devices, registration("d"), reader_token, {}, 403},
      {"register other app", "POST", devices, registration("d"), noapp_token, {}, 403},
      {"register text/plain", "POST", devices, registration("d"), admin_token, text_ct, 405},
      {"register no content-type", "POST", devices, registration("d"), admin_token, no_ct, 405},
      {"register accept xml", "POST", devices, registration("d"), admin_token, xml_accept, 406},
      {"register bound to other associate", "POST", devices, registration("d", "A", "42"), bound_token, {}, 403},
      // GET /devices/{id}: 200, 401, 403, 404, 406
      {"get", "GET", dev1, "", reader_token, {}, 200},
      {"get unknown", "GET", app_path("/devices/nope"), "", admin_token, {}, 404},
      {"get in another app", "GET", app_path("/devices/dev-1", "other"), "", admin_token, {}, 404},
      {"get no token", "GET", dev1, "", "", {}, 401},
      {"get other app scope", "GET", dev1, "", noapp_token, {}, 403},
      {"get accept xml", "GET", dev1, "", admin_token, xml_accept, 406},
      // PUT /devices/{id}: 200, 400, 401, 403, 404, 405, 406
      {"put seed body", "PUT", dev1, put_body, admin_token, {}, 200},
      {"put userId 255", "PUT", dev1, R"({"userId":")" + std::string(255, 'u') + R"("})", admin_token, {}, 400},
      {"put bad json", "PUT", dev1, "{", admin_token, {}, 400},
      {"put other deviceId", "PUT", dev1, R"({"deviceId":"dev-9"})", admin_token, {}, 400},
      {"put no token", "PUT", dev1, put_body, "", {}, 401},
      {"put reader", "PUT", dev1, put_body, reader_token, {}, 403},
      {"put unknown", "PUT", app_path("/devices/nope"), R"({"userId":"x"})", admin_token, {}, 404},
      {"put text/plain", "PUT", dev1, put_body, admin_token, text_ct, 405},
      {"put accept xml", "PUT", dev1, put_body, admin_token, xml_accept, 406},
      // DELETE /devices/{id}: 204, 401, 403, 404, 406
      {"delete no token", "DELETE", app_path("/devices/dev-2"), "", "", {}, 401},
      {"delete reader", "DELETE", app_path("/devices/dev-2"), "", reader_token, {}, 403},
      {"delete accept xml", "DELETE", app_path("/devices/dev-2"), "", admin_token, xml_accept, 406},
      {"delete", "DELETE", app_path("/devices/dev-2"), "", admin_token, {}, 204},
      {"delete again", "DELETE", app_path("/devices/dev-2"), "", admin_token, {}, 404},
      // GET /devices: 200, 400, 401, 403, 406
      {"list", "GET", devices + "?filter=platform==A&offset=0&size=10", "", reader_token, {}, 200},
      {"list bad filter", "GET", devices + "?filter=platform==Q", "", admin_token, {}, 400},
      {"list bad size", "GET", devices + "?size=0", "", admin_token, {}, 400},
      {"list no token", "GET", devices, "", "", {}, 401},
      {"list other app scope", "GET", devices, "", noapp_token, {}, 403},
      {"list accept xml", "GET", devices, "", admin_token, xml_accept, 406},
      // wrong method on a resource: 405
      {"patch device", "PATCH", dev1, "{}", admin_token, {}, 405},
      {"delete collection", "DELETE", devices, "", admin_token, {}, 405},
      {"get messages", "GET", msgs, "", admin_token, {}, 405},
      // unknown resource / bad applicationId
      {"unknown resource", "GET", app_path("/widgets"), "", admin_token, {}, 404},
      {"bad app id", "GET", "/imfpush/v1/apps/a%3Ab/devices", "", "", {{"Authorization", "Bearer " + admin_token}}, 403},
      // POST /subscriptions: 201, 400, 401, 403, 404, 405, 406
      {"subscribe", "POST", subs, sub_body, admin_token, {}, 201},
      {"subscribe again (idempotent)", "POST", subs, sub_body, admin_token, {}, 201},
      {"subscribe no tag", "POST", subs, R"({"deviceId":"dev-1"})", admin_token, {}, 400},
      {"subscribe comma tag", "POST", subs, R"({"deviceId":"dev-1","tagName":"a,b"})", admin_token, {}, 400},
      {"subscribe no token", "POST", subs, sub_body, "", {}, 401},
      {"subscribe reader", "POST", subs, sub_body, reader_token, {}, 403},
      {"subscribe unknown device", "POST", subs, R"({"deviceId":"nope","tagName":"Gold"})", admin_token, {}, 404},
      {"subscribe text/plain", "POST", subs, sub_body, admin_token, text_ct, 405},
      {"subscribe accept xml", "POST", subs, sub_body, admin_token, xml_accept, 406},
      // GET /subscriptions: 200, 400, 401, 403, 406
      {"subscriptions", "GET", subs + "?deviceId=dev-1", "", reader_token, {}, 200},
      {"subscriptions bad offset", "GET", subs + "?offset=-1", "", admin_token, {}, 400},
      {"subscriptions no token", "GET", subs, "", "", {}, 401},
      {"subscriptions other app scope", "GET", subs, "", noapp_token, {}, 403},
      {"subscriptions accept xml", "GET", subs, "", admin_token, xml_accept, 406},
      // DELETE /subscriptions: 204, 400, 401, 403, 404, 406
      {"unsubscribe missing tag", "DELETE", subs + "?deviceId=dev-1", "", admin_token, {}, 400},
      {"unsubscribe no token", "DELETE", subs + "?deviceId=dev-1&tagName=Gold", "", "", {}, 401},
      {"unsubscribe reader", "DELETE", subs + "?deviceId=dev-1&tagName=Gold", "", reader_token, {}, 403},
      {"unsubscribe accept xml", "DELETE", subs + "?deviceId=dev-1&tagName=Gold", "", admin_token, xml_accept, 406},
      {"unsubscribe", "DELETE", subs + "?deviceId=dev-1&tagName=Gold", "", admin_token, {}, 204},
      {"unsubscribe again", "DELETE", subs + "?deviceId=dev-1&tagName=Gold", "", admin_token, {}, 404},
      {"unsubscribe unknown device", "DELETE", subs + "?deviceId=nope&tagName=Gold", "", admin_token, {}, 404},
      // POST /messages: 400, 401, 403, 405, 406 (202 and 500: ibm_message_test below)
      {"message bad json", "POST", msgs, "{", admin_token, {}, 400},
      {"message no alert", "POST", msgs, R"({"message":{}})", admin_token, {}, 400},
      {"message bad platform", "POST", msgs, R"({"message":{"alert":"a"},"target":{"platforms":["X"]}})", admin_token, {}, 400},
      {"message no token", "POST", msgs, msg_body, "", {}, 401},
      {"message reader", "POST", msgs, msg_body, reader_token, {}, 403},
      {"message other app scope", "POST", msgs, msg_body, noapp_token, {}, 403},
      {"message text/plain", "POST", msgs, msg_body, admin_token, text_ct, 405},
      {"message accept xml", "POST", msgs, msg_body, admin_token, xml_accept, 406},
  };
  for (const auto& c : cases) {
    auto r = call(c.method, c.target, c.body, c.token, c.extra);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
    if (r.status >= 400) {
      EXPECT_NE(r.header("content-type").find("application/json"), std::string::npos) << c.name;
      auto err = json::parse(r.body).as_object();
      EXPECT_FALSE(err.at("code").as_string().empty()) << c.name;
      EXPECT_FALSE(err.at("message").as_string().empty()) << c.name;
    }
    if (r.status == 401) {
      EXPECT_FALSE(r.header("www-authenticate").empty()) << c.name;
    }
    if (c.name == "patch device") {
      EXPECT_EQ(r.header("allow"), "GET, PUT, DELETE");
    }
  }
}

TEST_F(ibm_test, RegistrationLifecycle) {
  auto created = register_ibm("12345-6789", "G", "admin");
  ASSERT_EQ(created.status, 201) << created.body;
  auto o = json::parse(created.body).as_object();
  EXPECT_EQ(o.at("createdMode").as_string(), "API");
  EXPECT_EQ(o.at("deviceId").as_string(), "12345-6789");
  EXPECT_EQ(o.at("phoneNumber").as_string(), "123456789");
  EXPECT_EQ(o.at("platform").as_string(), "G");
  EXPECT_EQ(o.at("token").as_string(), "tok-12345-6789");
  EXPECT_EQ(o.at("userId").as_string(), "admin");
  EXPECT_EQ(o.at("userAgent").as_string(), "UA/1");
  const std::string created_time(o.at("createdTime").as_string());
  ASSERT_EQ(created_time.size(), 20u);
  EXPECT_EQ(created_time[10], 'T');
  EXPECT_EQ(created_time.back(), 'Z');

  auto got = call("GET", app_path("/devices/12345-6789"));
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(json::parse(got.body), json::parse(created.body));

  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // lastUpdatedTime has second precision
  // Seed 002's body as published.
  auto put = call("PUT", app_path("/devices/12345-6789"),
                  "{\n  \"deviceId\" : \"12345-6789\",\n  \"phoneNumber\" : \"555\",\n  \"token\" : \"xyz\",\n  \"userId\" : \"bob\",\n}");
  ASSERT_EQ(put.status, 200) << put.body;
  auto u = json::parse(put.body).as_object();
  EXPECT_EQ(u.at("token").as_string(), "xyz");
  EXPECT_EQ(u.at("userId").as_string(), "bob");
  EXPECT_EQ(u.at("phoneNumber").as_string(), "555");
  EXPECT_EQ(u.at("platform").as_string(), "G");
  EXPECT_EQ(u.at("createdTime").as_string(), created_time);
  EXPECT_NE(u.at("lastUpdatedTime").as_string(), created_time);
  EXPECT_EQ(json::parse(call("GET", app_path("/devices/12345-6789")).body), json::parse(put.body));

  // Percent-encoded identifiers are decoded and case is kept.
  ASSERT_EQ(register_ibm("Dev%20A").status, 201);
  EXPECT_EQ(call("GET", app_path("/devices/Dev%2520A")).status, 200);
  EXPECT_EQ(call("GET", app_path("/devices/dev%2520a")).status, 404);

  EXPECT_EQ(call("DELETE", app_path("/devices/12345-6789")).status, 204);
  EXPECT_EQ(call("GET", app_path("/devices/12345-6789")).status, 404);
  EXPECT_TRUE(record("12345-6789").is_null());
}

TEST_F(ibm_test, PocketAndIbmRegistrationsAreOneDevice) {
  // Pocket first (AppleDeveloper, associate 919), then IBM with userId 919.
  ASSERT_EQ(pocket("RegisterDeviceForPushNotification", pocket_device("phone-1", "AppleDeveloper")).status, 204);
  auto seen = call("GET", app_path("/devices/phone-1"));
  ASSERT_EQ(seen.status, 200) << seen.body;
  EXPECT_EQ(json::parse(seen.body).at("platform").as_string(), "A");
  EXPECT_EQ(json::parse(seen.body).at("token").as_string(), "pocket-tok");

  ASSERT_EQ(register_ibm("phone-1", "A", "919").status, 201);
  auto list = pocket("GetRegisteredDevices", R"({"AssociateId":919})");
  ASSERT_EQ(list.status, 200);
  auto arr = json::parse(list.body).as_array();
  ASSERT_EQ(arr.size(), 1u);
  const auto& d = arr[0].as_object();
  EXPECT_EQ(d.at("DeviceIdentifier").as_string(), "phone-1");
  EXPECT_EQ(d.at("PNSHandle").as_string(), "tok-phone-1");       // the IBM token
  EXPECT_EQ(d.at("Platform").as_string(), "AppleDeveloper");      // variant kept: same letter
  EXPECT_EQ(d.at("Language").as_string(), "nb-NO");               // Pocket fields kept
  EXPECT_EQ(d.at("TimeZoneId").as_int64(), 261);
  EXPECT_EQ(redis_.cli("SCARD " + prefix_ + ":devices").substr(0, 1), "1");
  auto ibm = json::parse(call("GET", app_path("/devices/phone-1")).body).as_object();
  EXPECT_EQ(ibm.at("userId").as_string(), "919");
  EXPECT_EQ(ibm.at("token").as_string(), "tok-phone-1");

  // A Pocket re-registration keeps the IBM registration fields.
  ASSERT_EQ(pocket("RegisterDeviceForPushNotification", pocket_device("phone-1", "AppleDeveloper")).status, 204);
  auto again = json::parse(call("GET", app_path("/devices/phone-1")).body).as_object();
  EXPECT_EQ(again.at("userId").as_string(), "919");
  EXPECT_TRUE(record("phone-1").as_object().contains("AppId"));
  EXPECT_EQ(record("phone-1").at("UserId").as_string(), "919");
  ASSERT_EQ(register_ibm("phone-1", "A", "919").status, 201);

  // A userId that is no associate id does not take the device from its owner.
  ASSERT_EQ(call("PUT", app_path("/devices/phone-1"), R"({"userId":"anna"})").status, 200);
  EXPECT_EQ(json::parse(pocket("GetRegisteredDevices", R"({"AssociateId":919})").body).as_array().size(), 1u);
  EXPECT_EQ(record("phone-1").at("AssociateId").as_int64(), 919);
  // A numeric userId moves it.
  ASSERT_EQ(call("PUT", app_path("/devices/phone-1"), R"({"userId":"42"})").status, 200);
  EXPECT_EQ(json::parse(pocket("GetRegisteredDevices", R"({"AssociateId":919})").body).as_array().size(), 0u);
  EXPECT_EQ(record("phone-1").at("AssociateId").as_int64(), 42);

  // IBM first, then seen through the Pocket agent; IBM DELETE unregisters it for both.
  ASSERT_EQ(register_ibm("phone-2", "G", "919").status, 201);
  auto list2 = json::parse(pocket("GetRegisteredDevices", R"({"AssociateId":919})").body).as_array();
  ASSERT_EQ(list2.size(), 1u);
  EXPECT_EQ(list2[0].at("Platform").as_string(), "Google");
  EXPECT_EQ(call("DELETE", app_path("/devices/phone-2")).status, 204);
  EXPECT_EQ(json::parse(pocket("GetRegisteredDevices", R"({"AssociateId":919})").body).as_array().size(), 0u);

  // A credential bound to associate 919 registers for 919 whatever the non-numeric userId.
  ASSERT_EQ(call("POST", app_path("/devices"), registration("phone-3", "A", "jdoe"), bound_token).status, 201);
  EXPECT_EQ(record("phone-3").at("AssociateId").as_int64(), 919);
}

TEST_F(ibm_test, PaginationAndFilters) {
  for (int i = 0; i < 5; ++i) ASSERT_EQ(register_ibm("d" + std::to_string(i), i % 2 ? "G" : "A", i < 3 ? "ann" : "bob").status, 201);
  ASSERT_EQ(register_ibm("elsewhere", "A", "ann", "other").status, 201);  // another app

  auto page1 = call("GET", app_path("/devices?size=2"));
  ASSERT_EQ(page1.status, 200) << page1.body;
  auto p1 = json::parse(page1.body).as_object();
  auto ids = [](const json::object& page) {
    std::vector<std::string> out;
    for (const auto& d : page.at("devices").as_array()) out.emplace_back(d.at("deviceId").as_string());
    return out;
  };
  EXPECT_EQ(ids(p1), (std::vector<std::string>{"d0", "d1"}));
  EXPECT_EQ(p1.at("pageInfo").at("count").as_int64(), 2);
  EXPECT_EQ(p1.at("pageInfo").at("totalCount").as_int64(), 5);
  EXPECT_EQ(p1.at("pageInfo").at("previous").as_string(), "");
  std::string next(p1.at("pageInfo").at("next").as_string());
  EXPECT_EQ(next, "/imfpush/v1/apps/myapp/devices?offset=2&size=2");
  auto p2 = json::parse(call("GET", next).body).as_object();
  EXPECT_EQ(ids(p2), (std::vector<std::string>{"d2", "d3"}));
  EXPECT_EQ(p2.at("pageInfo").at("previous").as_string(), "/imfpush/v1/apps/myapp/devices?offset=0&size=2");
  auto p3 = json::parse(call("GET", std::string(p2.at("pageInfo").at("next").as_string())).body).as_object();
  EXPECT_EQ(ids(p3), (std::vector<std::string>{"d4"}));
  EXPECT_EQ(p3.at("pageInfo").at("next").as_string(), "");
  auto beyond = json::parse(call("GET", app_path("/devices?offset=50")).body).as_object();
  EXPECT_EQ(beyond.at("devices").as_array().size(), 0u);
  EXPECT_EQ(beyond.at("pageInfo").at("totalCount").as_int64(), 5);
  // size over the bound is clamped to 100.
  auto big = json::parse(call("GET", app_path("/devices?size=1000")).body).as_object();
  EXPECT_EQ(big.at("devices").as_array().size(), 5u);

  auto g = json::parse(call("GET", app_path("/devices?filter=platform==G")).body).as_object();
  EXPECT_EQ(ids(g), (std::vector<std::string>{"d1", "d3"}));
  auto ann = json::parse(call("GET", app_path("/devices?userId=ann")).body).as_object();
  EXPECT_EQ(ids(ann), (std::vector<std::string>{"d0", "d1", "d2"}));
  auto ann_a = json::parse(call("GET", app_path("/devices?filter=platform==A&userId=ann&size=1&offset=1")).body).as_object();
  EXPECT_EQ(ids(ann_a), (std::vector<std::string>{"d2"}));
  EXPECT_EQ(ann_a.at("pageInfo").at("totalCount").as_int64(), 2);
  // The links keep the filters: following `previous` gives the first page.
  std::string prev(ann_a.at("pageInfo").at("previous").as_string());
  EXPECT_NE(prev.find("userId=ann&offset=0&size=1"), std::string::npos) << prev;
  EXPECT_EQ(ids(json::parse(call("GET", prev).body).as_object()), (std::vector<std::string>{"d0"})) << prev;
  auto bob_g = json::parse(call("GET", app_path("/devices?filter=platform==G;userId==bob")).body).as_object();
  EXPECT_EQ(ids(bob_g), (std::vector<std::string>{"d3"}));

  // Changing a device's user or platform moves it between the filtered lists.
  ASSERT_EQ(call("PUT", app_path("/devices/d0"), R"({"userId":"bob","platform":"W"})").status, 200);
  EXPECT_EQ(ids(json::parse(call("GET", app_path("/devices?userId=ann")).body).as_object()),
            (std::vector<std::string>{"d1", "d2"}));
  EXPECT_EQ(ids(json::parse(call("GET", app_path("/devices?filter=platform==W")).body).as_object()),
            (std::vector<std::string>{"d0"}));
  // Registering through another app moves the device there.
  ASSERT_EQ(register_ibm("d4", "G", "bob", "other").status, 201);
  EXPECT_EQ(call("GET", app_path("/devices/d4")).status, 404);
  EXPECT_EQ(json::parse(call("GET", app_path("/devices")).body).at("pageInfo").at("totalCount").as_int64(), 4);

  // A device removed behind the IBM routes' back is not listed, and the index heals.
  redis_.cli("DEL " + prefix_ + ":device:d1");
  auto healed = json::parse(call("GET", app_path("/devices")).body).as_object();
  EXPECT_EQ(ids(healed), (std::vector<std::string>{"d0", "d2", "d3"}));
  EXPECT_EQ(healed.at("pageInfo").at("totalCount").as_int64(), 3);
  EXPECT_EQ(json::parse(call("GET", app_path("/devices")).body).at("pageInfo").at("totalCount").as_int64(), 3);
}

TEST_F(ibm_test, BrowserRegistrationsAreTheWebPlatformReadBackAsWEB) {
  // The token of a Web device is the browser's subscription JSON (here with
  // the receiver key and auth secret of RFC 8291's example), checked like a
  // Pocket registration's.
  auto browser = [&](const std::string& id, const std::string& platform, const std::string& user) {
    json::object keys{{"p256dh", "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"},
                      {"auth", "BTBZMqHH6r4Tts7J_aSIgg"}};
    json::object sub{{"endpoint", "https://fcm.googleapis.com/fcm/send/" + id}, {"keys", keys}};
    json::object body{{"deviceId", id}, {"platform", platform}, {"token", json::serialize(sub)}, {"userId", user}};
    return call("POST", app_path("/devices"), json::serialize(body));
  };
  auto registered = browser("chrome", "WEB_CHROME", "919");
  ASSERT_EQ(registered.status, 201) << registered.body;
  ASSERT_EQ(browser("firefox", "WEB", "admin").status, 201);
  ASSERT_EQ(register_ibm("windows", "W").status, 201);
  EXPECT_EQ(browser("safari", "WEB_SAFARI", "admin").status, 400);  // APNs website push, not Web Push
  auto not_a_subscription = register_ibm("bad", "WEB");             // token "tok-bad"
  EXPECT_EQ(not_a_subscription.status, 400);
  EXPECT_NE(not_a_subscription.body.find("\"message\":\"token: PNSHandle of a Web device must be the subscription JSON"),
            std::string::npos)
      << not_a_subscription.body;
  auto chrome = json::parse(call("GET", app_path("/devices/chrome")).body).as_object();
  EXPECT_EQ(chrome.at("platform").as_string(), "WEB");
  auto ids = [](const json::object& page) {
    std::vector<std::string> out;
    for (const auto& d : page.at("devices").as_array()) out.emplace_back(d.at("deviceId").as_string());
    std::sort(out.begin(), out.end());
    return out;
  };
  // WEB and its aliases select the browsers; W (Windows) does not.
  for (std::string value : {"WEB", "WEB_FIREFOX"})
    EXPECT_EQ(ids(json::parse(call("GET", app_path("/devices?filter=platform==" + value)).body).as_object()),
              (std::vector<std::string>{"chrome", "firefox"}))
        << value;
  EXPECT_EQ(ids(json::parse(call("GET", app_path("/devices?filter=platform==W")).body).as_object()),
            (std::vector<std::string>{"windows"}));
  // Pocket sees the same device with Platform "Web".
  auto list = json::parse(pocket("GetRegisteredDevices", R"({"AssociateId":919})").body).as_array();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].at("DeviceIdentifier").as_string(), "chrome");
  EXPECT_EQ(list[0].at("Platform").as_string(), "Web");
}

TEST_F(ibm_test, SubscriptionsAreKeptApartFromPocketTags) {
  ASSERT_EQ(register_ibm("s1", "A", "ann").status, 201);
  ASSERT_EQ(register_ibm("s2", "G", "bob").status, 201);
  auto sub = [&](const std::string& d, const std::string& t) {
    return call("POST", app_path("/subscriptions"), R"({"deviceId":")" + d + R"(","tagName":")" + t + R"("})");
  };
  auto first = sub("s1", "Gold");
  ASSERT_EQ(first.status, 201) << first.body;
  auto fo = json::parse(first.body).as_object();
  EXPECT_EQ(fo.at("deviceId").as_string(), "s1");
  EXPECT_EQ(fo.at("tagName").as_string(), "Gold");
  EXPECT_EQ(fo.at("userId").as_string(), "ann");
  ASSERT_EQ(sub("s1", "Silver").status, 201);
  ASSERT_EQ(sub("s2", "Gold").status, 201);
  ASSERT_EQ(sub("s2", "Gold").status, 201);  // idempotent

  // The device record carries the subscriptions (what the broker's fan-out
  // of an IBM message to tagNames reads), apart from the Pocket tags, which
  // stay "never set": the device keeps getting its appointment alarms.
  auto field = [&](const std::string& d, const char* name) {
    std::vector<std::string> out;
    auto r = record(d);
    if (r.is_object() && r.as_object().contains(name))
      for (const auto& t : r.at(name).as_array()) out.emplace_back(t.as_string());
    return out;
  };
  auto tags = [&](const std::string& d) { return field(d, "Subscriptions"); };
  EXPECT_FALSE(record("s1").as_object().contains("Tags"));
  EXPECT_EQ(tags("s1"), (std::vector<std::string>{"Gold", "Silver"}));
  EXPECT_EQ(tags("s2"), (std::vector<std::string>{"Gold"}));

  auto list = [&](const std::string& query) {
    auto r = call("GET", app_path("/subscriptions" + query));
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<std::string> out;
    auto o = json::parse(r.body).as_object();
    for (const auto& s : o.at("subscriptions").as_array())
      out.push_back(std::string(s.at("deviceId").as_string()) + "/" + std::string(s.at("tagName").as_string()) + "/" +
                    std::string(s.at("userId").as_string()));
    return out;
  };
  EXPECT_EQ(list(""), (std::vector<std::string>{"s1/Gold/ann", "s1/Silver/ann", "s2/Gold/bob"}));
  EXPECT_EQ(list("?deviceId=s1"), (std::vector<std::string>{"s1/Gold/ann", "s1/Silver/ann"}));
  EXPECT_EQ(list("?tagName=Gold"), (std::vector<std::string>{"s1/Gold/ann", "s2/Gold/bob"}));
  EXPECT_EQ(list("?userId=bob"), (std::vector<std::string>{"s2/Gold/bob"}));
  EXPECT_EQ(list("?tagName=Gold&userId=ann"), (std::vector<std::string>{"s1/Gold/ann"}));
  EXPECT_EQ(list("?deviceId=nope"), (std::vector<std::string>{}));
  EXPECT_EQ(list("?size=2&offset=2"), (std::vector<std::string>{"s2/Gold/bob"}));
  auto page = json::parse(call("GET", app_path("/subscriptions?size=2")).body).as_object();
  EXPECT_EQ(page.at("pageInfo").at("totalCount").as_int64(), 3);
  EXPECT_EQ(page.at("pageInfo").at("next").as_string(), "/imfpush/v1/apps/myapp/subscriptions?offset=2&size=2");

  ASSERT_EQ(call("DELETE", app_path("/subscriptions?deviceId=s1&tagName=Gold")).status, 204);
  EXPECT_EQ(tags("s1"), (std::vector<std::string>{"Silver"}));
  EXPECT_EQ(list("?tagName=Gold"), (std::vector<std::string>{"s2/Gold/bob"}));
  EXPECT_EQ(call("DELETE", app_path("/subscriptions?deviceId=s1&tagName=Gold")).status, 404);

  // An IBM registration of the same device keeps its subscriptions.
  ASSERT_EQ(register_ibm("s1", "A", "ann").status, 201);
  EXPECT_EQ(tags("s1"), (std::vector<std::string>{"Silver"}));
  // Subscribing a Pocket-only device makes it part of the app.
  ASSERT_EQ(pocket("RegisterDeviceForPushNotification", pocket_device("p1")).status, 204);
  ASSERT_EQ(pocket("SetPushNotificationTagsForDevice", R"({"DeviceIdentifier":"p1","Tags":"AppointmentAlarm"})").status, 204);
  ASSERT_EQ(sub("p1", "Gold").status, 201);
  EXPECT_EQ(tags("p1"), (std::vector<std::string>{"Gold"}));
  EXPECT_EQ(field("p1", "Tags"), (std::vector<std::string>{"AppointmentAlarm"}));  // Pocket's choice untouched
  // A Pocket re-registration keeps the subscriptions too.
  ASSERT_EQ(pocket("RegisterDeviceForPushNotification", pocket_device("p1")).status, 204);
  EXPECT_EQ(tags("p1"), (std::vector<std::string>{"Gold"}));
  EXPECT_EQ(field("p1", "Tags"), (std::vector<std::string>{"AppointmentAlarm"}));
  EXPECT_EQ(list("?tagName=Gold"), (std::vector<std::string>{"p1/Gold/", "s2/Gold/bob"}));
  // 64 tags at most per device.
  for (int i = 0; i < 63; ++i) ASSERT_EQ(sub("p1", "t" + std::to_string(i)).status, 201) << i;
  EXPECT_EQ(sub("p1", "one-too-many").status, 400);
}

TEST_F(ibm_test, RedisDownIs500WithJsonBody) {
  ASSERT_EQ(register_ibm("r1").status, 201);
  redis_.stop();
  ASSERT_TRUE(wait_ready(false));
  struct down_case {
    std::string method, target, body;
  };
  const std::vector<down_case> cases{
      {"GET", app_path("/devices/r1"), ""},
      {"GET", app_path("/devices"), ""},
      {"POST", app_path("/devices"), registration("r2")},
      {"PUT", app_path("/devices/r1"), R"({"userId":"x"})"},
      {"DELETE", app_path("/devices/r1"), ""},
      {"POST", app_path("/subscriptions"), R"({"deviceId":"r1","tagName":"Gold"})"},
      {"GET", app_path("/subscriptions"), ""},
      {"DELETE", app_path("/subscriptions?deviceId=r1&tagName=Gold"), ""},
      {"POST", app_path("/messages"), R"({"message":{"alert":"a"}})"},
  };
  for (const auto& c : cases) {
    auto r = call(c.method, c.target, c.body);
    EXPECT_EQ(r.status, 500) << c.method << " " << c.target << ": " << r.body;
    auto err = json::parse(r.body).as_object();
    EXPECT_EQ(err.at("code").as_string(), "InternalError");
    EXPECT_NE(err.at("message").as_string().find("store"), std::string::npos) << r.body;
  }
  redis_.start();  // empty (no persistence in tests): a dataset reset, acknowledged here once seen
  {
    http_client m("127.0.0.1", port_);
    bool detected = false;
    for (int i = 0; i < 500 && !detected; ++i) {
      detected = m.request("GET", "/metrics").body.find("herald_redis_data_resets_total 1") != std::string::npos;
      if (!detected) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(detected) << daemon_->output();
  }
  child_process ack({HERALD_TEST_BINARY, "redis", "ack-reset", "--config", dir_ + "/herald.yaml"}, dir_ + "/ack.log");
  ASSERT_EQ(ack.wait(std::chrono::seconds(10)), 0) << ack.output();
  ASSERT_TRUE(wait_ready(true)) << daemon_->output();
  EXPECT_EQ(register_ibm("r3").status, 201);
}

// POST /messages in-process: the real http_api and Redis, with a
// submit_push that records what it is given.
class ibm_message_test : public ::testing::Test {
 protected:
  void SetUp() override {
    auth_settings settings;
    token_credential cred;
    cred.name = "admin";
    cred.sha256 = sha256_digest(admin_token);
    cred.scopes = {"devices.write", "messages.write", "push.application.myapp"};
    settings.tokens.push_back(cred);
    auth_ = std::make_unique<authenticator>(settings);
    redis_settings rs;
    rs.host = "127.0.0.1";
    rs.port = redis_.port();
    rs.url = redis_.url();
    rs.key_prefix = "m";
    client_ = redis_client::create(ioc_.get_executor(), rs, log_);
    devices_ = std::make_unique<device_registry>(client_, "m");
    client_->start();
    runner_ = std::thread([this] { ioc_.run(); });
    for (int i = 0; i < 500 && !client_->connected(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_TRUE(client_->connected());
  }
  void TearDown() override {
    if (runner_.joinable()) {
      std::promise<void> stopped;
      boost::asio::post(ioc_, [this, &stopped] {
        client_->stop();
        stopped.set_value();
      });
      stopped.get_future().wait();
    }
    work_.reset();
    ioc_.stop();
    if (runner_.joinable()) runner_.join();
  }

  // Records what the API submits; the appointment and run operations are not used here.
  class recording_broker final : public broker_gateway {
   public:
    explicit recording_broker(std::vector<push_message>& out) : out_(out) {}
    boost::asio::awaitable<boost::system::result<std::string>> submit(push_message m) override {
      out_.push_back(std::move(m));
      co_return std::string("msg-" + std::to_string(out_.size()));
    }
    boost::asio::awaitable<boost::system::error_code> run_once() override {
      co_return make_error_code(boost::system::errc::operation_not_supported);
    }
    boost::asio::awaitable<boost::system::result<appointment_written>> put_appointment(const appointment&) override {
      co_return make_error_code(boost::system::errc::operation_not_supported);
    }
    boost::asio::awaitable<boost::system::result<std::optional<appointment>>> get_appointment(const std::string&) override {
      co_return make_error_code(boost::system::errc::operation_not_supported);
    }
    boost::asio::awaitable<boost::system::result<bool>> delete_appointment(const std::string&) override {
      co_return boost::system::result<bool>(boost::system::in_place_error,
                                            make_error_code(boost::system::errc::operation_not_supported));
    }

   private:
    std::vector<push_message>& out_;
  };

  std::unique_ptr<http_api> make_service(bool wired) {
    return std::make_unique<http_api>(http_api_dependencies{.log = log_, .metrics = metrics_, .auth = *auth_, .redis = client_,
                                                            .key_prefix = "m", .devices = *devices_,
                                                            .broker = wired ? &broker_ : nullptr, .check_device = {},
                                                            .extra_readiness = {}});
  }

  herald::api_response send(http_api& api, boost::beast::http::verb verb, const std::string& target,
                             const std::string& body) {
    auto req = std::make_shared<api_request>(verb, target, 11);
    req->set(boost::beast::http::field::authorization, "Bearer " + admin_token);
    req->set(boost::beast::http::field::content_type, "application/json");
    req->body() = body;
    req->prepare_payload();
    auto fut = boost::asio::co_spawn(ioc_, [&api, req]() { return api.handle(*req); }, boost::asio::use_future);
    return fut.get();
  }

  redis_server redis_;
  logger log_{log_level::warning};
  metrics_registry metrics_;
  std::unique_ptr<authenticator> auth_;
  boost::asio::io_context ioc_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{ioc_.get_executor()};
  std::shared_ptr<redis_client> client_;
  std::unique_ptr<device_registry> devices_;
  std::thread runner_;
  std::vector<push_message> submitted_;  // touched on the io_context thread only while a request runs
  recording_broker broker_{submitted_};
};

TEST_F(ibm_message_test, AcceptedMessagesReachTheBrokerMapped) {
  using boost::beast::http::verb;
  auto api = make_service(true);
  auto reg = [&](const std::string& id, const std::string& platform, const std::string& user) {
    return send(*api, verb::post, "/imfpush/v1/apps/myapp/devices",
                R"({"deviceId":")" + id + R"(","platform":")" + platform + R"(","token":"t","userId":")" + user + R"("})");
  };
  ASSERT_EQ(reg("a1", "A", "anna").result_int(), 201);
  ASSERT_EQ(reg("a2", "G", "anna").result_int(), 201);
  ASSERT_EQ(reg("b1", "A", "919").result_int(), 201);

  auto r = send(*api, verb::post, "/imfpush/v1/apps/myapp/messages",
                R"({"message":{"alert":"Hello","url":"https://e.example"},
                    "target":{"deviceIds":["x1"],"userIds":["919","anna"],"platforms":["G"],"tagNames":["Gold"]},
                    "settings":{"apns":{"title":"Hi","payload":{"k":"v"}},"gcm":{"timeToLive":30}}})");
  ASSERT_EQ(r.result_int(), 202) << r.body();
  auto o = json::parse(r.body()).as_object();
  EXPECT_EQ(o.at("messageId").as_string(), "msg-1");
  EXPECT_EQ(o.at("message").at("alert").as_string(), "Hello");
  ASSERT_EQ(submitted_.size(), 1u);
  const auto& m = submitted_[0];
  EXPECT_EQ(m.associate_ids, (std::vector<std::int64_t>{919}));
  EXPECT_EQ(m.device_identifiers, (std::vector<std::string>{"x1", "a1", "a2"}));  // anna's devices resolved
  EXPECT_EQ(m.platforms, (std::vector<std::string>{"Google", "GoogleDeveloper"}));
  EXPECT_EQ(m.tags, (std::vector<std::string>{"Gold"}));
  EXPECT_EQ(m.app_id, "myapp");
  EXPECT_EQ(m.title, "Hi");
  EXPECT_EQ(m.body, "Hello");
  EXPECT_EQ(m.url, "https://e.example");
  EXPECT_EQ(m.time_to_live_s, 30);
  EXPECT_EQ(m.data, (std::vector<std::pair<std::string, std::string>>{{"k", "v"}}));

  // No deviceIds/userIds: every device of the app, restricted by platform.
  auto all = send(*api, verb::post, "/imfpush/v1/apps/myapp/messages",
                  R"({"message":{"alert":"All"},"target":{"platforms":["A"]}})");
  ASSERT_EQ(all.result_int(), 202) << all.body();
  ASSERT_EQ(submitted_.size(), 2u);
  EXPECT_EQ(submitted_[1].device_identifiers, (std::vector<std::string>{"a1", "a2", "b1"}));
  EXPECT_EQ(submitted_[1].platforms, (std::vector<std::string>{"Apple", "AppleDeveloper", "AppleAdHoc"}));
  EXPECT_TRUE(submitted_[1].associate_ids.empty());
}

TEST_F(ibm_message_test, UnwiredFanOutIs500) {
  auto api = make_service(false);
  auto r = send(*api, boost::beast::http::verb::post, "/imfpush/v1/apps/myapp/messages",
                R"({"message":{"alert":"Hello"},"target":{"deviceIds":["x"]}})");
  EXPECT_EQ(r.result_int(), 500);
  auto o = json::parse(r.body()).as_object();
  EXPECT_EQ(o.at("code").as_string(), "InternalError");
  EXPECT_NE(o.at("message").as_string().find("not wired"), std::string::npos);
}

}  // namespace
}  // namespace herald::test
