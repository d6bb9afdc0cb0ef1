// Self-tests of the mock APNs / FCM servers (and the WNS / Web Push mocks'
// ALPN and benchmark modes), driven by a minimal nghttp2 client
// (h2_test_client) over real TLS on loopback.
#include "tests/mocks/mock_push_server.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "providers/jwt.hpp"
#include "tests/mocks/h2_test_client.hpp"
#include "tests/mocks/mock_platforms.hpp"

namespace herald::test {
namespace {

using namespace std::chrono_literals;

const std::string device_token = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class apns_mock_test : public ::testing::Test {
 protected:
  const test_pki& pki = test_pki::shared();
  mock_apns_server server{pki};
  std::string jwt = make_apns_jwt(pki.apns_p8_file, pki.apns_key_id, pki.apns_team_id, now_s());

  h2_request push(const std::string& token = device_token, std::string body = R"({"aps":{"alert":"hi"}})") {
    h2_request r;
    r.path = "/3/device/" + token;
    r.headers = {{"authorization", "bearer " + jwt},
                 {"apns-topic", pki.apns_topic},
                 {"apns-push-type", "alert"},
                 {"apns-priority", "10"}};
    r.body = std::move(body);
    return r;
  }
  static std::string reason(const h2_response& r) {
    if (r.body.empty()) return {};
    return std::string(boost::json::parse(r.body).at("reason").as_string());
  }
};

TEST_F(apns_mock_test, valid_request_gets_200_and_raises_concurrency) {
  h2_test_client client(server.port(), pki.ca_file);
  EXPECT_EQ(client.remote_max_concurrent_streams(), 1u);
  auto req = push();
  req.headers.emplace_back("apns-id", "123e4567-e89b-42d3-a456-556642440000");
  auto res = client.send(req);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.header("apns-id"), "123e4567-e89b-42d3-a456-556642440000");
  EXPECT_TRUE(res.body.empty());
  EXPECT_TRUE(client.poll_until([&] { return client.remote_max_concurrent_streams() == 100u; }));

  ASSERT_EQ(server.request_count(), 1u);
  auto rec = server.requests().front();
  EXPECT_EQ(rec.device_token, device_token);
  EXPECT_EQ(rec.apns_id, "123e4567-e89b-42d3-a456-556642440000");
  EXPECT_EQ(rec.header("apns-topic"), pki.apns_topic);
  EXPECT_EQ(rec.status, 200);
  EXPECT_EQ(server.delivered_count_for_token(device_token), 1u);
  EXPECT_EQ(server.count_for_apns_id("123e4567-e89b-42d3-a456-556642440000"), 1u);
}

TEST_F(apns_mock_test, missing_apns_id_gets_a_generated_one) {
  h2_test_client client(server.port(), pki.ca_file);
  auto res = client.send(push());
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.header("apns-id").size(), 36u);
}

TEST_F(apns_mock_test, bad_jwt_is_invalid_provider_token) {
  // Signed by a different key with the right kid/iss.
  auto other = test_pki::generate();
  jwt = make_apns_jwt(other.apns_p8_file, pki.apns_key_id, pki.apns_team_id, now_s());
  other.remove_files();
  h2_test_client client(server.port(), pki.ca_file);
  auto res = client.send(push());
  EXPECT_EQ(res.status, 403);
  EXPECT_EQ(reason(res), "InvalidProviderToken");
  EXPECT_FALSE(res.header("apns-id").empty());
}

TEST_F(apns_mock_test, old_jwt_is_expired_provider_token) {
  jwt = make_apns_jwt(pki.apns_p8_file, pki.apns_key_id, pki.apns_team_id, now_s() - 3700);
  h2_test_client client(server.port(), pki.ca_file);
  auto res = client.send(push());
  EXPECT_EQ(res.status, 403);
  EXPECT_EQ(reason(res), "ExpiredProviderToken");
}

