#include "api/ibm/ibm_codec.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace herald {
namespace {

namespace json = boost::json;

template <typename T>
const api_error* error_of(const decoded<T>& d) {
  return std::get_if<api_error>(&d);
}

struct bad_body {
  std::string name;
  std::string body;
  std::string message_part;  // expected in the error message
};

// Every 400 of POST /devices.
TEST(ibm_codec, RegistrationBadRequests) {
  const std::string long_user(255, 'u');
  const std::vector<bad_body> cases{
      {"not json", R"({"deviceId":)", "not valid JSON"},
      {"not an object", R"(["a"])", "JSON object"},
      {"missing deviceId", R"({"platform":"A","token":"t"})", "deviceId"},
      {"empty deviceId", R"({"deviceId":"","platform":"A","token":"t"})", "deviceId"},
      {"deviceId too long", R"({"deviceId":")" + std::string(257, 'd') + R"(","platform":"A","token":"t"})", "deviceId"},
      {"deviceId not a string", R"({"deviceId":5,"platform":"A","token":"t"})", "deviceId must be a string"},
      {"missing platform", R"({"deviceId":"d","token":"t"})", "platform"},
      {"bad platform", R"({"deviceId":"d","platform":"X","token":"t"})", "platform 'X'"},
      {"lowercase platform", R"({"deviceId":"d","platform":"a","token":"t"})", "platform 'a'"},
      {"missing token", R"({"deviceId":"d","platform":"A"})", "token"},
      {"empty token", R"({"deviceId":"d","platform":"G","token":""})", "token"},
      {"token too long", R"({"deviceId":"d","platform":"G","token":")" + std::string(4097, 't') + R"("})", "token"},
      {"userId over 254", R"({"deviceId":"d","platform":"A","token":"t","userId":")" + long_user + R"("})", "254"},
      {"userId not a string", R"({"deviceId":"d","platform":"A","token":"t","userId":919})", "userId"},
      {"userAgent too long", R"({"deviceId":"d","platform":"A","token":"t","userAgent":")" + std::string(300, 'a') + R"("})", "userAgent"},
      {"phoneNumber too long", R"({"deviceId":"d","platform":"A","token":"t","phoneNumber":")" + std::string(300, '1') + R"("})", "phoneNumber"},
  };
  for (const auto& c : cases) {
    auto d = decode_ibm_device_registration(c.body);
    const auto* e = error_of(d);
    ASSERT_NE(e, nullptr) << c.name;
    EXPECT_EQ(e->status, 400) << c.name;
    EXPECT_EQ(e->type, "BadRequest") << c.name;
    EXPECT_NE(e->message.find(c.message_part), std::string::npos) << c.name << ": " << e->message;
  }
}

TEST(ibm_codec, RegistrationDecodes) {
  auto d = decode_ibm_device_registration(
      R"({"deviceId":"12345-6789","phoneNumber":"123456789","platform":"G","token":"xyz","userId":"admin","userAgent":"UA/1","extra":1})");
  ASSERT_EQ(error_of(d), nullptr);
  const auto& r = std::get<ibm_device_registration>(d);
  EXPECT_EQ(r.device_id, "12345-6789");
  EXPECT_EQ(r.phone_number, "123456789");
  EXPECT_EQ(r.platform, notification_platform::google);
  EXPECT_EQ(r.token, "xyz");
  EXPECT_EQ(r.user_id, "admin");
  EXPECT_EQ(r.user_agent, "UA/1");
  // userId exactly 254 is fine; absent stays absent.
  auto edge = decode_ibm_device_registration(R"({"deviceId":"d","platform":"W","token":"t","userId":")" + std::string(254, 'u') + R"("})");
  ASSERT_EQ(error_of(edge), nullptr);
  auto absent = decode_ibm_device_registration(R"({"deviceId":"d","platform":"W","token":"t","userId":null})");
  ASSERT_EQ(error_of(absent), nullptr);
  EXPECT_FALSE(std::get<ibm_device_registration>(absent).user_id.has_value());
}

// The PUT body IBM documents, and its 400s.
TEST(ibm_codec, UpdateSeedBodyAndBadRequests) {
  // Seed 002's example exactly as published (trailing comma included).
  const std::string seed = "{\n  \"deviceId\" : \"12345-6789\",\n  \"phoneNumber\" : \"123456789\",\n"
                           "  \"token\" : \"xyz\",\n  \"userId\" : \"admin\",\n}";
  ASSERT_EQ(error_of(decode_ibm_device_update(seed, "12345-6789")), nullptr);
  auto ok = decode_ibm_device_update(R"({"deviceId":"12345-6789","phoneNumber":"123456789","token":"xyz","userId":"admin"})", "12345-6789");
  ASSERT_EQ(error_of(ok), nullptr);
  const auto& u = std::get<ibm_device_update>(ok);
  EXPECT_EQ(u.token, "xyz");
  EXPECT_EQ(u.user_id, "admin");
  EXPECT_EQ(u.phone_number, "123456789");
  EXPECT_FALSE(u.platform.has_value());
  auto only_user = decode_ibm_device_update(R"({"userId":"919"})", "d");
  ASSERT_EQ(error_of(only_user), nullptr);
  EXPECT_FALSE(std::get<ibm_device_update>(only_user).token.has_value());

  const std::vector<bad_body> cases{
      {"userId over 254", R"({"userId":")" + std::string(255, 'x') + R"("})", "longer than 254"},
      {"deviceId differs", R"({"deviceId":"other"})", "differs"},
      {"empty token", R"({"token":""})", "token"},
      {"bad platform", R"({"platform":"Z"})", "platform"},
      {"bad json", "{", "JSON"},
      {"token not a string", R"({"token":[1]})", "token"},
  };
  for (const auto& c : cases) {
    auto d = decode_ibm_device_update(c.body, "d");
    const auto* e = error_of(d);
    ASSERT_NE(e, nullptr) << c.name;
    EXPECT_EQ(e->status, 400) << c.name;
    EXPECT_NE(e->message.find(c.message_part), std::string::npos) << c.name << ": " << e->message;
  }
}

TEST(ibm_codec, SubscriptionBadRequests) {
  const std::vector<bad_body> cases{
      {"bad json", "nope", "JSON"},
      {"missing deviceId", R"({"tagName":"Gold"})", "deviceId"},
      {"missing tagName", R"({"deviceId":"d"})", "tagName"},
      {"empty tagName", R"({"deviceId":"d","tagName":""})", "tagName"},
      {"tag with comma", R"({"deviceId":"d","tagName":"a,b"})", "comma"},
      {"tag too long", R"({"deviceId":"d","tagName":")" + std::string(129, 't') + R"("})", "tagName"},
  };
  for (const auto& c : cases) {
    auto d = decode_ibm_subscription(c.body);
    const auto* e = error_of(d);
    ASSERT_NE(e, nullptr) << c.name;
    EXPECT_EQ(e->status, 400) << c.name;
    EXPECT_NE(e->message.find(c.message_part), std::string::npos) << c.name << ": " << e->message;
  }
  auto ok = decode_ibm_subscription(R"({"deviceId":"d","tagName":"Gold"})");
  ASSERT_EQ(error_of(ok), nullptr);
  EXPECT_EQ(std::get<ibm_subscription>(ok).tag_name, "Gold");
}

TEST(ibm_codec, MessageBadRequests) {
  const std::vector<bad_body> cases{
      {"bad json", "{", "JSON"},
      {"no message", R"({"target":{}})", "message"},
      {"no alert", R"({"message":{}})", "alert"},
      {"alert not string", R"({"message":{"alert":1}})", "alert"},
      {"alert too long", R"({"message":{"alert":")" + std::string(4001, 'a') + R"("}})", "alert"},
      {"target not object", R"({"message":{"alert":"a"},"target":[]})", "target"},
      {"empty deviceIds", R"({"message":{"alert":"a"},"target":{"deviceIds":[]}})", "empty"},
      {"deviceIds not strings", R"({"message":{"alert":"a"},"target":{"deviceIds":[1]}})", "deviceIds"},
      {"bad platform", R"({"message":{"alert":"a"},"target":{"platforms":["A","X"]}})", "platforms"},
      {"userId over 254", R"({"message":{"alert":"a"},"target":{"userIds":[")" + std::string(255, 'u') + R"("]}})", "254"},
      {"tag with comma", R"({"message":{"alert":"a"},"target":{"tagNames":["a,b"]}})", "comma"},
      {"bad apns type", R"({"message":{"alert":"a"},"settings":{"apns":{"type":"LOUD"}}})", "type"},
      {"payload not object", R"({"message":{"alert":"a"},"settings":{"gcm":{"payload":"x"}}})", "payload"},
      {"ttl negative", R"({"message":{"alert":"a"},"settings":{"gcm":{"timeToLive":-1}}})", "timeToLive"},
  };
  for (const auto& c : cases) {
    auto d = decode_ibm_message(c.body);
    const auto* e = error_of(d);
    ASSERT_NE(e, nullptr) << c.name;
    EXPECT_EQ(e->status, 400) << c.name;
    EXPECT_NE(e->message.find(c.message_part), std::string::npos) << c.name << ": " << e->message;
  }
}

TEST(ibm_codec, MessageMapsToPushMessage) {
  auto d = decode_ibm_message(R"({
    "message":{"alert":"Hello","url":"https://x.example/a"},
    "target":{"deviceIds":["d1","d2"],"userIds":["919","admin","007"],"platforms":["A","W"],"tagNames":["Gold"]},
    "settings":{"apns":{"title":"T","type":"SILENT","payload":{"k":"v","n":1}},
                "gcm":{"timeToLive":60,"payload":{"k":"ignored","g":"x"},"style":{"title":"ignored"}}}})");
  ASSERT_EQ(error_of(d), nullptr) << std::get<api_error>(d).message;
  const auto& m = std::get<ibm_message_request>(d);
  auto p = to_push_message(m, "myapp", {"d2", "d3"});
  EXPECT_EQ(p.associate_ids, (std::vector<std::int64_t>{919}));
  EXPECT_EQ(p.device_identifiers, (std::vector<std::string>{"d1", "d2", "d3"}));
  EXPECT_EQ(p.platforms, (std::vector<std::string>{"Apple", "AppleDeveloper", "AppleAdHoc", "Microsoft"}));
  EXPECT_EQ(p.tags, (std::vector<std::string>{"Gold"}));
  EXPECT_EQ(p.app_id, "myapp");
  auto web = decode_ibm_message(R"({"message":{"alert":"a"},"target":{"platforms":["WEB_CHROME","WEB_FIREFOX","W"]}})");
  ASSERT_EQ(error_of(web), nullptr) << std::get<api_error>(web).message;
  EXPECT_EQ(to_push_message(std::get<ibm_message_request>(web), "myapp", {}).platforms,
            (std::vector<std::string>{"Web", "Microsoft"}));
  EXPECT_EQ(p.title, "T");
  EXPECT_EQ(p.body, "Hello");
  EXPECT_EQ(p.url, "https://x.example/a");
  EXPECT_TRUE(p.silent);
  EXPECT_EQ(p.time_to_live_s, 60);
  using kv = std::pair<std::string, std::string>;
  EXPECT_EQ(p.data, (std::vector<kv>{{"k", "v"}, {"n", "1"}, {"g", "x"}}));
  EXPECT_EQ(json::parse(m.message_json).at("alert").as_string(), "Hello");

