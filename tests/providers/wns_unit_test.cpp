// Unit tests of the WNS pure parts: token exchange, toast XML, local checks
// and the classification of every answer. No sockets.
#include "providers/wns_protocol.hpp"

#include "providers/reason_label.hpp"

#include <gtest/gtest.h>

namespace herald {
namespace {

using namespace std::chrono_literals;
using outcome = delivery_result::outcome;

const backoff_policy policy{1000ms, 300'000ms};
constexpr std::int64_t now = 1'800'000'000;

http_response answer(int status, std::vector<http_header> headers = {}) {
  http_response r;
  r.status = status;
  r.headers = std::move(headers);
  return r;
}

std::string header_of(const http_request& r, std::string_view name) {
  for (const auto& h : r.headers)
    if (h.name == name) return h.value;
  return {};
}

device_info windows_device(std::string channel = "https://wns2-par02p.notify.windows.com/w/?token=BQYAAAB%2bxyz") {
  device_info d;
  d.device_identifier = "win-1";
  d.platform = notification_platform::microsoft;
  d.pns_handle = std::move(channel);
  return d;
}

notification alarm() {
  notification n;
  n.title = "Meeting <Board> & \"Q3\"";
  n.body = "Starts at 14:00 in Room 'A'";
  n.custom_json = R"({"herald":{"appointment_id":"42/7&x","event":"AppointmentAlarm"}})";
  return n;
}

TEST(WnsToast, EscapesTextAndCarriesTheAppointmentInLaunch) {
  auto xml = build_wns_toast(alarm());
  EXPECT_EQ(xml,
            "<toast launch=\"event=AppointmentAlarm&amp;appointmentId=42%2F7%26x\"><visual>"
            "<binding template=\"ToastGeneric\"><text>Meeting &lt;Board&gt; &amp; &quot;Q3&quot;</text>"
            "<text>Starts at 14:00 in Room &apos;A&apos;</text></binding></visual></toast>");
  EXPECT_EQ(appointment_id_of(alarm()), "42/7&x");
  notification plain;
  plain.title = "Hi";
  plain.data = {{"appointment_id", "9"}};
  EXPECT_EQ(build_wns_toast(plain),
            "<toast launch=\"appointmentId=9\"><visual><binding template=\"ToastGeneric\"><text>Hi</text>"
            "</binding></visual></toast>");
  notification control;
  control.title = std::string("a\x01") + "b";
  EXPECT_NE(build_wns_toast(control).find("<text>ab</text>"), std::string::npos);
}

TEST(WnsRequest, ToastHeadersAndTheFiveThousandByteLimit) {
  auto prepared = prepare_wns_request(windows_device(), alarm(), default_wns_allowed_hosts(), now);
  ASSERT_EQ(prepared.index(), 0u);
  auto& p = std::get<wns_prepared>(prepared);
  EXPECT_EQ(p.url.host, "wns2-par02p.notify.windows.com");
  EXPECT_EQ(p.request.path, "/w/?token=BQYAAAB%2bxyz");
  EXPECT_EQ(header_of(p.request, "x-wns-type"), "wns/toast");
  EXPECT_EQ(header_of(p.request, "content-type"), "text/xml");
  EXPECT_EQ(p.request.body, build_wns_toast(alarm()));
  set_wns_authorization(p.request, "tok");
  set_wns_authorization(p.request, "tok2");
  EXPECT_EQ(header_of(p.request, "authorization"), "Bearer tok2");

  // Fill the body so that the toast is exactly 5000 bytes, then one more.
  notification n;
  n.title = "T";
  std::string base = build_wns_toast(n);
  n.body = std::string(wns_payload_limit - base.size() - std::string("<text></text>").size(), 'b');
  auto fits = prepare_wns_request(windows_device(), n, default_wns_allowed_hosts(), now);
  ASSERT_EQ(fits.index(), 0u);
  EXPECT_EQ(std::get<wns_prepared>(fits).request.body.size(), wns_payload_limit);
  n.body += "b";
  auto too_large = prepare_wns_request(windows_device(), n, default_wns_allowed_hosts(), now);
  ASSERT_EQ(too_large.index(), 1u);
  EXPECT_EQ(std::get<delivery_result>(too_large).kind, outcome::rejected);
  EXPECT_EQ(std::get<delivery_result>(too_large).reason, "PayloadTooLarge");
  // Escaping counts: 1000 '&' become 5000 bytes of "&amp;".
  notification escaped;
  escaped.title = std::string(1000, '&');
  auto r = prepare_wns_request(windows_device(), escaped, default_wns_allowed_hosts(), now);
  ASSERT_EQ(r.index(), 1u);
  EXPECT_EQ(std::get<delivery_result>(r).reason, "PayloadTooLarge");
}

TEST(WnsRequest, TtlTagAndChannelChecks) {
  notification n = alarm();
  n.expiration = now + 600;
  n.collapse_id = "appt-42";
  auto p = std::get<wns_prepared>(prepare_wns_request(windows_device(), n, default_wns_allowed_hosts(), now));
  EXPECT_EQ(header_of(p.request, "x-wns-ttl"), "600");
  EXPECT_EQ(header_of(p.request, "x-wns-tag"), "appt-42");
  for (std::string bad : {"http://wns2-par02p.notify.windows.com/w/?token=x", "https://169.254.169.254/w/?token=x",
                          "https://notify.windows.com.evil.example/w", "not a uri"}) {
    auto r = prepare_wns_request(windows_device(bad), alarm(), default_wns_allowed_hosts(), now);
    ASSERT_EQ(r.index(), 1u) << bad;
    EXPECT_EQ(std::get<delivery_result>(r).reason, "BadChannelUri");
    EXPECT_EQ(std::get<delivery_result>(r).kind, outcome::rejected);
  }
  EXPECT_EQ(prepare_wns_request(windows_device("https://127.0.0.1:9443/w/?token=x"), alarm(), {"127.0.0.1"}, now).index(),
            0u);
  notification background;
  background.push_type = "background";
  background.custom_json = R"({"herald":{"event":"Sync"}})";
  auto raw = std::get<wns_prepared>(prepare_wns_request(windows_device(), background, default_wns_allowed_hosts(), now));
  EXPECT_EQ(header_of(raw.request, "x-wns-type"), "wns/raw");
  EXPECT_EQ(header_of(raw.request, "content-type"), "application/octet-stream");
  EXPECT_EQ(raw.request.body, background.custom_json);
}

TEST(WnsClassify, EveryAnswerOfTheTable) {
  auto c = classify_wns_response(answer(200, {{"x-wns-msg-id", "1A2B", false}, {"x-wns-status", "received", false}}), 0,
                                 policy, 0.5, now, false);
  EXPECT_EQ(c.result.kind, outcome::delivered);
  EXPECT_EQ(c.result.provider_id, "1A2B");

  for (int gone : {404, 410}) {
    c = classify_wns_response(answer(gone), 0, policy, 0.5, now, false);
    EXPECT_EQ(c.result.kind, outcome::device_gone) << gone;
    EXPECT_EQ(c.result.http_status, gone);
  }
  EXPECT_EQ(classify_wns_response(answer(410), 0, policy, 0.5, now, false).result.reason, "ChannelExpired");

  for (int temporary : {406, 429, 500, 503}) {
    c = classify_wns_response(answer(temporary), 2, policy, 0.0, now, false);
    EXPECT_EQ(c.result.kind, outcome::retry_after) << temporary;
    EXPECT_EQ(c.result.retry_delay, 2000ms) << temporary;  // attempt 2: d = 4 s, unit 0 -> d/2
    EXPECT_EQ(c.next, next_step::finish);
  }
  EXPECT_EQ(classify_wns_response(answer(406), 0, policy, 0.5, now, false).result.reason, "Throttled");
  c = classify_wns_response(answer(503, {{"retry-after", "120", false}}), 0, policy, 0.5, now, false);
  EXPECT_EQ(c.result.retry_delay, 120'000ms);
  EXPECT_TRUE(c.retire_connection);

  c = classify_wns_response(answer(401), 0, policy, 0.5, now, false);
  EXPECT_EQ(c.next, next_step::refresh_token_resend);
  c = classify_wns_response(answer(401), 0, policy, 0.5, now, true);  // refreshed once already
  EXPECT_EQ(c.next, next_step::finish);
  EXPECT_EQ(c.result.kind, outcome::config_error);

  for (int permanent : {400, 403, 413}) {
    c = classify_wns_response(answer(permanent), 0, policy, 0.5, now, false);
    EXPECT_EQ(c.result.kind, outcome::rejected) << permanent;
    EXPECT_FALSE(c.result.reason.empty());
  }
  EXPECT_EQ(classify_wns_response(answer(413), 0, policy, 0.5, now, false).result.reason, "PayloadTooLarge");
  c = classify_wns_response(
      answer(403, {{"x-wns-error-description", "The channel belongs to another application", false}}), 0, policy, 0.5,
      now, false);
  EXPECT_EQ(c.result.reason, "The channel belongs to another application");
  EXPECT_EQ(wns_status_summary(answer(200, {{"x-wns-status", "received", false},
                                            {"x-wns-deviceconnectionstatus", "connected", false}})),
            "x-wns-status=received x-wns-deviceconnectionstatus=connected");
}

TEST(WnsToken, RequestBodyAndScopeDefaults) {
  EXPECT_EQ(wns_token_request_body("ms-app://s-1-15-2-1", "se/cr+et=", "notify.windows.com"),
            "grant_type=client_credentials&client_id=ms-app%3A%2F%2Fs-1-15-2-1&client_secret=se%2Fcr%2Bet%3D"
            "&scope=notify.windows.com");
  EXPECT_EQ(wns_scope_for("https://login.live.com/accesstoken.srf", ""), "notify.windows.com");
  EXPECT_EQ(wns_scope_for("https://login.microsoftonline.com/contoso/oauth2/v2.0/token", ""),
            "https://wns.windows.com/.default");
  EXPECT_EQ(wns_scope_for("https://login.live.com/accesstoken.srf", "custom"), "custom");
}

TEST(WnsToken, ParsesNumericAndStringLifetimesAndRefusesTheRest) {
  auto t = parse_wns_token_response(200, R"({"token_type":"bearer","access_token":"EgB0AQ==","expires_in":86400})");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->token, "EgB0AQ==");
  EXPECT_EQ(t->expires_in_s, 86400);
  t = parse_wns_token_response(200, R"({"token_type":"Bearer","access_token":"x","expires_in":"3599"})");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->expires_in_s, 3599);
  EXPECT_FALSE(parse_wns_token_response(400, R"({"error":"invalid_client"})").has_value());
  EXPECT_FALSE(parse_wns_token_response(200, R"({"token_type":"mac","access_token":"x","expires_in":5})").has_value());
  EXPECT_FALSE(parse_wns_token_response(200, R"({"access_token":"x","expires_in":0})").has_value());
  EXPECT_FALSE(parse_wns_token_response(200, R"({"access_token":"","expires_in":60})").has_value());
  EXPECT_FALSE(parse_wns_token_response(200, "not json").has_value());
}

TEST(WnsToken, CachedUntilFiveMinutesBeforeExpiryAndDroppedOnceOn401) {
  access_token_cache cache;
  EXPECT_TRUE(cache.needs_refresh(now));
  cache.store("t1", now, 86400);
  EXPECT_FALSE(cache.needs_refresh(now + 86400 - 301));
  EXPECT_TRUE(cache.needs_refresh(now + 86400 - 300));
  EXPECT_TRUE(cache.invalidate("t1"));
  EXPECT_TRUE(cache.needs_refresh(now));
  cache.store("t2", now, 86400);
  EXPECT_FALSE(cache.invalidate("t1"));  // a second 401 for the old token keeps the new one
  EXPECT_EQ(cache.token(), "t2");
}

TEST(WnsAndWebPushReasons, AreMetricLabelsWhileServiceTextIsNot) {
  for (std::string_view r : {"ChannelExpired", "ChannelNotFound", "Throttled", "Unauthorized", "BadChannelUri",
                             "SubscriptionGone", "SubscriptionNotFound", "BadSubscription", "PayloadTooLarge"})
    EXPECT_EQ(reason_label(r), r);
  EXPECT_EQ(reason_label("VapidRejected: invalid JWT exp"), "VapidRejected");
  EXPECT_EQ(reason_label("The channel belongs to another application"), "other");
}

}  // namespace
}  // namespace herald