TEST_F(apns_mock_test, request_rules) {
  h2_test_client client(server.port(), pki.ca_file);
  auto no_topic = push();
  std::erase_if(no_topic.headers, [](const auto& h) { return h.first == "apns-topic"; });
  auto big = push(device_token, R"({"aps":{"alert":")" + std::string(4100, 'x') + R"("}})");
  auto not_hex = push("zz");
  auto bad_id = push();
  bad_id.headers.emplace_back("apns-id", "123E4567-E89B-42D3-A456-556642440000");
  auto background = push();
  background.headers[2].second = "background";  // priority stays 10
  auto empty = push(device_token, "");
  auto responses = client.send({no_topic, big, not_hex, bad_id, background, empty});
  EXPECT_EQ(responses[0].status, 400);
  EXPECT_EQ(reason(responses[0]), "MissingTopic");
  EXPECT_EQ(responses[1].status, 413);
  EXPECT_EQ(reason(responses[1]), "PayloadTooLarge");
  EXPECT_EQ(reason(responses[2]), "BadDeviceToken");
  EXPECT_EQ(reason(responses[3]), "BadMessageId");
  EXPECT_EQ(reason(responses[4]), "BadPriority");
  EXPECT_EQ(reason(responses[5]), "PayloadEmpty");
  EXPECT_EQ(server.delivered_count(), 0u);
}

TEST_F(apns_mock_test, faults_by_token_and_next_n) {
  h2_test_client client(server.port(), pki.ca_file);
  server.fail_token(device_token, mock_fault::apns_unregistered(1700000000123));
  server.fail_next(1, mock_fault::apns_service_unavailable(7));
  auto gone = client.send(push());
  EXPECT_EQ(gone.status, 410);
  auto body = boost::json::parse(gone.body);
  EXPECT_EQ(body.at("reason").as_string(), "Unregistered");
  EXPECT_EQ(body.at("timestamp").as_int64(), 1700000000123);
  auto busy = client.send(push("00ff"));
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(busy.header("retry-after"), "7");
  EXPECT_EQ(client.send(push()).status, 200);
  EXPECT_EQ(server.count_for_token(device_token), 2u);
  EXPECT_EQ(server.delivered_count_for_token(device_token), 1u);
}

