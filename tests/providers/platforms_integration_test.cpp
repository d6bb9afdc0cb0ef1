// The WNS and Web Push adapters against the validating mocks (real TLS on
// loopback): delivery, every fault the mocks inject, token caching and
// single-flight refresh, VAPID checked and bodies decrypted by the mock.
// Every test runs twice: against a mock whose ALPN selects h2 (the adapter
// must speak HTTP/2) and against an HTTP/1.1-only mock (keep-alive HTTP/1.1).
#include "providers/provider.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <set>
#include <string>
#include <vector>

#include "providers/jwt.hpp"
#include "runtime/metrics.hpp"
#include "tests/mocks/mock_platforms.hpp"
#include "tests/providers/provider_fixture.hpp"

namespace herald {
namespace {

using namespace std::chrono_literals;
using outcome = delivery_result::outcome;
using test::make_device;
using test::mock_fault;
using test::write_secret;

notification alarm(std::string title = "Board meeting", std::string body = "Starts 14:00 in Room A") {
  notification n;
  n.title = std::move(title);
  n.body = std::move(body);
  n.custom_json = R"({"herald":{"appointment_id":"42","event":"AppointmentAlarm"}})";
  return n;
}

using platform_test = test::provider_fixture;

// WNS with the mock's client credentials (a secret file named
// `secret_name`) and its token endpoint, trusting the test CA.
wns_settings wns_settings_for(const test::test_pki& pki, const std::string& secret_name,
                              const std::string& token_endpoint) {
  wns_settings s;
  s.client_id = "ms-app://s-1-15-2-herald-test";
  s.client_secret_file = write_secret(pki.dir, secret_name, "herald-test-wns-secret\n");
  s.token_endpoint = token_endpoint;
  s.allowed_hosts = {"127.0.0.1"};
  s.ca_file = pki.ca_file;
  s.response_timeout = 5000ms;
  return s;
}

// The mock's ALPN offers h2 (true) or only http/1.1 (false).
std::string protocol_name(const ::testing::TestParamInfo<bool>& info) { return info.param ? "h2" : "http11"; }

// Every request the mock recorded came over the version its ALPN decided:
// HTTP/2 requests have a stream id, HTTP/1.1 ones none.
void expect_version(const std::vector<test::recorded_request>& requests, bool h2) {
  for (const auto& r : requests) EXPECT_EQ(r.stream_id != 0, h2) << r.path << " stream " << r.stream_id;
}

// ---------------------------------------------------------------- WNS

class wns_test : public platform_test, public ::testing::WithParamInterface<bool> {
 protected:
  wns_test() : server(server_options()) {}
  test::mock_wns_server server;

