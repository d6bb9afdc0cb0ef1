// Unit tests of the Web Push pure parts: RFC 8291 encryption, VAPID tokens
// and subscription validation. No sockets.
#include "providers/webpush_crypto.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <set>

#include "providers/jwt.hpp"
#include "providers/webpush_protocol.hpp"

namespace herald {
namespace {

std::string b64(std::string_view s) {
  auto v = base64url_decode(s);
  EXPECT_TRUE(v.has_value()) << s;
  return v.value_or("");
}

// RFC 8291 Appendix A: the example's keys, salt, auth secret and the body
// it gives (one record, rs 4096, no padding beyond the delimiter).
struct rfc8291_example {
  std::string plaintext = "When I grow up, I want to be a watermelon";
  std::string as_private = b64("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw");
  std::string as_public = b64("BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8");
  std::string ua_private = b64("q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94");
  std::string ua_public = b64("BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4");
  std::string salt = b64("DGv6ra1nlYgDCS1FRnbzlw");
  std::string auth = b64("BTBZMqHH6r4Tts7J_aSIgg");
  std::string body = b64(
      "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml"
      "mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT"
      "pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN");
};

TEST(WebPushEncryption, ReproducesRfc8291AppendixAByteForByte) {
  rfc8291_example ex;
  auto sender = p256_key::from_private(ex.as_private, ex.as_public);
  ASSERT_TRUE(sender.has_value());
  auto out = webpush_encrypt(ex.plaintext, ex.ua_public, ex.auth, {&*sender, ex.salt});
  ASSERT_EQ(out.index(), 0u) << to_string(std::get<webpush_encrypt_error>(out));
  EXPECT_EQ(base64url_encode(std::get<std::string>(out)), base64url_encode(ex.body));
  EXPECT_EQ(std::get<std::string>(out).size(), 144u);
}

TEST(WebPushEncryption, DecryptsTheRfcBodyAndRefusesATamperedOne) {
  rfc8291_example ex;
  auto receiver = p256_key::from_private(ex.ua_private, ex.ua_public);
  ASSERT_TRUE(receiver.has_value());
  auto plain = webpush_decrypt(ex.body, *receiver, ex.auth);
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(*plain, ex.plaintext);

  std::string tampered = ex.body;
  tampered.back() = static_cast<char>(tampered.back() ^ 0x40);
  EXPECT_FALSE(webpush_decrypt(tampered, *receiver, ex.auth).has_value());
  std::string wrong_auth = ex.auth;
  wrong_auth[0] = static_cast<char>(wrong_auth[0] ^ 1);
  EXPECT_FALSE(webpush_decrypt(ex.body, *receiver, wrong_auth).has_value());
}

TEST(WebPushEncryption, KeyPairMustMatchAndPointsMustBeOnTheCurve) {
  rfc8291_example ex;
  EXPECT_FALSE(p256_key::from_private(ex.as_private, ex.ua_public).has_value());
  EXPECT_TRUE(is_valid_p256_point(ex.ua_public));
  std::string off_curve = ex.ua_public;
  off_curve[64] = static_cast<char>(off_curve[64] ^ 1);
  EXPECT_FALSE(is_valid_p256_point(off_curve));
  EXPECT_FALSE(is_valid_p256_point(ex.ua_public.substr(0, 33)));  // compressed-size input
  std::string not_uncompressed = ex.ua_public;
  not_uncompressed[0] = '\x05';
  EXPECT_FALSE(is_valid_p256_point(not_uncompressed));
  EXPECT_FALSE(is_valid_p256_point(std::string(65, '\0')));
}

TEST(WebPushEncryption, RoundTripsEveryPayloadSizeUpTo3993WithFreshKeysAndSalts) {
  auto receiver = p256_key::generate();
  const std::string ua_public = receiver.public_point();
  const std::string auth = "0123456789abcdef";
  std::set<std::string> senders, salts;
  for (std::size_t size = 0; size <= webpush_max_plaintext; ++size) {
    std::string plaintext(size, '\0');
    for (std::size_t i = 0; i < size; ++i) plaintext[i] = static_cast<char>((i * 31 + size) & 0xff);
    auto out = webpush_encrypt(plaintext, ua_public, auth);
    ASSERT_EQ(out.index(), 0u) << "size " << size;
    const auto& body = std::get<std::string>(out);
    ASSERT_EQ(body.size(), webpush_header_size + size + 1 + 16) << "size " << size;
    ASSERT_LE(body.size(), 4096u);
    auto plain = webpush_decrypt(body, receiver, auth);
    ASSERT_TRUE(plain.has_value()) << "size " << size;
    ASSERT_EQ(*plain, plaintext) << "size " << size;
    if (size < 64) {
      salts.insert(body.substr(0, 16));
      senders.insert(body.substr(21, 65));
    }
  }
  EXPECT_EQ(salts.size(), 64u);    // a new salt per message
  EXPECT_EQ(senders.size(), 64u);  // a new ephemeral key per message
}

TEST(WebPushEncryption, Refuses3994BytesAndBadSubscriptionKeys) {
  auto receiver = p256_key::generate();
  auto too_large = webpush_encrypt(std::string(webpush_max_plaintext + 1, 'x'), receiver.public_point(), "0123456789abcdef");
  ASSERT_EQ(too_large.index(), 1u);
  EXPECT_EQ(std::get<webpush_encrypt_error>(too_large), webpush_encrypt_error::payload_too_large);
  auto bad_auth = webpush_encrypt("x", receiver.public_point(), "short");
  ASSERT_EQ(bad_auth.index(), 1u);
  EXPECT_EQ(std::get<webpush_encrypt_error>(bad_auth), webpush_encrypt_error::bad_auth_secret);
  auto bad_key = webpush_encrypt("x", std::string(65, '\x04'), "0123456789abcdef");
  ASSERT_EQ(bad_key.index(), 1u);
  EXPECT_EQ(std::get<webpush_encrypt_error>(bad_key), webpush_encrypt_error::bad_subscription_key);
}

TEST(Vapid, OriginIsSchemeHostAndNonDefaultPort) {
  EXPECT_EQ(origin_of("https://fcm.googleapis.com/fcm/send/abc?x=1"), "https://fcm.googleapis.com");
  EXPECT_EQ(origin_of("https://Updates.Push.Services.Mozilla.com:443/wpush/v2/x"),
            "https://updates.push.services.mozilla.com");
  EXPECT_EQ(origin_of("https://127.0.0.1:8443/push/1"), "https://127.0.0.1:8443");
  EXPECT_EQ(origin_of("https://[::1]:8443"), "https://[::1]:8443");
  EXPECT_FALSE(origin_of("http://fcm.googleapis.com/x").has_value());
  EXPECT_FALSE(origin_of("https://user@fcm.googleapis.com/x").has_value());
}

TEST(Vapid, JwtCarriesAudExpSubAndVerifiesWithThePublicKey) {
  auto key = signing_key::generate(signing_key::algorithm::es256);
  const std::string point = key.ec_public_point();
  ASSERT_EQ(point.size(), 65u);
  ASSERT_TRUE(is_valid_p256_point(point));
  const std::int64_t now = 1'800'000'000;
  auto jwt = make_vapid_jwt(key, "https://push.example.net", now + 12 * 3600, "mailto:ops@example.com");
  ASSERT_TRUE(jwt.has_value());

  auto parts = decode_jwt(*jwt);
  ASSERT_TRUE(parts.has_value());
  auto header = boost::json::parse(parts->header_json).as_object();
  EXPECT_EQ(header.at("alg").as_string(), "ES256");
  EXPECT_EQ(header.at("typ").as_string(), "JWT");
  auto claims = boost::json::parse(parts->claims_json).as_object();
  EXPECT_EQ(claims.at("aud").as_string(), "https://push.example.net");
  EXPECT_EQ(claims.at("exp").as_int64(), now + 12 * 3600);
  EXPECT_EQ(claims.at("sub").as_string(), "mailto:ops@example.com");
  EXPECT_EQ(parts->signature.size(), 64u);

  EXPECT_EQ(check_vapid_jwt(*jwt, point, "https://push.example.net", now), "");
  EXPECT_EQ(vapid_authorization(*jwt, point), "vapid t=" + *jwt + ", k=" + base64url_encode(point));

  // What a push service refuses.
  EXPECT_NE(check_vapid_jwt(*jwt, point, "https://other.example.net", now), "");
  EXPECT_NE(check_vapid_jwt(*jwt, point, "https://push.example.net", now + 13 * 3600), "");  // expired
  EXPECT_NE(check_vapid_jwt(*jwt, point, "https://push.example.net", now - 13 * 3600), "");  // > 24 h ahead
  auto other = signing_key::generate(signing_key::algorithm::es256);
  EXPECT_NE(check_vapid_jwt(*jwt, other.ec_public_point(), "https://push.example.net", now), "");
  std::string forged = *jwt;
  forged[forged.find('.') + 2] = forged[forged.find('.') + 2] == 'A' ? 'B' : 'A';
  EXPECT_NE(check_vapid_jwt(forged, point, "https://push.example.net", now), "");
  auto no_sub = make_vapid_jwt(key, "https://push.example.net", now + 3600, "ops");
  ASSERT_TRUE(no_sub.has_value());
  EXPECT_NE(check_vapid_jwt(*no_sub, point, "https://push.example.net", now), "");
}

std::string subscription_json(std::string_view endpoint, std::string_view p256dh, std::string_view auth) {
  boost::json::object o;
  o["endpoint"] = endpoint;
  o["expirationTime"] = nullptr;
  o["keys"] = boost::json::object{{"p256dh", p256dh}, {"auth", auth}};
  return boost::json::serialize(o);
}

class WebSubscription : public ::testing::Test {
 protected:
  rfc8291_example ex;
  std::string p256dh = base64url_encode(ex.ua_public);
  std::string auth = base64url_encode(ex.auth);
  std::vector<std::string> allowed = default_webpush_allowed_hosts();