TEST_F(apns_mock_test, refused_stream_and_slow_answer) {
  h2_test_client client(server.port(), pki.ca_file);
  server.fail_next(1, mock_fault::refused_stream());
  auto refused = client.send(push());
  EXPECT_EQ(refused.status, 0);
  EXPECT_EQ(refused.reset_code, 7u);  // REFUSED_STREAM
  server.fail_next(1, mock_fault::slow(300ms));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(client.send(push()).status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
}

TEST_F(apns_mock_test, reset_connection_answers_nothing) {
  h2_test_client client(server.port(), pki.ca_file);
  server.fail_next(1, mock_fault::reset_connection());
  auto res = client.send(push(), 2s);
  EXPECT_EQ(res.status, 0);
  EXPECT_FALSE(client.open());
  ASSERT_EQ(server.request_count(), 1u);
  EXPECT_EQ(server.requests().front().reason, "RESET");
}

TEST_F(apns_mock_test, reset_connection_first_flushes_answers_already_given) {
  h2_test_client client(server.port(), pki.ca_file);
  ASSERT_EQ(client.send(push()).status, 200);  // raises the limit to 100
  ASSERT_TRUE(client.poll_until([&] { return client.remote_max_concurrent_streams() == 100u; }));
  const std::string gone = "00ff";
  server.fail_token(gone, mock_fault::apns_unregistered(1700000000123));
  server.fail_token("00ee", mock_fault::reset_connection());
  // Both streams reach the server in one read: the 410 is submitted, then
  // the reset; the 410 must still reach the client.
  auto responses = client.send({push(gone), push("00ee")}, 2s);
  ASSERT_EQ(responses.size(), 2u);
  EXPECT_EQ(responses[0].status, 410);
  EXPECT_EQ(responses[1].status, 0);
  EXPECT_FALSE(client.open());
}

TEST_F(apns_mock_test, reset_connection_waits_for_delayed_answers_decided_before_it) {
  h2_test_client client(server.port(), pki.ca_file);
  ASSERT_EQ(client.send(push()).status, 200);  // raises the limit to 100
  ASSERT_TRUE(client.poll_until([&] { return client.remote_max_concurrent_streams() == 100u; }));
  server.set_response_delay(30ms);  // every answer, the reset's turn too, comes 30 ms late
  server.fail_token("00ee", mock_fault::reset_connection());
  auto responses = client.send({push("00dd"), push("00ee"), push("00cc")}, 2s);
  ASSERT_EQ(responses.size(), 3u);
  EXPECT_EQ(responses[0].status, 200);  // decided before the reset: given
  EXPECT_EQ(responses[1].status, 0);
  EXPECT_EQ(responses[2].status, 0);    // after it: neither processed nor recorded
  EXPECT_FALSE(client.open());
  EXPECT_EQ(server.count_for_token("00cc"), 0u);
}

TEST_F(apns_mock_test, goaway_after_n_streams_leaves_later_ones_unprocessed) {
  h2_test_client client(server.port(), pki.ca_file);
  ASSERT_EQ(client.send(push()).status, 200);  // raises the limit to 100
  ASSERT_TRUE(client.poll_until([&] { return client.remote_max_concurrent_streams() == 100u; }));
  server.set_response_delay(100ms);  // keep the streams in flight together
  server.goaway_after(2, "Shutdown");
  std::vector<h2_request> batch;
  for (int i = 0; i < 5; ++i) batch.push_back(push());
  auto responses = client.send(batch, 3s);
  EXPECT_TRUE(client.goaway_received());
  EXPECT_EQ(responses[0].status, 200);
  EXPECT_EQ(responses[1].status, 200);
  for (int i = 2; i < 5; ++i) {
    EXPECT_EQ(responses[i].status, 0) << i;
    EXPECT_TRUE(responses[i].unprocessed) << i;
  }
  EXPECT_EQ(server.request_count(), 3u);  // the first push + 2 before GOAWAY
}

TEST_F(apns_mock_test, settings_update_and_goaway_now) {
  h2_test_client client(server.port(), pki.ca_file);
  ASSERT_EQ(client.send(push()).status, 200);
  server.set_max_concurrent_streams(7);
  EXPECT_TRUE(client.poll_until([&] { return client.remote_max_concurrent_streams() == 7u; }));
  server.fail_next(1, mock_fault::apns_expired_provider_token());
  auto expired = client.send(push());
  EXPECT_EQ(expired.status, 403);
  EXPECT_EQ(reason(expired), "ExpiredProviderToken");
  EXPECT_EQ(client.send(push()).status, 200);  // only once
  server.goaway_now("Shutdown");
  client.poll_until([&] { return !client.open(); });
  EXPECT_TRUE(client.goaway_received());
  EXPECT_FALSE(client.open());  // nothing in flight: the server closes
  EXPECT_EQ(server.connection_count(), 1u);
}

TEST_F(apns_mock_test, many_requests_on_one_connection) {
  h2_test_client client(server.port(), pki.ca_file);
  ASSERT_EQ(client.send(push()).status, 200);
  ASSERT_TRUE(client.poll_until([&] { return client.remote_max_concurrent_streams() == 100u; }));
  std::vector<h2_request> batch(2000, push());
  auto start = std::chrono::steady_clock::now();
  auto responses = client.send(batch, 30s);
  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const auto& r : responses) ASSERT_EQ(r.status, 200);
  EXPECT_EQ(server.delivered_count(), 2001u);
  EXPECT_LE(server.max_concurrent_streams_seen(), 100u);
  EXPECT_EQ(server.protocol_errors(), 0u);
  EXPECT_EQ(server.refused_streams(), 0u);
  std::printf("2000 requests in %.3f s (%.0f/s)\n", elapsed, 2000 / elapsed);
}

class fcm_mock_test : public ::testing::Test {
 protected:
  test_pki pki = test_pki::shared();
  mock_fcm_server server{pki};