  test::mock_wns_options server_options() {
    auto o = test::mock_wns_options::from(pki);
    o.http2 = GetParam();
    return o;
  }
  wns_settings settings() {
    auto s = wns_settings_for(pki, "wns_secret", server.token_endpoint());
    s.connections = 2;
    return s;
  }
  device_info windows(const std::string& channel) {
    return make_device("win-" + channel, server.channel_uri(channel), notification_platform::microsoft);
  }
  push_provider* make() { return keep(make_wns_provider(runner.io.get_executor(), "pocket", settings(), options())); }
};

TEST_P(wns_test, DeliversAToastTheMockValidates) {
  auto* p = make();
  ASSERT_TRUE(p->state().ready) << p->state().error;
  auto r = send(*p, windows("c1"), alarm("Meeting <Board> & \"Q3\""));
  EXPECT_EQ(r.kind, outcome::delivered) << r.reason;
  EXPECT_EQ(r.http_status, 200);
  EXPECT_FALSE(r.provider_id.empty());  // X-WNS-Msg-ID
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  expect_version(reqs, GetParam());
  EXPECT_EQ(reqs[0].status, 200);
  EXPECT_EQ(reqs[0].header("x-wns-type"), "wns/toast");
  EXPECT_NE(reqs[0].body.find("Meeting &lt;Board&gt; &amp; &quot;Q3&quot;"), std::string::npos);
  EXPECT_NE(reqs[0].body.find("appointmentId=42"), std::string::npos);
  EXPECT_EQ(server.tokens_issued(), 1u);
}

TEST_P(wns_test, OneTokenForManyConcurrentSendsAndConnectionsKeptAlive) {
  auto* p = make();
  std::vector<device_info> devices;
  for (int i = 0; i < 20; ++i) devices.push_back(windows("c" + std::to_string(i)));
  auto results = send_all(*p, devices, alarm());
  for (const auto& r : results) EXPECT_EQ(r.kind, outcome::delivered) << r.reason;
  EXPECT_EQ(server.token_requests(), 1u);  // single flight
  EXPECT_EQ(server.delivered_count(), 20u);
  expect_version(server.requests(), GetParam());
  // Reused: HTTP/1.1, the 2 send connections (the first one negotiated) + 1
  // token connection; HTTP/2, the negotiating connection (closed) + 2 + 1.
  EXPECT_LE(server.connection_count(), GetParam() ? 4u : 3u);
}

TEST_P(wns_test, GoneThrottledUnavailableAndPermanentAnswers) {
  auto* p = make();
  server.fail_token("gone", mock_fault::apns(410, "channel expired"));
  server.fail_token("missing", mock_fault::apns(404, ""));
  server.fail_token("throttled", mock_fault::apns(406, "throttled"));
  server.fail_token("down", mock_fault::apns(503, ""));
  server.fail_token("other-app", mock_fault::apns(403, "channel belongs to another app"));
  server.fail_token("large", mock_fault::apns(413, ""));
  auto gone = send(*p, windows("gone"), alarm());
  EXPECT_EQ(gone.kind, outcome::device_gone);
  EXPECT_EQ(gone.http_status, 410);
  EXPECT_EQ(send(*p, windows("missing"), alarm()).kind, outcome::device_gone);
  auto throttled = send(*p, windows("throttled"), alarm());
  EXPECT_EQ(throttled.kind, outcome::retry_after);
  EXPECT_GT(throttled.retry_delay.count(), 0);
  EXPECT_EQ(send(*p, windows("down"), alarm()).kind, outcome::retry_after);
  auto other = send(*p, windows("other-app"), alarm());
  EXPECT_EQ(other.kind, outcome::rejected);
  EXPECT_EQ(other.reason, "channel belongs to another app");
  auto large = send(*p, windows("large"), alarm());
  EXPECT_EQ(large.kind, outcome::rejected);
  EXPECT_EQ(large.reason, "PayloadTooLarge");
  // Too large locally: never sent.
  auto before = server.request_count();
  auto local = send(*p, windows("c1"), alarm("T", std::string(5000, 'x')));
  EXPECT_EQ(local.kind, outcome::rejected);
  EXPECT_EQ(local.reason, "PayloadTooLarge");
  EXPECT_EQ(server.request_count(), before);
}

TEST_P(wns_test, AServerErrorRetiresTheConnectionThatAnswered) {
  auto s = settings();
  s.connections = 1;
  auto* p = keep(make_wns_provider(runner.io.get_executor(), "pocket", s, options()));
  ASSERT_EQ(send(*p, windows("c1"), alarm()).kind, outcome::delivered);
  const auto before = server.connection_count();
  EXPECT_EQ(send(*p, windows("c1"), alarm()).kind, outcome::delivered);
  EXPECT_EQ(server.connection_count(), before);  // kept alive
  server.fail_token("down", mock_fault::apns(503, ""));
  EXPECT_EQ(send(*p, windows("down"), alarm()).kind, outcome::retry_after);
  EXPECT_EQ(send(*p, windows("c1"), alarm()).kind, outcome::delivered);
  EXPECT_EQ(server.connection_count(), before + 1);  // the 503's connection was not used again
}

TEST_P(wns_test, ExpiredTokenIsRefreshedOnceAndTheSendRepeated) {
  auto* p = make();
  EXPECT_EQ(send(*p, windows("c1"), alarm()).kind, outcome::delivered);
  server.expire_access_tokens();
  auto r = send(*p, windows("c1"), alarm());
  EXPECT_EQ(r.kind, outcome::delivered) << r.reason;
  EXPECT_EQ(server.tokens_issued(), 2u);
  // A 401 that a fresh token does not cure ends as a configuration error, not a loop.
  server.fail_token("c2", mock_fault::apns(401, ""), 2);
  auto bad = send(*p, windows("c2"), alarm());
  EXPECT_EQ(bad.kind, outcome::config_error);
  EXPECT_EQ(server.count_for_token("c2"), 2u);
}

TEST_P(wns_test, WrongClientSecretIsAConfigurationError) {
  auto s = settings();
  s.client_secret_file = write_secret(pki.dir, "wns_wrong_secret", "not-the-secret\n");
  auto* p = keep(make_wns_provider(runner.io.get_executor(), "pocket", s, options()));
  auto r = send(*p, windows("c1"), alarm());
  EXPECT_EQ(r.kind, outcome::config_error);
  EXPECT_EQ(r.reason, "TokenExchangeRejected");
  EXPECT_EQ(server.request_count(), 0u);
}

TEST_P(wns_test, SlowAnswerTimesOutAsRetry) {
  auto s = settings();
  s.response_timeout = 300ms;
  auto* p = keep(make_wns_provider(runner.io.get_executor(), "pocket", s, options()));
  EXPECT_EQ(send(*p, windows("c0"), alarm()).kind, outcome::delivered);  // token fetched
  server.fail_token("slow", mock_fault::slow(2s));
  auto r = send(*p, windows("slow"), alarm());
  EXPECT_EQ(r.kind, outcome::retry_after);
  EXPECT_EQ(r.reason, "Timeout");
}

// A channel host that stops offering h2 (same port, now HTTP/1.1 only): the
// HTTP/2 connection cannot be set up again, so the next send negotiates anew
// and goes over HTTP/1.1 (a fresh token too: the new service did not issue
// the cached one).
TEST_F(platform_test, AHostThatStopsOfferingH2IsNegotiatedAgain) {
  auto first = std::make_unique<test::mock_wns_server>(test::mock_wns_options::from(pki));
  const auto port = first->port();
  auto s = wns_settings_for(pki, "wns_secret_renegotiate", first->token_endpoint());
  s.connections = 1;
  auto* p = keep(make_wns_provider(runner.io.get_executor(), "pocket", s, options()));
  const auto d = make_device("win-1", first->channel_uri("c1"), notification_platform::microsoft);
  ASSERT_EQ(send(*p, d, alarm()).kind, outcome::delivered);
  ASSERT_EQ(first->requests().size(), 1u);
  EXPECT_NE(first->requests()[0].stream_id, 0);  // HTTP/2
  first->stop();
  first.reset();

  auto o = test::mock_wns_options::from(pki);
  o.port = port;
  o.http2 = false;
  test::mock_wns_server second(o);
  auto r = send(*p, d, alarm());
  EXPECT_EQ(r.kind, outcome::delivered) << r.reason;
  auto reqs = second.requests();
  ASSERT_FALSE(reqs.empty());
  EXPECT_EQ(reqs.back().stream_id, 0);  // HTTP/1.1
  EXPECT_EQ(reqs.back().status, 200);
}

// ---------------------------------------------------------------- Web Push

class webpush_test : public platform_test, public ::testing::WithParamInterface<bool> {
 protected:
  webpush_test() : vapid(signing_key::generate(signing_key::algorithm::es256)), server(server_options()) {}
  signing_key vapid;
  test::mock_webpush_server server;

