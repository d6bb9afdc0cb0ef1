// Unit tests of the providers module's pure parts: no sockets.
#include "providers/provider.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <regex>
#include <set>

#include "providers/alpn.hpp"
#include "providers/apns_protocol.hpp"
#include "providers/detail/common.hpp"
#include "runtime/backoff.hpp"
#include "providers/fcm_protocol.hpp"
#include "providers/http_types.hpp"
#include "providers/reason_label.hpp"
#include "providers/jwt.hpp"
#include "runtime/metrics.hpp"

namespace herald {
namespace {

using namespace std::chrono_literals;
using outcome = delivery_result::outcome;

const std::regex uuid_re("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");

http_response answer(int status, std::string body = {}, std::vector<http_header> headers = {}) {
  http_response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

std::string apns_error(std::string_view reason) { return "{\"reason\":\"" + std::string(reason) + "\"}"; }

std::string fcm_error(int code, std::string_view status, std::string_view error_code) {
  std::string details;
  if (!error_code.empty())
    details = ",\"details\":[{\"@type\":\"type.googleapis.com/google.firebase.fcm.v1.FcmError\",\"errorCode\":\"" +
              std::string(error_code) + "\"}]";
  return "{\"error\":{\"code\":" + std::to_string(code) + ",\"message\":\"m\",\"status\":\"" + std::string(status) +
         "\"" + details + "}}";
}

device_info apple_device(std::string token = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90") {
  device_info d;
  d.device_identifier = "dev-1";
  d.pns_handle = std::move(token);
  d.platform = notification_platform::apple;
  return d;
}

std::string header_of(const http_request& r, std::string_view name) {
  for (const auto& h : r.headers)
    if (h.name == name) return h.value;
  return {};
}

// ---- backoff

TEST(backoff, grows_exponentially_within_jitter_bounds) {
  backoff_policy p{100ms, 10'000ms};
  EXPECT_EQ(p.delay(0, 0.0), 50ms);
  EXPECT_EQ(p.delay(0, 0.999999), 99ms);
  EXPECT_EQ(p.delay(1, 0.0), 100ms);
  EXPECT_EQ(p.delay(3, 0.0), 400ms);
  EXPECT_EQ(p.delay(3, 0.5), 600ms);
}

TEST(backoff, is_capped_and_safe_for_huge_attempts) {
  backoff_policy p{100ms, 10'000ms};
  EXPECT_EQ(p.delay(20, 0.0), 5'000ms);
  EXPECT_LE(p.delay(1'000'000, 0.999), 10'000ms);
  EXPECT_GE(p.delay(1'000'000, 0.999), 5'000ms);
  EXPECT_EQ(p.delay(-3, 0.0), 50ms);
}

TEST(backoff, uses_injected_random_source) {
  backoff_policy p{1'000ms, 60'000ms};
  EXPECT_EQ(p.delay(0, random_source([] { return 0.0; })), 500ms);
  EXPECT_EQ(p.delay(0, random_source([] { return 1.0; })), 1'000ms);  // clamped
  auto seeded_a = make_random_source(42), seeded_b = make_random_source(42);
  for (int i = 0; i < 10; ++i) {
    auto a = p.delay(i, seeded_a);
    EXPECT_EQ(a, p.delay(i, seeded_b));
    auto d = std::min<std::chrono::milliseconds>(1'000ms * (1 << i), 60'000ms);
    EXPECT_GE(a, d / 2);
    EXPECT_LE(a, d);
  }
}

// ---- base64url and JWT

TEST(jwt, base64url_round_trip_without_padding) {
  for (std::string s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar", std::string("\xff\xfe\x00\x01", 4)}) {
    auto enc = base64url_encode(s);
    EXPECT_EQ(enc.find('='), std::string::npos);
    EXPECT_EQ(enc.find('+'), std::string::npos);
    EXPECT_EQ(enc.find('/'), std::string::npos);
    EXPECT_EQ(base64url_decode(enc), s);
  }
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_FALSE(base64url_decode("a$b"));
}

TEST(jwt, es256_apns_token_has_raw_signature_and_verifies) {
  auto key = signing_key::generate(signing_key::algorithm::es256);
  auto jwt = make_apns_jwt(key, "KEY1234567", "ABCDE12345", 1'700'000'000);
  ASSERT_TRUE(jwt);
  auto parts = decode_jwt(*jwt);
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->signature.size(), 64u);  // r||s, not DER
  auto header = boost::json::parse(parts->header_json).as_object();
  EXPECT_EQ(header.at("alg").as_string(), "ES256");
  EXPECT_EQ(header.at("kid").as_string(), "KEY1234567");
  auto claims = boost::json::parse(parts->claims_json).as_object();
  EXPECT_EQ(claims.at("iss").as_string(), "ABCDE12345");
  EXPECT_EQ(claims.at("iat").as_int64(), 1'700'000'000);
  EXPECT_FALSE(claims.contains("exp"));
  EXPECT_TRUE(verify_jwt(key, *jwt));

  std::string tampered = *jwt;
  tampered[tampered.find('.') + 2] ^= 1;
  EXPECT_FALSE(verify_jwt(key, tampered));
  auto other = signing_key::generate(signing_key::algorithm::es256);
  EXPECT_FALSE(verify_jwt(other, *jwt));
}

TEST(jwt, es256_key_round_trips_through_pkcs8_pem) {
  auto key = signing_key::generate(signing_key::algorithm::es256);
  auto pem = key.private_pem();
  EXPECT_NE(pem.find("BEGIN PRIVATE KEY"), std::string::npos);
  auto loaded = signing_key::from_pem(pem, signing_key::algorithm::es256);
  ASSERT_TRUE(loaded);
  auto jwt = make_apns_jwt(*loaded, "K", "T", 1);
  ASSERT_TRUE(jwt);
  EXPECT_TRUE(verify_jwt(key, *jwt));
}

TEST(jwt, rejects_wrong_key_types_and_garbage) {
  auto rsa = signing_key::generate(signing_key::algorithm::rs256);
  auto as_ec = signing_key::from_pem(rsa.private_pem(), signing_key::algorithm::es256);
  ASSERT_FALSE(as_ec);
  EXPECT_EQ(as_ec.error(), make_error_code(provider_error::key_invalid));
  EXPECT_FALSE(signing_key::from_pem("not a key", signing_key::algorithm::es256));
  auto missing = signing_key::from_pem_file("/nonexistent/AuthKey.p8", signing_key::algorithm::es256);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), make_error_code(provider_error::key_unreadable));
}

TEST(jwt, rs256_google_assertion) {
  auto key = signing_key::generate(signing_key::algorithm::rs256);
  auto jwt = make_google_assertion(key, "kid-1", "sa@p.iam.gserviceaccount.com", "https://oauth2.googleapis.com/token",
                                   fcm_scope, 1'000);
  ASSERT_TRUE(jwt);
  EXPECT_TRUE(verify_jwt(key, *jwt));
  auto parts = decode_jwt(*jwt);
  ASSERT_TRUE(parts);
  auto header = boost::json::parse(parts->header_json).as_object();
  EXPECT_EQ(header.at("alg").as_string(), "RS256");
  EXPECT_EQ(header.at("typ").as_string(), "JWT");
  EXPECT_EQ(header.at("kid").as_string(), "kid-1");
  auto claims = boost::json::parse(parts->claims_json).as_object();
  EXPECT_EQ(claims.at("iss").as_string(), "sa@p.iam.gserviceaccount.com");
  EXPECT_EQ(claims.at("scope").as_string(), "https://www.googleapis.com/auth/firebase.messaging");
  EXPECT_EQ(claims.at("aud").as_string(), "https://oauth2.googleapis.com/token");
  EXPECT_EQ(claims.at("exp").as_int64() - claims.at("iat").as_int64(), 3600);
}

// ---- APNs request building

TEST(apns, apns_id_is_deterministic_lowercase_uuid) {
  auto a = apns_id_for("msg-42/device-7");
  EXPECT_TRUE(std::regex_match(a, uuid_re)) << a;
  EXPECT_EQ(a[14], '8');  // version nibble
  EXPECT_EQ(a, apns_id_for("msg-42/device-7"));
  EXPECT_NE(a, apns_id_for("msg-42/device-8"));
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.insert(random_uuid());
  EXPECT_EQ(ids.size(), 100u);
  EXPECT_TRUE(std::regex_match(*ids.begin(), uuid_re));
}

TEST(apns, topic_suffix_by_push_type) {
  EXPECT_EQ(apns_topic_for("com.example.pocket", "alert"), "com.example.pocket");
  EXPECT_EQ(apns_topic_for("com.example.pocket", "background"), "com.example.pocket");
  EXPECT_EQ(apns_topic_for("com.example.pocket", "voip"), "com.example.pocket.voip");
  EXPECT_EQ(apns_topic_for("com.example.pocket.voip", "voip"), "com.example.pocket.voip");
  EXPECT_EQ(apns_topic_for("com.example.pocket", "complication"), "com.example.pocket.complication");
  EXPECT_EQ(apns_topic_for("com.example.pocket", "liveactivity"), "com.example.pocket.push-type.liveactivity");
  EXPECT_EQ(apns_topic_for("com.example.pocket", "fileprovider"), "com.example.pocket.pushkit.fileprovider");
}

TEST(apns, payload_follows_contract_section_5) {
  notification n;
  n.title = "Meeting \"Q3\"";
  n.body = "Starts at 14:00";
  n.custom_json = R"({"herald":{"appointment_id":"42","event":"AppointmentAlarm"}})";
  auto payload = build_apns_payload(n);
  ASSERT_TRUE(payload);
  auto v = boost::json::parse(*payload).as_object();
  EXPECT_EQ(v.at("aps").at("alert").at("title").as_string(), "Meeting \"Q3\"");
  EXPECT_EQ(v.at("aps").at("alert").at("body").as_string(), "Starts at 14:00");
  EXPECT_EQ(v.at("aps").at("sound").as_string(), "default");
  EXPECT_EQ(v.at("herald").at("appointment_id").as_string(), "42");
  EXPECT_EQ(v.at("herald").at("event").as_string(), "AppointmentAlarm");
  EXPECT_EQ(payload->rfind("{\"aps\":", 0), 0u);

  n.custom_json = "[1]";
  EXPECT_FALSE(build_apns_payload(n));
  n.custom_json = R"({"aps":{"badge":1}})";  // may not replace aps
  EXPECT_FALSE(boost::json::parse(*build_apns_payload(n)).at("aps").as_object().contains("badge"));
}

TEST(apns, background_payload_and_priority) {
  notification n;
  n.push_type = "background";
  auto v = boost::json::parse(*build_apns_payload(n)).as_object();
  EXPECT_EQ(v.at("aps").at("content-available").as_int64(), 1);
  EXPECT_FALSE(v.at("aps").as_object().contains("alert"));
  auto prepared = prepare_apns_request(apple_device(), n, "com.example.pocket");
  ASSERT_TRUE(std::holds_alternative<apns_prepared>(prepared));
  EXPECT_EQ(header_of(std::get<apns_prepared>(prepared).request, "apns-priority"), "5");
}

TEST(apns, request_headers) {
  notification n;
  n.title = "t";
  n.body = "b";
  n.delivery_id = "m1:d1";
  n.expiration = 1'800'000'000;
  n.collapse_id = "appt-42";
  auto prepared = prepare_apns_request(apple_device(), n, "com.example.pocket");
  ASSERT_TRUE(std::holds_alternative<apns_prepared>(prepared));
  auto p = std::get<apns_prepared>(prepared);
  EXPECT_EQ(p.apns_id, apns_id_for("m1:d1"));
  EXPECT_EQ(p.request.method, "POST");
  EXPECT_EQ(p.request.path, "/3/device/a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90");
  EXPECT_TRUE(p.request.path_sensitive);
  EXPECT_EQ(header_of(p.request, "apns-id"), p.apns_id);
  EXPECT_EQ(header_of(p.request, "apns-topic"), "com.example.pocket");
  EXPECT_EQ(header_of(p.request, "apns-push-type"), "alert");
  EXPECT_EQ(header_of(p.request, "apns-priority"), "10");
  EXPECT_EQ(header_of(p.request, "apns-expiration"), "1800000000");
  EXPECT_EQ(header_of(p.request, "apns-collapse-id"), "appt-42");
  EXPECT_EQ(header_of(p.request, "authorization"), "");
  set_apns_authorization(p.request, "JWT");
  set_apns_authorization(p.request, "JWT2");  // replaces, never duplicates
  int count = 0;
  for (const auto& h : p.request.headers)
    if (h.name == "authorization") {
      ++count;
      EXPECT_EQ(h.value, "bearer JWT2");
      EXPECT_TRUE(h.sensitive);
    }
  EXPECT_EQ(count, 1);
}

TEST(apns, local_checks_reject_without_sending) {
  notification n;
  auto check = [&](const device_info& d, const notification& nn, outcome kind, std::string_view reason) {
    auto r = prepare_apns_request(d, nn, "com.example.pocket");
    ASSERT_TRUE(std::holds_alternative<delivery_result>(r)) << reason;
    EXPECT_EQ(std::get<delivery_result>(r).kind, kind) << reason;
    EXPECT_EQ(std::get<delivery_result>(r).reason, reason);
  };
  n.collapse_id = std::string(65, 'c');
  check(apple_device(), n, outcome::rejected, "BadCollapseId");
  n.collapse_id = std::string(64, 'c');
  EXPECT_TRUE(std::holds_alternative<apns_prepared>(prepare_apns_request(apple_device(), n, "t")));

  notification big;
  big.body = std::string(4096, 'x');
  check(apple_device(), big, outcome::rejected, "PayloadTooLarge");
  big.body = std::string(4500, 'x');
  big.push_type = "voip";
  EXPECT_TRUE(std::holds_alternative<apns_prepared>(prepare_apns_request(apple_device(), big, "t")));
  big.body = std::string(5120, 'x');
  check(apple_device(), big, outcome::rejected, "PayloadTooLarge");

  notification bad;
  bad.push_type = "nonsense";
  check(apple_device(), bad, outcome::rejected, "InvalidPushType");
  bad.push_type = "alert";
  bad.priority = 7;
  check(apple_device(), bad, outcome::rejected, "BadPriority");
  check(apple_device(""), notification{}, outcome::rejected, "MissingDeviceToken");
  check(apple_device("not-hex!"), notification{}, outcome::device_gone, "BadDeviceToken");
  // Token length is not assumed.
  EXPECT_TRUE(std::holds_alternative<apns_prepared>(prepare_apns_request(apple_device(std::string(200, 'a')), n, "t")));
}

// ---- APNs classification: every status/reason of docs/PROVIDERS.md

struct apns_case {
  int status;
  std::string reason;
  outcome kind;
};

TEST(apns, classification_table) {
  const backoff_policy policy{1'000ms, 60'000ms};
  std::vector<apns_case> cases;
  for (auto r : {"BadCollapseId", "BadExpirationDate", "BadMessageId", "BadPriority", "BadTopic", "DuplicateHeaders",
                 "IdleTimeout", "InvalidPushType", "MissingDeviceToken", "MissingTopic", "PayloadEmpty",
                 "TopicDisallowed"})
    cases.push_back({400, r, outcome::rejected});
  cases.push_back({400, "BadDeviceToken", outcome::device_gone});
  cases.push_back({400, "DeviceTokenNotForTopic", outcome::device_gone});
  for (auto r : {"BadCertificate", "BadCertificateEnvironment", "Forbidden", "InvalidProviderToken",
                 "MissingProviderToken", "UnrelatedKeyIdInToken", "BadEnvironmentKeyIdInToken",
                 "BadEnvironmentKeyInToken"})
    cases.push_back({403, r, outcome::config_error});
  cases.push_back({404, "BadPath", outcome::rejected});
  cases.push_back({405, "MethodNotAllowed", outcome::rejected});
  cases.push_back({410, "Unregistered", outcome::device_gone});
  cases.push_back({410, "ExpiredToken", outcome::device_gone});
  cases.push_back({413, "PayloadTooLarge", outcome::rejected});
  cases.push_back({429, "TooManyRequests", outcome::retry_after});
  cases.push_back({429, "TooManyProviderTokenUpdates", outcome::retry_after});
  cases.push_back({500, "InternalServerError", outcome::retry_after});
  cases.push_back({503, "ServiceUnavailable", outcome::retry_after});
  cases.push_back({503, "Shutdown", outcome::retry_after});
  for (const auto& c : cases) {
    auto r = classify_apns_response(answer(c.status, apns_error(c.reason), {{"apns-id", "id-1", false}}), 0, policy,
                                     0.0, 0, false);
    EXPECT_EQ(r.result.kind, c.kind) << c.status << " " << c.reason;
    EXPECT_EQ(r.result.reason, c.reason);
    EXPECT_EQ(r.result.http_status, c.status);
    EXPECT_EQ(r.result.provider_id, "id-1");
    EXPECT_EQ(r.next, next_step::finish);
    if (c.kind == outcome::retry_after) {
      EXPECT_EQ(r.result.retry_delay, 500ms) << c.reason;
    }
  }
}

TEST(apns, success_and_unregistered_timestamp) {
  backoff_policy policy;
  auto ok = classify_apns_response(answer(200, "", {{"apns-id", "abc", false}}), 0, policy, 0.0, 0, false);
  EXPECT_EQ(ok.result.kind, outcome::delivered);
  EXPECT_EQ(ok.result.provider_id, "abc");
  auto gone = classify_apns_response(answer(410, R"({"reason":"Unregistered","timestamp":1700000000123})"), 0, policy,
                                     0.0, 0, false);
  EXPECT_EQ(gone.result.kind, outcome::device_gone);
  ASSERT_TRUE(gone.result.gone_timestamp_ms);
  EXPECT_EQ(*gone.result.gone_timestamp_ms, 1700000000123);
}

TEST(apns, expired_provider_token_refreshes_once) {
  backoff_policy policy;
  auto first = classify_apns_response(answer(403, apns_error("ExpiredProviderToken")), 0, policy, 0.0, 0, false);
  EXPECT_EQ(first.next, next_step::refresh_token_resend);
  EXPECT_TRUE(first.retire_connection);
  auto second = classify_apns_response(answer(403, apns_error("ExpiredProviderToken")), 0, policy, 0.0, 0, true);
  EXPECT_EQ(second.next, next_step::finish);
  EXPECT_EQ(second.result.kind, outcome::config_error);
}

TEST(apns, retry_backoff_grows_with_attempt_and_honours_retry_after) {
  backoff_policy policy{1'000ms, 60'000ms};
  auto r0 = classify_apns_response(answer(503, apns_error("ServiceUnavailable")), 0, policy, 0.0, 0, false);
  auto r3 = classify_apns_response(answer(503, apns_error("ServiceUnavailable")), 3, policy, 0.0, 0, false);
  EXPECT_EQ(r0.result.retry_delay, 500ms);
  EXPECT_EQ(r3.result.retry_delay, 4'000ms);
  EXPECT_FALSE(r0.retire_connection);
  auto shutdown = classify_apns_response(answer(503, apns_error("Shutdown")), 0, policy, 0.0, 0, false);
  EXPECT_TRUE(shutdown.retire_connection);
  auto ra = classify_apns_response(answer(503, apns_error("ServiceUnavailable"), {{"retry-after", "7", false}}), 0,
                                   policy, 0.0, 0, false);
  EXPECT_EQ(ra.result.retry_delay, 7'000ms);
  auto unknown = classify_apns_response(answer(502, "garbage"), 0, policy, 0.0, 0, false);
  EXPECT_EQ(unknown.result.kind, outcome::retry_after);
  auto weird = classify_apns_response(answer(418, ""), 0, policy, 0.0, 0, false);
  EXPECT_EQ(weird.result.kind, outcome::rejected);
}

TEST(apns, token_cache_policy) {
  apns_token_cache cache;
  EXPECT_TRUE(cache.needs_refresh(1'000));
  cache.store("jwt1", 1'000);
  EXPECT_FALSE(cache.needs_refresh(1'000));
  EXPECT_FALSE(cache.needs_refresh(1'000 + 20 * 60));
  EXPECT_FALSE(cache.needs_refresh(1'000 + 50 * 60 - 1));
  EXPECT_TRUE(cache.needs_refresh(1'000 + 50 * 60));  // refreshed well before the 60 minute limit
  // ExpiredProviderToken reported by many streams: refreshed once.
  EXPECT_TRUE(cache.invalidate("jwt1"));
  EXPECT_TRUE(cache.needs_refresh(1'100));
  cache.store("jwt2", 1'100);
  EXPECT_FALSE(cache.invalidate("jwt1"));
  EXPECT_EQ(cache.token(), "jwt2");
}

// ---- FCM

TEST(oauth, token_endpoint_without_a_token_is_retried_when_busy_and_a_config_error_otherwise) {
  using namespace std::chrono_literals;
  struct row {
    int status;
    delivery_result::outcome kind;
    const char* reason;
  };
  for (const row& r : {row{500, delivery_result::outcome::retry_after, "TokenExchangeUnavailable"},
                       row{503, delivery_result::outcome::retry_after, "TokenExchangeUnavailable"},
                       row{429, delivery_result::outcome::retry_after, "TokenExchangeUnavailable"},
                       row{400, delivery_result::outcome::config_error, "TokenExchangeRejected"},
                       row{401, delivery_result::outcome::config_error, "TokenExchangeRejected"},
                       row{200, delivery_result::outcome::config_error, "TokenExchangeRejected"}}) {
    const auto got = detail::token_exchange_failure(r.status, 1500ms);
    EXPECT_EQ(got.kind, r.kind) << r.status;
    EXPECT_EQ(got.reason, r.reason) << r.status;
    EXPECT_EQ(got.http_status, r.status);
    EXPECT_EQ(got.retry_delay, r.kind == delivery_result::outcome::retry_after ? 1500ms : 0ms) << r.status;
  }
}

TEST(fcm, message_json) {
  device_info d;
  d.platform = notification_platform::google;
  d.pns_handle = "fcm-token:APA91b";
  notification n;
  n.title = "Title";
  n.body = "Body";
  n.data = {{"k", "v"}};
  n.custom_json = R"({"herald":{"appointment_id":"42"},"plain":"x"})";
  n.collapse_id = "c1";
  n.expiration = 1'000 + 3600;
  auto req = prepare_fcm_request(d, n, "proj-1", 1'000);
  ASSERT_TRUE(std::holds_alternative<http_request>(req));
  auto& r = std::get<http_request>(req);
  EXPECT_EQ(r.path, "/v1/projects/proj-1/messages:send");
  auto m = boost::json::parse(r.body).as_object().at("message").as_object();
  EXPECT_EQ(m.at("token").as_string(), "fcm-token:APA91b");
  EXPECT_EQ(m.at("notification").at("title").as_string(), "Title");
  EXPECT_EQ(m.at("notification").at("body").as_string(), "Body");
  for (const auto& [k, v] : m.at("data").as_object()) EXPECT_TRUE(v.is_string()) << k;  // string map only
  EXPECT_EQ(m.at("data").at("k").as_string(), "v");
  EXPECT_EQ(m.at("data").at("plain").as_string(), "x");
  EXPECT_EQ(boost::json::parse(m.at("data").at("herald").as_string()).at("appointment_id").as_string(), "42");
  EXPECT_EQ(m.at("android").at("priority").as_string(), "HIGH");
  EXPECT_EQ(m.at("android").at("ttl").as_string(), "3600s");
  EXPECT_EQ(m.at("android").at("collapse_key").as_string(), "c1");
  EXPECT_FALSE(m.contains("topic"));
  EXPECT_FALSE(m.contains("condition"));

  set_fcm_authorization(r, "ya29.token");
  EXPECT_EQ(header_of(r, "authorization"), "Bearer ya29.token");

  n.body = std::string(4100, 'x');
  auto big = prepare_fcm_request(d, n, "proj-1", 1'000);
  ASSERT_TRUE(std::holds_alternative<delivery_result>(big));
  EXPECT_EQ(std::get<delivery_result>(big).reason, "PayloadTooLarge");
}

TEST(fcm, classification_by_error_code_first) {
  backoff_policy policy{1'000ms, 60'000ms};
  struct c {
    int status;
    std::string code;
    outcome kind;
  };
  for (const auto& k : std::vector<c>{{404, "UNREGISTERED", outcome::device_gone},
                                      {400, "INVALID_ARGUMENT", outcome::rejected},
                                      {403, "SENDER_ID_MISMATCH", outcome::device_gone},
                                      {401, "THIRD_PARTY_AUTH_ERROR", outcome::config_error},
                                      {429, "QUOTA_EXCEEDED", outcome::retry_after},
                                      {503, "UNAVAILABLE", outcome::retry_after},
                                      {500, "INTERNAL", outcome::retry_after},
                                      // errorCode wins over the HTTP status
                                      {400, "UNREGISTERED", outcome::device_gone}}) {
    auto r = classify_fcm_response(answer(k.status, fcm_error(k.status, "S", k.code)), 0, policy, 0.0, 0, false);
    EXPECT_EQ(r.result.kind, k.kind) << k.code;
    EXPECT_EQ(r.result.reason, k.code);
    EXPECT_EQ(r.next, next_step::finish);
  }
  auto ok = classify_fcm_response(answer(200, R"({"name":"projects/p/messages/0:123"})"), 0, policy, 0.0, 0, false);
  EXPECT_EQ(ok.result.kind, outcome::delivered);
  EXPECT_EQ(ok.result.provider_id, "projects/p/messages/0:123");
}

TEST(fcm, quota_and_unavailable_delays) {
  backoff_policy policy{1'000ms, 600'000ms};
  auto quota = classify_fcm_response(answer(429, fcm_error(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED")), 0, policy,
                                     0.0, 0, false);
  EXPECT_EQ(quota.result.retry_delay, 60'000ms);  // at least 60 s
  auto quota_ra = classify_fcm_response(
      answer(429, fcm_error(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"), {{"retry-after", "120", false}}), 0, policy,
      0.0, 0, false);
  EXPECT_EQ(quota_ra.result.retry_delay, 120'000ms);
  auto quota_plain = classify_fcm_response(answer(429, ""), 0, policy, 0.0, 0, false);
  EXPECT_EQ(quota_plain.result.kind, outcome::retry_after);
  EXPECT_GE(quota_plain.result.retry_delay, 60'000ms);
  auto unavailable = classify_fcm_response(answer(503, fcm_error(503, "UNAVAILABLE", "UNAVAILABLE"),
                                                  {{"retry-after", "5", false}}),
                                           0, policy, 0.0, 0, false);
  EXPECT_EQ(unavailable.result.retry_delay, 5'000ms);
  auto backoff = classify_fcm_response(answer(500, fcm_error(500, "INTERNAL", "INTERNAL")), 2, policy, 0.0, 0, false);
  EXPECT_EQ(backoff.result.retry_delay, 2'000ms);
}

TEST(fcm, unauthenticated_refreshes_once) {
  backoff_policy policy;
  auto first = classify_fcm_response(answer(401, fcm_error(401, "UNAUTHENTICATED", "")), 0, policy, 0.0, 0, false);
  EXPECT_EQ(first.next, next_step::refresh_token_resend);
  auto second = classify_fcm_response(answer(401, fcm_error(401, "UNAUTHENTICATED", "")), 0, policy, 0.0, 0, true);
  EXPECT_EQ(second.next, next_step::finish);
  EXPECT_EQ(second.result.kind, outcome::config_error);
  // Without detail: status decides.
  EXPECT_EQ(classify_fcm_response(answer(400, "{}"), 0, policy, 0.0, 0, false).result.kind, outcome::rejected);
  EXPECT_EQ(classify_fcm_response(answer(403, fcm_error(403, "PERMISSION_DENIED", "")), 0, policy, 0.0, 0, false)
                .result.kind,
            outcome::config_error);
  EXPECT_EQ(classify_fcm_response(answer(502, "<html>"), 0, policy, 0.0, 0, false).result.kind, outcome::retry_after);
}

TEST(fcm, service_account_and_token_exchange) {
  auto sa = parse_service_account(R"({"type":"service_account","project_id":"p","private_key_id":"k",
    "private_key":"-----BEGIN PRIVATE KEY-----\n...","client_email":"e@p.iam","token_uri":"https://t/token"})");
  ASSERT_TRUE(sa);
  EXPECT_EQ(sa->project_id, "p");
  EXPECT_EQ(sa->token_uri, "https://t/token");
  EXPECT_FALSE(parse_service_account(R"({"project_id":"p"})"));
  EXPECT_FALSE(parse_service_account("nope"));
  EXPECT_EQ(token_request_body("a.b-c_d"),
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b-c_d");
  auto t = parse_token_response(200, R"({"access_token":"ya29.x","expires_in":3599,"token_type":"Bearer"})");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->token, "ya29.x");
  EXPECT_EQ(t->expires_in_s, 3599);
  EXPECT_FALSE(parse_token_response(400, R"({"error":"invalid_grant"})"));
  EXPECT_FALSE(parse_token_response(200, R"({"expires_in":3599})"));
}

TEST(fcm, access_token_cache_refreshes_before_expiry) {
  access_token_cache cache;
  EXPECT_TRUE(cache.needs_refresh(0));
  cache.store("t1", 1'000, 3599);
  EXPECT_FALSE(cache.needs_refresh(1'000 + 3599 - 301));
  EXPECT_TRUE(cache.needs_refresh(1'000 + 3599 - 300));
  EXPECT_FALSE(cache.invalidate("t0"));
  EXPECT_TRUE(cache.invalidate("t1"));
  EXPECT_TRUE(cache.needs_refresh(1'001));
  cache.store("short", 0, 60);  // short-lived: refresh at half-life
  EXPECT_FALSE(cache.needs_refresh(29));
  EXPECT_TRUE(cache.needs_refresh(30));
}

// ---- shared helpers

TEST(http, parse_https_url) {
  auto a = parse_https_url("https://api.push.apple.com");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "api.push.apple.com");
  EXPECT_EQ(a->port, 443);
  EXPECT_EQ(a->authority(), "api.push.apple.com");
  auto b = parse_https_url("https://127.0.0.1:2197/token");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->port, 2197);
  EXPECT_EQ(b->path, "/token");
  EXPECT_EQ(b->authority(), "127.0.0.1:2197");
  auto c = parse_https_url("https://[::1]:9443");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->authority(), "[::1]:9443");
  EXPECT_FALSE(parse_https_url("http://x"));
  EXPECT_FALSE(parse_https_url("https://x:0"));
  EXPECT_FALSE(parse_https_url("https://x:99999"));
  EXPECT_FALSE(parse_https_url("https://:80"));
}

TEST(http, parse_retry_after) {
  EXPECT_EQ(parse_retry_after("120", 0), std::chrono::seconds(120));
  EXPECT_EQ(parse_retry_after(" 3 ", 0), std::chrono::seconds(3));
  // Sun, 06 Nov 1994 08:49:37 GMT = 784111777
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 30), std::chrono::seconds(30));
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 30), std::chrono::seconds(0));
  EXPECT_FALSE(parse_retry_after("soon", 0));
  EXPECT_FALSE(parse_retry_after("", 0));
  // Clamped: no overflow, at most max_retry_after.
  EXPECT_EQ(parse_retry_after("99999999999999999999999", 0), max_retry_after);
  EXPECT_EQ(parse_retry_after("9223372036854775807", 0), max_retry_after);
  EXPECT_EQ(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", 0), max_retry_after);
}

TEST(http, reason_label_is_bounded) {
  EXPECT_EQ(reason_label("BadDeviceToken"), "BadDeviceToken");
  EXPECT_EQ(reason_label("UNREGISTERED"), "UNREGISTERED");
  EXPECT_EQ(reason_label(""), "none");
  EXPECT_EQ(reason_label("TokenExchangeHTTP 500"), "TokenExchangeFailed");
  EXPECT_EQ(reason_label("whatever the provider says " + std::string(100, 'x')), "other");
  EXPECT_EQ(reason_label("HTTP 418"), "other");
}

// ---- routing, readiness, metrics

TEST(router, platform_routes) {
  EXPECT_EQ(route_for(notification_platform::apple), provider_route::apns_production);
  EXPECT_EQ(route_for(notification_platform::apple_ad_hoc), provider_route::apns_production);
  EXPECT_EQ(route_for(notification_platform::apple_developer), provider_route::apns_sandbox);
  EXPECT_EQ(route_for(notification_platform::google), provider_route::fcm);
  EXPECT_EQ(route_for(notification_platform::google_developer), provider_route::fcm);
  EXPECT_EQ(route_for(notification_platform::microsoft), provider_route::wns);
  EXPECT_EQ(route_for(notification_platform::web), provider_route::webpush);
  EXPECT_EQ(route_for(notification_platform::apple, "sandbox"), provider_route::apns_sandbox);
}

TEST(router, no_provider_and_unready_credentials_without_network) {
  boost::asio::io_context io;
  app_settings app;
  app.id = "pocket";
  apns_settings apns;
  apns.team_id = "ABCDE12345";
  apns.key_id = "KEY1234567";
  apns.key_file = "/nonexistent/AuthKey_KEY1234567.p8";
  apns.topic = "com.example.pocket";
  app.apns = apns;
  provider_router router(io.get_executor(), {app});

  auto states = router.states();
  ASSERT_EQ(states.size(), 2u);
  EXPECT_EQ(states[0].first, "pocket/apns");
  EXPECT_FALSE(states[0].second.ready);
  EXPECT_NE(states[0].second.error.find("key_file"), std::string::npos);

  device_info windows;
  windows.platform = notification_platform::microsoft;
  device_info android;
  android.platform = notification_platform::google;
  android.pns_handle = "tok";
  notification n;
  auto run = [&](std::string_view app_id, const device_info& d) {
    auto f = boost::asio::co_spawn(io, router.async_send(app_id, d, n), boost::asio::use_future);
    io.run();
    io.restart();
    return f.get();
  };
  auto r1 = run("pocket", windows);
  EXPECT_EQ(r1.kind, outcome::no_provider);
  EXPECT_EQ(r1.reason, "no provider configured for this app");  // no wns section
  EXPECT_EQ(run("pocket", android).kind, outcome::no_provider);  // no fcm section
  EXPECT_EQ(run("unknown-app", apple_device()).kind, outcome::no_provider);
  auto r4 = run("", apple_device());  // default app, credentials not loaded
  EXPECT_EQ(r4.kind, outcome::config_error);
  EXPECT_NE(r4.reason.find("key_file"), std::string::npos);
}

TEST(metrics, registry_listener_writes_push_metrics) {
  metrics_registry registry;
  auto listener = make_metrics_listener(registry);
  listener->on_sent("pocket", "apns");
  delivery_result ok;
  ok.kind = outcome::delivered;
  listener->on_result("pocket", "apns", ok, std::chrono::milliseconds(3));
  delivery_result gone;
  gone.kind = outcome::device_gone;
  gone.reason = "Unregistered";
  listener->on_result("pocket", "apns", gone, std::chrono::milliseconds(5));
  listener->on_connection_opened("pocket", "apns");
  listener->on_streams_changed("pocket", "apns", 2);
  listener->on_token_refresh("pocket", "apns");
  auto text = registry.render();
  for (auto needle : {"herald_push_sent_total", "herald_push_delivered_total", "herald_push_failed_total",
                      "reason=\"Unregistered\"", "herald_push_response_seconds_bucket", "herald_push_open_connections",
                      "herald_push_inflight_streams", "herald_push_token_refreshes_total"})
    EXPECT_NE(text.find(needle), std::string::npos) << needle;
  provider_metrics_listener noop;  // the default does nothing
  noop.on_sent("a", "b");
}

// ---- ALPN: which HTTP version a push service gets

TEST(Alpn, OffersH2ThenHttp11InWireFormat) {
  EXPECT_EQ(alpn_offer_h2_or_http11(), std::string_view("\x02h2\x08http/1.1", 12));
}

TEST(Alpn, TheServersSelectionDecidesTheVersion) {
  EXPECT_EQ(http_version_for_alpn("h2"), http_version::h2);
  EXPECT_EQ(http_version_for_alpn("http/1.1"), http_version::http11);
  // A server without ALPN selects nothing: HTTP/2 over TLS needs "h2", so HTTP/1.1.
  EXPECT_EQ(http_version_for_alpn(""), http_version::http11);
  // Something never offered (or h2c, which is not for TLS): unusable.
  EXPECT_EQ(http_version_for_alpn("h2c"), std::nullopt);
  EXPECT_EQ(http_version_for_alpn("spdy/3.1"), std::nullopt);
  EXPECT_EQ(http_version_for_alpn("H2"), std::nullopt);  // protocol ids are exact bytes
  EXPECT_EQ(to_string(http_version::h2), "h2");
  EXPECT_EQ(to_string(http_version::http11), "http/1.1");
}

TEST(Alpn, OnlyAFailedConnectionSetupRenegotiates) {
  EXPECT_TRUE(renegotiate_after(provider_error::connect_failed));
  for (auto e : {provider_error::not_sent, provider_error::connection_lost, provider_error::stream_reset,
                 provider_error::response_timeout, provider_error::queue_full, provider_error::response_too_large,
                 provider_error::shut_down})
    EXPECT_FALSE(renegotiate_after(e)) << static_cast<int>(e);
}

}  // namespace
}  // namespace herald