  auto accepted = json::parse(encode_ibm_message_accepted(m.message_json, "m-1")).as_object();
  EXPECT_EQ(accepted.at("messageId").as_string(), "m-1");
  EXPECT_EQ(accepted.at("message").at("url").as_string(), "https://x.example/a");
}

TEST(ibm_codec, PlatformLettersAndUserIds) {
  EXPECT_EQ(platform_from_ibm("A"), notification_platform::apple);
  EXPECT_EQ(platform_from_ibm("G"), notification_platform::google);
  EXPECT_EQ(platform_from_ibm("W"), notification_platform::microsoft);
  EXPECT_FALSE(platform_from_ibm("Apple"));
  EXPECT_EQ(ibm_platform_letter(notification_platform::apple_developer), 'A');
  EXPECT_EQ(ibm_platform_letter(notification_platform::apple_ad_hoc), 'A');
  EXPECT_EQ(ibm_platform_letter(notification_platform::google_developer), 'G');
  EXPECT_EQ(ibm_platform_letter(notification_platform::microsoft), 'W');
  // Herald's Web platform: WEB, or IBM Cloud Push's browser values for Web Push.
  for (auto v : {"WEB", "WEB_CHROME", "WEB_FIREFOX", "WEB_EDGE"}) EXPECT_EQ(platform_from_ibm(v), notification_platform::web) << v;
  EXPECT_FALSE(platform_from_ibm("WEB_SAFARI"));  // APNs website push, not Web Push
  EXPECT_FALSE(platform_from_ibm("B"));           // the registry's internal code is not an IBM value
  EXPECT_FALSE(platform_from_ibm("web"));
  EXPECT_EQ(ibm_platform_letter(notification_platform::web), 'B');
  EXPECT_EQ(ibm_platform_value(notification_platform::web), "WEB");
  EXPECT_EQ(ibm_platform_value(notification_platform::apple_ad_hoc), "A");
  EXPECT_EQ(ibm_platform_value(notification_platform::microsoft), "W");
  EXPECT_EQ(platform_names_for_ibm('B'), std::vector<std::string>{"Web"});
  device_info browser;
  browser.device_identifier = "b1";
  browser.platform = notification_platform::web;
  EXPECT_EQ(json::parse(encode_ibm_registration(browser)).at("platform").as_string(), "WEB");

  struct user_case {
    std::string user_id;
    std::optional<std::int64_t> associate;
  };
  const std::vector<user_case> users{
      {"919", 919}, {"1", 1}, {"9223372036854775807", 9223372036854775807LL}, {"0", std::nullopt},
      {"007", std::nullopt}, {"-5", std::nullopt}, {"+5", std::nullopt}, {"9223372036854775808", std::nullopt},
      {"admin", std::nullopt}, {"12a", std::nullopt}, {"", std::nullopt}, {" 12", std::nullopt},
  };
  for (const auto& c : users) EXPECT_EQ(associate_from_user_id(c.user_id), c.associate) << c.user_id;

  EXPECT_TRUE(valid_ibm_app_id("my-app.v2_x"));
  EXPECT_FALSE(valid_ibm_app_id(""));
  EXPECT_FALSE(valid_ibm_app_id("a:b"));
  EXPECT_FALSE(valid_ibm_app_id(std::string(129, 'a')));
}