  subscription_error refused(std::string_view json, const std::vector<std::string>& hosts) {
    auto r = parse_web_subscription(json, hosts);
    EXPECT_EQ(r.index(), 1u) << json;
    return r.index() == 1 ? std::get<subscription_error>(r) : subscription_error{};
  }
};

TEST_F(WebSubscription, AcceptsTheBrowsersPushServices) {
  for (std::string endpoint : {"https://fcm.googleapis.com/fcm/send/dGVzdA:APA91b",
                               "https://updates.push.services.mozilla.com/wpush/v2/gAAAAAB",
                               "https://web.push.apple.com/QGuQyavXutnMbFGwPh",
                               "https://wns2-par02p.notify.windows.com/w/?token=BQYAAA"}) {
    auto r = parse_web_subscription(subscription_json(endpoint, p256dh, auth), allowed);
    ASSERT_EQ(r.index(), 0u) << endpoint << ": " << std::get<subscription_error>(r).message;
    const auto& s = std::get<web_subscription>(r);
    EXPECT_EQ(s.endpoint, endpoint);
    EXPECT_EQ(s.p256dh, ex.ua_public);
    EXPECT_EQ(s.auth, ex.auth);
  }
}

TEST_F(WebSubscription, RefusesInternalAndNonHttpsEndpoints) {
  for (std::string endpoint :
       {"https://169.254.169.254/latest/meta-data/", "http://fcm.googleapis.com/fcm/send/x", "http://127.0.0.1/x",
        "https://127.0.0.1:6379/", "https://localhost/x", "https://[::1]/x", "https://fcm.googleapis.com@169.254.169.254/",
        "https://fcm.googleapis.com.evil.example/x", "https://push.services.mozilla.com/x", "ftp://fcm.googleapis.com/x",
        "https:///x", "https://fcm.googleapis.com:0/x", "https://fcm.googleapis.com:99999/x",
        "https://fcm.googleapis.com/x y", "fcm.googleapis.com/x"}) {
    auto e = refused(subscription_json(endpoint, p256dh, auth), allowed);
    EXPECT_EQ(e.field, "endpoint") << endpoint;
    EXPECT_NE(e.message.find("endpoint"), std::string::npos) << e.message;
  }
  // An explicit allow-list entry is what lets a test push service on loopback in.
  auto ok = parse_web_subscription(subscription_json("https://127.0.0.1:8443/push/1", p256dh, auth), {"127.0.0.1"});
  EXPECT_EQ(ok.index(), 0u);
  EXPECT_EQ(refused(subscription_json("http://127.0.0.1:8443/push/1", p256dh, auth), {"127.0.0.1"}).field, "endpoint");
}

TEST_F(WebSubscription, NamesTheKeyThatIsWrong) {
  const std::string endpoint = "https://fcm.googleapis.com/fcm/send/x";
  std::string off_curve = ex.ua_public;
  off_curve[64] = static_cast<char>(off_curve[64] ^ 1);
  EXPECT_EQ(refused(subscription_json(endpoint, base64url_encode(off_curve), auth), allowed).field, "keys.p256dh");
  EXPECT_EQ(refused(subscription_json(endpoint, base64url_encode(ex.ua_public.substr(0, 64)), auth), allowed).field,
            "keys.p256dh");
  EXPECT_EQ(refused(subscription_json(endpoint, "not base64!", auth), allowed).field, "keys.p256dh");
  EXPECT_EQ(refused(subscription_json(endpoint, p256dh, base64url_encode("fifteen bytes!!")), allowed).field,
            "keys.auth");
  EXPECT_EQ(refused(subscription_json(endpoint, p256dh, base64url_encode("seventeen bytes!!")), allowed).field,
            "keys.auth");
  EXPECT_EQ(refused(R"({"endpoint":"https://fcm.googleapis.com/x"})", allowed).field, "keys");
  EXPECT_EQ(refused(R"({"keys":{}})", allowed).field, "endpoint");
  EXPECT_EQ(refused("a1b2c3d4", allowed).field, "");
}

TEST(WebPushHosts, WildcardsMatchSubdomainsOnly) {
  std::vector<std::string> hosts{"push.example.com", "*.notify.windows.com"};
  EXPECT_TRUE(host_allowed("push.example.com", hosts));
  EXPECT_FALSE(host_allowed("x.push.example.com", hosts));
  EXPECT_TRUE(host_allowed("wns2-par02p.notify.windows.com", hosts));
  EXPECT_FALSE(host_allowed("notify.windows.com", hosts));
  EXPECT_FALSE(host_allowed("evilnotify.windows.com", hosts));
  EXPECT_FALSE(host_allowed("", hosts));
}

std::string header_of(const http_request& r, std::string_view name) {
  for (const auto& h : r.headers)
    if (h.name == name) return h.value;
  return {};
}

TEST(WebPushRequest, EncryptsTheMessageJsonAndSetsTtlUrgencyTopic) {
  auto receiver = p256_key::generate();
  const std::string auth = "0123456789abcdef";
  device_info d;
  d.platform = notification_platform::web;
  d.pns_handle = subscription_json("https://127.0.0.1:8443/push/abc", base64url_encode(receiver.public_point()),
                                   base64url_encode(auth));
  notification n;
  n.title = "Board meeting";
  n.body = "in 15 minutes";
  n.collapse_id = "appt-42";
  n.custom_json = R"({"herald":{"appointment_id":"42","event":"AppointmentAlarm"}})";
  webpush_request_settings settings{{"127.0.0.1"}, 3600, "high"};
  auto prepared = prepare_webpush_request(d, n, settings, 1'800'000'000);
  ASSERT_EQ(prepared.index(), 0u);
  auto& p = std::get<webpush_prepared>(prepared);
  EXPECT_EQ(p.origin, "https://127.0.0.1:8443");
  EXPECT_EQ(p.request.path, "/push/abc");
  EXPECT_EQ(header_of(p.request, "ttl"), "3600");
  EXPECT_EQ(header_of(p.request, "urgency"), "high");
  EXPECT_EQ(header_of(p.request, "topic"), "appt-42");
  EXPECT_EQ(header_of(p.request, "content-encoding"), "aes128gcm");
  EXPECT_EQ(header_of(p.request, "content-type"), "application/octet-stream");
  auto plain = webpush_decrypt(p.request.body, receiver, auth);
  ASSERT_TRUE(plain.has_value());
  auto msg = boost::json::parse(*plain).as_object();
  EXPECT_EQ(msg.at("title").as_string(), "Board meeting");
  EXPECT_EQ(msg.at("body").as_string(), "in 15 minutes");
  EXPECT_EQ(msg.at("herald").as_object().at("appointment_id").as_string(), "42");

  n.expiration = 1'800'000'000 + 600;
  n.priority = 5;
  n.collapse_id = "not a valid topic!";
  p = std::get<webpush_prepared>(prepare_webpush_request(d, n, settings, 1'800'000'000));
  EXPECT_EQ(header_of(p.request, "ttl"), "600");
  EXPECT_EQ(header_of(p.request, "urgency"), "normal");
  EXPECT_EQ(header_of(p.request, "topic"), "");

  // The allow-list applies again at send time; too large a message is refused before sending.
  auto refused = prepare_webpush_request(d, n, webpush_request_settings{}, 1'800'000'000);
  ASSERT_EQ(refused.index(), 1u);
  EXPECT_EQ(std::get<delivery_result>(refused).reason, "BadSubscription");
  n.body = std::string(4000, 'x');
  auto large = prepare_webpush_request(d, n, settings, 1'800'000'000);
  ASSERT_EQ(large.index(), 1u);
  EXPECT_EQ(std::get<delivery_result>(large).reason, "PayloadTooLarge");
  EXPECT_EQ(std::get<delivery_result>(large).kind, delivery_result::outcome::rejected);
}

TEST(WebPushClassify, EveryAnswer) {
  using outcome = delivery_result::outcome;
  using namespace std::chrono_literals;
  const backoff_policy policy{1000ms, 300'000ms};
  auto answer = [](int status, std::string body = {}, std::vector<http_header> headers = {}) {
    http_response r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    return r;
  };
  EXPECT_EQ(classify_webpush_response(answer(201), 0, policy, 0.5, 0).result.kind, outcome::delivered);
  EXPECT_EQ(classify_webpush_response(answer(404), 0, policy, 0.5, 0).result.kind, outcome::device_gone);
  EXPECT_EQ(classify_webpush_response(answer(410), 0, policy, 0.5, 0).result.kind, outcome::device_gone);
  auto c = classify_webpush_response(answer(429, {}, {{"retry-after", "30", false}}), 0, policy, 0.5, 0);
  EXPECT_EQ(c.result.kind, outcome::retry_after);
  EXPECT_EQ(c.result.retry_delay, 30'000ms);
  c = classify_webpush_response(answer(503), 1, policy, 0.0, 0);
  EXPECT_EQ(c.result.kind, outcome::retry_after);
  EXPECT_EQ(c.result.retry_delay, 1000ms);
  c = classify_webpush_response(answer(413), 0, policy, 0.5, 0);
  EXPECT_EQ(c.result.kind, outcome::rejected);
  EXPECT_EQ(c.result.reason, "PayloadTooLarge");
  c = classify_webpush_response(answer(400, "{\"errno\":109,\"message\":\"Invalid VAPID header\"}\n"), 0, policy, 0.5, 0);
  EXPECT_EQ(c.result.kind, outcome::rejected);
  EXPECT_EQ(c.result.reason, "{\"errno\":109,\"message\":\"Invalid VAPID header\"}");
  EXPECT_EQ(classify_webpush_response(answer(403), 0, policy, 0.5, 0).result.kind, outcome::config_error);
}

TEST(WebPushVapidCache, OneTokenPerOriginUntilAnHourBeforeExpiry) {
  vapid_token_cache cache;
  EXPECT_EQ(cache.find("https://a.example", 1000), "");
  cache.store("https://a.example", "vapid t=a", 1000 + vapid_token_cache::lifetime_s);
  EXPECT_EQ(cache.find("https://a.example", 1000), "vapid t=a");
  EXPECT_EQ(cache.find("https://b.example", 1000), "");
  EXPECT_EQ(cache.find("https://a.example", 1000 + vapid_token_cache::lifetime_s - 3601), "vapid t=a");
  EXPECT_EQ(cache.find("https://a.example", 1000 + vapid_token_cache::lifetime_s - 3600), "");
}

}  // namespace
}  // namespace herald