  static std::string form(const std::string& assertion) {
    return "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + assertion;
  }
  h2_request token_request(const std::string& assertion) {
    h2_request r;
    r.path = "/token";
    r.headers = {{"content-type", "application/x-www-form-urlencoded"}};
    r.body = form(assertion);
    return r;
  }
  h2_request send_request(const std::string& access_token, std::string message) {
    h2_request r;
    r.path = "/v1/projects/" + pki.fcm_project_id + "/messages:send";
    r.headers = {{"authorization", "Bearer " + access_token}, {"content-type", "application/json"}};
    r.body = R"({"message":)" + std::move(message) + "}";
    return r;
  }
  std::string fetch_token(h2_test_client& client, std::int64_t expires_in = 3599) {
    auto res = client.send(token_request(make_fcm_assertion(pki.fcm_service_account_file, now_s())));
    EXPECT_EQ(res.status, 200) << res.body;
    auto body = boost::json::parse(res.body);
    EXPECT_EQ(body.at("expires_in").as_int64(), expires_in);
    EXPECT_EQ(body.at("token_type").as_string(), "Bearer");
    return std::string(body.at("access_token").as_string());
  }
  static std::string error_code(const h2_response& r) {
    auto err = boost::json::parse(r.body).at("error").as_object();
    if (!err.contains("details")) return std::string(err.at("status").as_string());
    return std::string(err.at("details").as_array().at(0).at("errorCode").as_string());
  }
};

TEST_F(fcm_mock_test, token_exchange_then_send) {
  EXPECT_EQ(server.token_uri(), server.endpoint() + "/token");
  h2_test_client client(server.port(), pki.ca_file);
  std::string token = fetch_token(client);
  auto res = client.send(send_request(
      token, R"({"token":"fcm-token-1","data":{"k":"v"},"android":{"priority":"HIGH","ttl":"3600s"}})"));
  EXPECT_EQ(res.status, 200) << res.body;
  EXPECT_TRUE(std::string(boost::json::parse(res.body).at("name").as_string())
                  .starts_with("projects/" + pki.fcm_project_id + "/messages/"));
  EXPECT_EQ(server.delivered_count_for_token("fcm-token-1"), 1u);
  EXPECT_EQ(server.tokens_issued(), 1u);
}

TEST_F(fcm_mock_test, bad_assertions_are_rejected) {
  h2_test_client client(server.port(), pki.ca_file);
  auto other = test_pki::generate();
  other.set_fcm_token_uri(server.token_uri());
  auto wrong_key = client.send(token_request(make_fcm_assertion(other.fcm_service_account_file, now_s())));
  other.remove_files();
  EXPECT_EQ(wrong_key.status, 400);
  EXPECT_EQ(boost::json::parse(wrong_key.body).at("error").as_string(), "invalid_grant");
  auto too_long = client.send(token_request(make_fcm_assertion(pki.fcm_service_account_file, now_s(), 7200s)));
  EXPECT_EQ(too_long.status, 400);
  auto garbage = client.send(token_request("not-a-jwt"));
  EXPECT_EQ(garbage.status, 400);
  EXPECT_EQ(server.tokens_issued(), 0u);
  EXPECT_EQ(server.token_requests(), 3u);
}

TEST_F(fcm_mock_test, send_rules) {
  h2_test_client client(server.port(), pki.ca_file);
  std::string token = fetch_token(client);
  auto responses = client.send({
      send_request("ya29.unknown", R"({"token":"t"})"),
      send_request(token, R"({"token":"t","data":{"n":1}})"),
      send_request(token, R"({"token":"t","topic":"news"})"),
      send_request(token, R"({"data":{"k":"v"}})"),
      send_request(token, R"({"token":"t","bogus":1})"),
  });
  EXPECT_EQ(responses[0].status, 401);
  EXPECT_EQ(error_code(responses[0]), "UNAUTHENTICATED");
  for (int i = 1; i < 5; ++i) {
    EXPECT_EQ(responses[i].status, 400) << i;
    EXPECT_EQ(error_code(responses[i]), "INVALID_ARGUMENT") << i;
  }
}