TEST(ibm_codec, AcceptAndContentType) {
  struct accept_case {
    std::string header;
    bool ok;
  };
  const std::vector<accept_case> accepts{
      {"", true}, {"application/json", true}, {"Application/JSON; charset=utf-8", true}, {"*/*", true},
      {"application/*", true}, {"text/html, application/json;q=0.1", true}, {"application/xml", false},
      {"text/json", false}, {"text/html", false}, {"application/json;q=0", false}, {"text/*", false},
  };
  for (const auto& c : accepts) EXPECT_EQ(ibm_accepts_json(c.header), c.ok) << c.header;
  EXPECT_TRUE(ibm_is_json_content_type("application/json"));
  EXPECT_TRUE(ibm_is_json_content_type("application/json; charset=utf-8"));
  EXPECT_FALSE(ibm_is_json_content_type(""));
  EXPECT_FALSE(ibm_is_json_content_type("text/plain"));
  EXPECT_FALSE(ibm_is_json_content_type("application/xml"));
}

TEST(ibm_codec, DeviceQuery) {
  using opt = std::optional<std::string>;
  auto q = decode_ibm_device_query(opt{"platform==A"}, opt{"admin"}, opt{"10"}, opt{"5"});
  ASSERT_EQ(error_of(q), nullptr);
  const auto& v = std::get<ibm_device_query>(q);
  EXPECT_EQ(v.platform, 'A');
  EXPECT_EQ(v.user_id, "admin");
  EXPECT_EQ(v.offset, 10u);
  EXPECT_EQ(v.size, 5u);
  auto defaults = std::get<ibm_device_query>(decode_ibm_device_query({}, {}, {}, {}));
  EXPECT_EQ(defaults.offset, 0u);
  EXPECT_EQ(defaults.size, ibm_default_page_size);
  EXPECT_FALSE(defaults.platform);
  auto clamped = std::get<ibm_device_query>(decode_ibm_device_query({}, {}, {}, opt{"100000"}));
  EXPECT_EQ(clamped.size, ibm_max_page_size);
  // WEB_* values start with W but are the Web platform, not Windows.
  EXPECT_EQ(std::get<ibm_device_query>(decode_ibm_device_query(opt{"platform==WEB_CHROME"}, {}, {}, {})).platform, 'B');
  EXPECT_EQ(std::get<ibm_device_query>(decode_ibm_device_query(opt{"platform==WEB"}, {}, {}, {})).platform, 'B');
  auto both = std::get<ibm_device_query>(decode_ibm_device_query(opt{"platform==G;userId==bob"}, {}, {}, {}));
  EXPECT_EQ(both.platform, 'G');
  EXPECT_EQ(both.user_id, "bob");

  struct bad_query {
    opt filter, user, offset, size;
  };
  const std::vector<bad_query> bad{
      {opt{"platform==X"}, {}, {}, {}}, {opt{"platform=A"}, {}, {}, {}}, {opt{"token==x"}, {}, {}, {}},
      {{}, {}, opt{"-1"}, {}},          {{}, {}, opt{"x"}, {}},          {{}, {}, {}, opt{"0"}},
      {{}, {}, {}, opt{""}},            {{}, opt{std::string(255, 'u')}, {}, {}},
      {opt{"userId==a"}, opt{"b"}, {}, {}},
  };
  for (const auto& c : bad) {
    auto d = decode_ibm_device_query(c.filter, c.user, c.offset, c.size);
    ASSERT_NE(error_of(d), nullptr) << c.filter.value_or("") << " " << c.offset.value_or("") << " " << c.size.value_or("");
    EXPECT_EQ(error_of(d)->status, 400);
  }
}