  test::mock_webpush_options server_options() {
    test::mock_webpush_options o;
    o.cert_file = pki.server_cert_file;
    o.key_file = pki.server_key_file;
    o.vapid_public_key = base64url_encode(vapid.ec_public_point());
    o.http2 = GetParam();
    return o;
  }
  webpush_settings settings() {
    webpush_settings s;
    s.vapid_private_key_file = write_secret(pki.dir, "vapid.pem", vapid.private_pem());
    s.subject = "mailto:ops@example.com";
    s.allowed_hosts = {"127.0.0.1"};
    s.ca_file = pki.ca_file;
    s.ttl = 3600s;
    s.urgency = "high";
    s.response_timeout = 5000ms;
    return s;
  }
  device_info browser(const std::string& id) {
    return make_device("web-" + id, server.subscribe(id), notification_platform::web);
  }
  push_provider* make() { return keep(make_webpush_provider(runner.io.get_executor(), "pocket", settings(), options())); }
};

TEST_P(webpush_test, TheMockVerifiesVapidAndDecryptsTheMessage) {
  auto* p = make();
  ASSERT_TRUE(p->state().ready) << p->state().error;
  auto n = alarm();
  n.collapse_id = "appt-42";
  auto r = send(*p, browser("b1"), n);
  EXPECT_EQ(r.kind, outcome::delivered) << r.reason;
  EXPECT_EQ(r.http_status, 201);
  auto messages = server.messages_for("b1");
  ASSERT_EQ(messages.size(), 1u);
  auto msg = boost::json::parse(messages[0]).as_object();
  EXPECT_EQ(msg.at("title").as_string(), "Board meeting");
  EXPECT_EQ(msg.at("body").as_string(), "Starts 14:00 in Room A");
  EXPECT_EQ(msg.at("herald").as_object().at("appointment_id").as_string(), "42");
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  expect_version(reqs, GetParam());
  EXPECT_EQ(reqs[0].header("ttl"), "3600");
  EXPECT_EQ(reqs[0].header("urgency"), "high");
  EXPECT_EQ(reqs[0].header("topic"), "appt-42");
  EXPECT_EQ(server.vapid_failures(), 0u);
  EXPECT_EQ(server.decrypt_failures(), 0u);
  // HTTP/1.1: the connection that negotiated carried the message. HTTP/2:
  // it was closed and the HTTP/2 pool opened its own (both of `connections`: 2).
  EXPECT_EQ(server.connection_count(), GetParam() ? 3u : 1u);
}

TEST_P(webpush_test, OneVapidTokenPerOriginAndEveryMessageEncryptedAfresh) {
  auto* p = make();
  std::vector<device_info> devices;
  for (int i = 0; i < 10; ++i) devices.push_back(browser("b" + std::to_string(i)));
  auto results = send_all(*p, devices, alarm());
  for (const auto& r : results) EXPECT_EQ(r.kind, outcome::delivered) << r.reason;
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 10u);
  expect_version(reqs, GetParam());
  std::set<std::string> auth, salts;
  for (const auto& r : reqs) {
    auth.insert(r.header("authorization"));
    salts.insert(r.body.substr(0, 16));
  }
  EXPECT_EQ(auth.size(), 1u);    // the JWT is reused for the origin
  EXPECT_EQ(salts.size(), 10u);  // each message has its own salt (and key)
  EXPECT_EQ(registry.get_counter("herald_push_token_refreshes_total", "", {{"app", "pocket"}, {"provider", "webpush"}}).value(), 1u);
}

TEST_P(webpush_test, GoneRetryAndPermanentAnswers) {
  auto* p = make();
  auto gone = browser("gone");
  server.fail_token("gone", mock_fault::apns(410, ""));
  auto r = send(*p, gone, alarm());
  EXPECT_EQ(r.kind, outcome::device_gone);
  EXPECT_EQ(r.http_status, 410);
  auto busy = browser("busy");
  mock_fault too_many = mock_fault::apns(429, "");
  too_many.retry_after_seconds = 42;
  server.fail_token("busy", too_many);
  r = send(*p, busy, alarm());
  EXPECT_EQ(r.kind, outcome::retry_after);
  EXPECT_EQ(r.retry_delay, 42s);
  auto large = browser("large");
  server.fail_token("large", mock_fault::apns(413, ""));
  r = send(*p, large, alarm());
  EXPECT_EQ(r.kind, outcome::rejected);
  EXPECT_EQ(r.reason, "PayloadTooLarge");
  // A subscription the push service does not know: 404, gone.
  device_info unknown = browser("known");
  auto sub = boost::json::parse(unknown.pns_handle).as_object();
  sub["endpoint"] = server.endpoint() + "/push/never-subscribed";
  unknown.pns_handle = boost::json::serialize(sub);
  EXPECT_EQ(send(*p, unknown, alarm()).kind, outcome::device_gone);
}

TEST_P(webpush_test, WrongVapidKeyIsRefusedByTheService) {
  auto s = settings();
  auto other = signing_key::generate(signing_key::algorithm::es256);
  s.vapid_private_key_file = write_secret(pki.dir, "other_vapid.pem", other.private_pem());
  auto* p = keep(make_webpush_provider(runner.io.get_executor(), "pocket", s, options()));
  auto r = send(*p, browser("b1"), alarm());
  EXPECT_EQ(r.kind, outcome::config_error);
  EXPECT_EQ(server.vapid_failures(), 1u);
  EXPECT_TRUE(server.messages_for("b1").empty());
}

TEST_P(webpush_test, SlowAnswerTimesOutAsRetry) {
  auto s = settings();
  s.response_timeout = 300ms;
  auto* p = keep(make_webpush_provider(runner.io.get_executor(), "pocket", s, options()));
  auto slow = browser("slow");
  server.fail_token("slow", mock_fault::slow(2s));
  auto r = send(*p, slow, alarm());
  EXPECT_EQ(r.kind, outcome::retry_after);
  EXPECT_EQ(r.reason, "Timeout");
}

INSTANTIATE_TEST_SUITE_P(Alpn, wns_test, ::testing::Bool(), protocol_name);
INSTANTIATE_TEST_SUITE_P(Alpn, webpush_test, ::testing::Bool(), protocol_name);

}  // namespace
}  // namespace herald
