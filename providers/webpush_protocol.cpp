#include "providers/webpush_protocol.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

namespace herald {

namespace {
delivery_result local(delivery_result::outcome kind, std::string reason) {
  delivery_result r;
  r.kind = kind;
  r.reason = std::move(reason);
  return r;
}

bool is_base64url_topic(std::string_view s) {
  return !s.empty() && s.size() <= 32 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

// A printable, bounded excerpt of an error body for the reason.
std::string excerpt(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, 200)) out.push_back(static_cast<unsigned char>(c) < 0x20 ? ' ' : c);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}
}  // namespace

std::optional<std::string> build_webpush_payload(const notification& n) {
  boost::json::object o;
  if (n.push_type != "background") {
    o["title"] = n.title;
    if (!n.body.empty()) o["body"] = n.body;
  }
  if (!n.data.empty()) {
    boost::json::object data;
    for (const auto& [k, v] : n.data) data[k] = v;
    o["data"] = std::move(data);
  }
  if (!n.custom_json.empty()) {
    boost::system::error_code ec;
    auto custom = boost::json::parse(n.custom_json, ec);
    if (ec || !custom.is_object()) return std::nullopt;
    for (auto& [k, v] : custom.as_object()) o[k] = v;
  }
  return boost::json::serialize(o);
}

std::variant<webpush_prepared, delivery_result> prepare_webpush_request(const device_info& device,
                                                                        const notification& n,
                                                                        const webpush_request_settings& settings,
                                                                        std::int64_t now_unix_s) {
  using outcome = delivery_result::outcome;
  const auto& hosts = settings.allowed_hosts.empty() ? default_webpush_allowed_hosts() : settings.allowed_hosts;
  auto parsed = parse_web_subscription(device.pns_handle, hosts);
  if (parsed.index() == 1) return local(outcome::rejected, "BadSubscription");
  auto& sub = std::get<web_subscription>(parsed);
  auto url = parse_https_url(sub.endpoint);
  auto origin = origin_of(sub.endpoint);
  if (!url || !origin) return local(outcome::rejected, "BadSubscription");

  std::int64_t ttl = settings.ttl_s;
  if (n.expiration > 0) {
    ttl = n.expiration - now_unix_s;
    if (ttl <= 0) return local(outcome::rejected, "Expired");
  }
  auto payload = build_webpush_payload(n);
  if (!payload) return local(outcome::rejected, "BadCustomData");
  auto body = webpush_encrypt(*payload, sub.p256dh, sub.auth);
  if (auto* e = std::get_if<webpush_encrypt_error>(&body)) return local(outcome::rejected, std::string(to_string(*e)));

  webpush_prepared out;
  out.url = *url;
  out.origin = *origin;
  out.request.method = "POST";
  out.request.path = url->path;
  out.request.path_sensitive = true;  // the subscription id is in the path
  out.request.body = std::move(std::get<std::string>(body));
  out.request.headers.push_back({"ttl", std::to_string(ttl), false});
  out.request.headers.push_back({"content-encoding", "aes128gcm", false});
  out.request.headers.push_back({"content-type", "application/octet-stream", false});
  std::string urgency = settings.urgency;
  if (n.push_type == "background" || n.priority <= 1) urgency = "low";
  else if (n.priority < 10) urgency = "normal";
  out.request.headers.push_back({"urgency", urgency, false});
  if (is_base64url_topic(n.collapse_id)) out.request.headers.push_back({"topic", n.collapse_id, false});
  return out;
}

void set_vapid_authorization(http_request& request, std::string_view header_value) {
  for (auto& h : request.headers)
    if (h.name == "authorization") {
      h.value = std::string(header_value);
      return;
    }
  request.headers.push_back({"authorization", std::string(header_value), true});
}

classification classify_webpush_response(const http_response& response, int attempt, const backoff_policy& backoff,
                                          double unit, std::int64_t now_unix_s) {
  using outcome = delivery_result::outcome;
  classification c;
  auto& r = c.result;
  const int s = response.status;
  r.http_status = s;
  if (auto loc = response.header("location")) r.provider_id = std::string(loc->substr(0, 200));
  if (s == 200 || s == 201 || s == 202) {
    r.kind = outcome::delivered;
    return c;
  }
  if (s == 404 || s == 410) {
    r.kind = outcome::device_gone;
    r.reason = s == 410 ? "SubscriptionGone" : "SubscriptionNotFound";
    return c;
  }
  if (s == 429 || s >= 500) {
    r.kind = outcome::retry_after;
    r.reason = s == 429 ? "TooManyRequests" : "ServiceUnavailable";
    r.retry_delay = backoff.delay(attempt, unit);
    if (auto ra = response.header("retry-after"))
      if (auto secs = parse_retry_after(*ra, now_unix_s)) r.retry_delay = *secs;
    if (s >= 500) c.retire_connection = true;
    return c;
  }
  if (s == 413) {
    r.kind = outcome::rejected;
    r.reason = "PayloadTooLarge";
    return c;
  }
  if (s == 401 || s == 403) {
    r.kind = outcome::config_error;
    r.reason = "VapidRejected";
    if (auto e = excerpt(response.body); !e.empty()) r.reason += ": " + e;
    return c;
  }
  r.kind = outcome::rejected;
  r.reason = excerpt(response.body);
  if (r.reason.empty()) r.reason = s == 400 ? "BadRequest" : "Rejected";
  return c;
}

std::string vapid_token_cache::find(const std::string& origin, std::int64_t now_unix_s) const {
  auto it = entries_.find(origin);
  if (it == entries_.end() || now_unix_s >= it->second.expires_at - renew_before_s) return {};
  return it->second.authorization;
}

void vapid_token_cache::store(const std::string& origin, std::string authorization, std::int64_t expires_at_unix_s) {
  entries_[origin] = entry{std::move(authorization), expires_at_unix_s};
}

}  // namespace herald