TEST(ibm_codec, EncodesRegistrationAndPages) {
  device_info d;
  d.device_identifier = "12345-6789";
  d.phone_number = "123456789";
  d.platform = notification_platform::apple_developer;
  d.pns_handle = "xyz";
  d.user_id = "admin";
  d.user_agent = "UA";
  d.created_at_ms = 1432122131000;  // 2015-05-20T11:42:11Z
  d.registered_at_ms = 1432122191500;
  auto o = json::parse(encode_ibm_registration(d)).as_object();
  EXPECT_EQ(o.at("createdMode").as_string(), "API");
  EXPECT_EQ(o.at("createdTime").as_string(), "2015-05-20T11:42:11Z");
  EXPECT_EQ(o.at("lastUpdatedTime").as_string(), "2015-05-20T11:43:11Z");
  EXPECT_EQ(o.at("deviceId").as_string(), "12345-6789");
  EXPECT_EQ(o.at("phoneNumber").as_string(), "123456789");
  EXPECT_EQ(o.at("platform").as_string(), "A");
  EXPECT_EQ(o.at("token").as_string(), "xyz");
  EXPECT_EQ(o.at("userId").as_string(), "admin");
  EXPECT_EQ(o.at("userAgent").as_string(), "UA");
  EXPECT_EQ(format_iso8601_utc(0), "1970-01-01T00:00:00Z");

  auto first = make_ibm_page_info("/imfpush/v1/apps/a/devices", {{"userId", "a b&c"}}, 0, 2, 2, 5);
  EXPECT_EQ(first.previous, "");
  EXPECT_EQ(first.next, "/imfpush/v1/apps/a/devices?userId=a%20b%26c&offset=2&size=2");
  auto last = make_ibm_page_info("/p", {}, 4, 2, 1, 5);
  EXPECT_EQ(last.next, "");
  EXPECT_EQ(last.previous, "/p?offset=2&size=2");
  auto list = json::parse(encode_ibm_device_list({d}, last)).as_object();
  EXPECT_EQ(list.at("devices").as_array().size(), 1u);
  EXPECT_EQ(list.at("pageInfo").at("count").as_int64(), 1);
  EXPECT_EQ(list.at("pageInfo").at("totalCount").as_int64(), 5);

  auto err = json::parse(encode_ibm_error({404, "NotFound", "no"})).as_object();
  EXPECT_EQ(err.at("code").as_string(), "NotFound");
  EXPECT_EQ(err.at("message").as_string(), "no");
}

}  // namespace
}  // namespace herald