TEST_F(fcm_mock_test, faults_and_token_expiry) {
  h2_test_client client(server.port(), pki.ca_file);
  std::string token = fetch_token(client);
  server.fail_token("gone", mock_fault::fcm_unregistered());
  server.fail_next(1, mock_fault::fcm_quota_exceeded(60));
  auto quota = client.send(send_request(token, R"({"token":"x"})"));
  EXPECT_EQ(quota.status, 429);
  EXPECT_EQ(error_code(quota), "QUOTA_EXCEEDED");
  EXPECT_EQ(quota.header("retry-after"), "60");
  auto gone = client.send(send_request(token, R"({"token":"gone"})"));
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(error_code(gone), "UNREGISTERED");

  server.expire_access_tokens();
  EXPECT_EQ(client.send(send_request(token, R"({"token":"x"})")).status, 401);
  std::string fresh = fetch_token(client);
  EXPECT_EQ(client.send(send_request(fresh, R"({"token":"x"})")).status, 200);

  server.set_access_token_lifetime(1s);
  std::string short_lived = fetch_token(client, 1);
  std::this_thread::sleep_for(1100ms);
  EXPECT_EQ(client.send(send_request(short_lived, R"({"token":"x"})")).status, 401);
}

// ---- WNS / Web Push mocks: ALPN and validation off

mock_webpush_options webpush_options(const test_pki& pki) {
  mock_webpush_options o;
  o.cert_file = pki.server_cert_file;
  o.key_file = pki.server_key_file;
  o.vapid_public_key = base64url_encode(signing_key::generate(signing_key::algorithm::es256).ec_public_point());
  return o;
}

TEST(platform_mock_test, validating_webpush_mock_speaks_h2_and_refuses_an_unsigned_push) {
  const test_pki& pki = test_pki::shared();
  mock_webpush_server server(webpush_options(pki));
  server.subscribe("s1");
  h2_test_client client(server.port(), pki.ca_file);
  h2_request r;
  r.path = "/push/s1";
  r.headers = {{"ttl", "60"}, {"content-encoding", "aes128gcm"}};
  r.body = "not encrypted";
  auto answer = client.send(r);
  EXPECT_EQ(answer.status, 401);  // no VAPID authorization
  auto recorded = server.requests();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_NE(recorded[0].stream_id, 0);
}

TEST(platform_mock_test, http1_only_mock_never_selects_h2) {
  const test_pki& pki = test_pki::shared();
  auto o = webpush_options(pki);
  o.http2 = false;
  mock_webpush_server server(o);
  // The client offers only h2: no protocol in common, the handshake fails.
  EXPECT_THROW(h2_test_client(server.port(), pki.ca_file), std::exception);
  EXPECT_EQ(server.request_count(), 0u);
}

TEST(platform_mock_test, validation_off_answers_any_push_and_keeps_only_the_counts) {
  const test_pki& pki = test_pki::shared();
  auto o = webpush_options(pki);
  o.validate = false;
  mock_webpush_server server(o);
  h2_test_client client(server.port(), pki.ca_file);
  h2_request r;
  r.path = "/push/never-subscribed";
  r.headers = {{"authorization", "vapid t=x, k=y"}};
  r.body = "garbage";
  auto answer = client.send(std::vector<h2_request>(3, r));
  for (const auto& a : answer) {
    EXPECT_EQ(a.status, 201);
    EXPECT_EQ(a.header("location"), server.endpoint() + "/m/0");
  }
  EXPECT_EQ(server.request_count(), 3u);
  EXPECT_EQ(server.delivered_count_for_token("never-subscribed"), 3u);
  auto recorded = server.requests();
  ASSERT_EQ(recorded.size(), 3u);
  EXPECT_TRUE(recorded[0].body.empty());
  EXPECT_TRUE(recorded[0].headers.empty());
  EXPECT_EQ(recorded[0].status, 201);
  EXPECT_EQ(server.vapid_failures(), 0u);  // nothing checked

  mock_wns_options w = mock_wns_options::from(pki);
  w.validate = false;
  mock_wns_server wns(w);
  h2_test_client wns_client(wns.port(), pki.ca_file);
  h2_request send;
  send.path = "/w/?token=c1";  // no bearer token, no X-WNS-Type, no XML
  auto sent = wns_client.send(send);
  EXPECT_EQ(sent.status, 200);
  EXPECT_EQ(sent.header("x-wns-status"), "received");
  EXPECT_EQ(wns.delivered_count_for_token("c1"), 1u);
  EXPECT_EQ(wns.tokens_issued(), 0u);
}

}  // namespace
}  // namespace herald::test
