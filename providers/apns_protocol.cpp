#include "providers/apns_protocol.hpp"

#include <openssl/rand.h>

#include <boost/json.hpp>

#include <array>
#include <memory>

#include "runtime/digest.hpp"

namespace herald {

namespace {
struct push_type_info {
  std::string_view name;
  std::string_view topic_suffix;
};
constexpr std::array<push_type_info, 11> push_types{{
    {"alert", ""},
    {"background", ""},
    {"voip", ".voip"},
    {"complication", ".complication"},
    {"fileprovider", ".pushkit.fileprovider"},
    {"mdm", ""},
    {"liveactivity", ".push-type.liveactivity"},
    {"location", ".location-query"},
    {"pushtotalk", ".voip-ptt"},
    {"controls", ""},
    {"widgets", ""},
}};

// 8-4-4-4-12 lowercase hex.
std::string format_uuid(const std::array<unsigned char, 16>& b) {
  const auto h = to_hex(b);
  std::string out;
  out.reserve(36);
  out.append(h, 0, 8).append(1, '-').append(h, 8, 4).append(1, '-').append(h, 12, 4).append(1, '-').append(h, 16, 4).append(1, '-').append(h, 20, 12);
  return out;
}

delivery_result local_rejection(delivery_result::outcome kind, std::string reason) {
  delivery_result r;
  r.kind = kind;
  r.reason = std::move(reason);
  return r;
}

bool is_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  return true;
}
}  // namespace

std::string apns_id_for(std::string_view delivery_id) {
  std::string input = "herald-apns-id:";
  input += delivery_id;
  const auto digest = sha256_digest(input);
  std::array<unsigned char, 16> b{};
  std::copy(digest.begin(), digest.begin() + 16, b.begin());
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x80);  // version 8
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC variant
  return format_uuid(b);
}

std::string random_uuid() {
  std::array<unsigned char, 16> b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) throw std::runtime_error("RAND_bytes failed");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  return format_uuid(b);
}

bool is_known_push_type(std::string_view push_type) {
  for (const auto& p : push_types)
    if (p.name == push_type) return true;
  return false;
}

std::string apns_topic_for(std::string_view bundle_topic, std::string_view push_type) {
  for (const auto& p : push_types) {
    if (p.name != push_type || p.topic_suffix.empty()) continue;
    if (bundle_topic.ends_with(p.topic_suffix)) return std::string(bundle_topic);
    return std::string(bundle_topic) + std::string(p.topic_suffix);
  }
  return std::string(bundle_topic);
}

std::optional<std::string> build_apns_payload(const notification& n) {
  // Every intermediate value lives in one arena (stack first): no allocation
  // per member; only the serialized text is returned on the heap.
  unsigned char arena[4096];
  boost::json::monotonic_resource resource(arena, sizeof arena);
  boost::json::storage_ptr sp(&resource);
  boost::json::object root(sp);
  boost::json::object aps(sp);
  if (n.push_type == "background") {
    aps["content-available"] = 1;
  } else {
    boost::json::object alert(sp);
    alert["title"] = n.title;
    alert["body"] = n.body;
    aps["alert"] = std::move(alert);
    aps["sound"] = "default";
  }
  root["aps"] = std::move(aps);
  for (const auto& [k, v] : n.data)
    if (k != "aps") root[k] = v;
  if (!n.custom_json.empty()) {
    boost::system::error_code ec;
    auto custom = boost::json::parse(n.custom_json, ec, sp);
    if (ec || !custom.is_object()) return std::nullopt;
    for (auto& [k, v] : custom.as_object())
      if (k != "aps") root[k] = v;
  }
  return boost::json::serialize(root);
}

std::variant<apns_prepared, delivery_result> prepare_apns_request(const device_info& device, const notification& n,
                                                                  std::string_view bundle_topic) {
  using outcome = delivery_result::outcome;
  if (device.pns_handle.empty()) return local_rejection(outcome::rejected, "MissingDeviceToken");
  // APNs tokens are hex; their length is not fixed (do not assume 64).
  if (!is_hex(device.pns_handle) || device.pns_handle.size() > max_pns_handle_size)
    return local_rejection(outcome::device_gone, "BadDeviceToken");
  if (!is_known_push_type(n.push_type)) return local_rejection(outcome::rejected, "InvalidPushType");
  int priority = n.priority;
  if (n.push_type == "background" && priority == 10) priority = 5;  // APNs rejects background at 10
  if (priority != 10 && priority != 5 && priority != 1) return local_rejection(outcome::rejected, "BadPriority");
  if (n.collapse_id.size() > apns_collapse_id_limit) return local_rejection(outcome::rejected, "BadCollapseId");
  if (n.expiration < 0) return local_rejection(outcome::rejected, "BadExpirationDate");
  if (bundle_topic.empty()) return local_rejection(outcome::config_error, "MissingTopic");
  auto payload = build_apns_payload(n);
  if (!payload) return local_rejection(outcome::rejected, "InvalidCustomJson");
  std::size_t limit = n.push_type == "voip" ? apns_voip_payload_limit : apns_payload_limit;
  if (payload->size() > limit) return local_rejection(outcome::rejected, "PayloadTooLarge");

  apns_prepared out;
  out.apns_id = n.delivery_id.empty() ? random_uuid() : apns_id_for(n.delivery_id);
  auto& req = out.request;
  req.method = "POST";
  req.path.reserve(10 + device.pns_handle.size());
  req.path.append("/3/device/").append(device.pns_handle);
  req.headers.reserve(8);  // room for authorization too
  req.path_sensitive = true;
  req.headers.push_back({"apns-id", out.apns_id, false});
  req.headers.push_back({"apns-topic", apns_topic_for(bundle_topic, n.push_type), false});
  req.headers.push_back({"apns-push-type", n.push_type, false});
  req.headers.push_back({"apns-priority", std::to_string(priority), false});
  req.headers.push_back({"apns-expiration", std::to_string(n.expiration), false});
  if (!n.collapse_id.empty()) req.headers.push_back({"apns-collapse-id", n.collapse_id, false});
  req.headers.push_back({"content-type", "application/json", false});
  req.body = std::move(*payload);
  return out;
}

void set_apns_authorization(http_request& request, std::string_view jwt) { set_authorization(request, "bearer", jwt); }

classification classify_apns_response(const http_response& response, int attempt, const backoff_policy& backoff,
                                       double unit, std::int64_t now_unix_s, bool token_refreshed) {
  using outcome = delivery_result::outcome;
  classification c;
  auto& r = c.result;
  r.http_status = response.status;
  if (auto id = response.header("apns-id")) r.provider_id = std::string(*id);

  if (response.status == 200) {
    r.kind = outcome::delivered;
    return c;
  }
  std::optional<std::int64_t> timestamp;
  {
    boost::system::error_code ec;
    auto body = boost::json::parse(response.body, ec);
    if (!ec && body.is_object()) {
      if (auto* reason = body.as_object().if_contains("reason"); reason && reason->is_string())
        r.reason = std::string(reason->as_string());
      if (auto* ts = body.as_object().if_contains("timestamp")) {
        if (ts->is_int64()) timestamp = ts->as_int64();
        else if (ts->is_uint64()) timestamp = static_cast<std::int64_t>(ts->as_uint64());
        else if (ts->is_double()) timestamp = static_cast<std::int64_t>(ts->as_double());
      }
    }
  }
  auto retry = [&](std::chrono::milliseconds minimum = std::chrono::milliseconds(0)) {
    r.kind = outcome::retry_after;
    std::chrono::milliseconds d = backoff.delay(attempt, unit);
    if (auto ra = response.header("retry-after"))
      if (auto s = parse_retry_after(*ra, now_unix_s)) d = *s;
    r.retry_delay = std::max(d, minimum);
  };

  switch (response.status) {
    case 400:
      if (r.reason.empty()) r.reason = "BadRequest";
      r.kind = (r.reason == "BadDeviceToken" || r.reason == "DeviceTokenNotForTopic") ? outcome::device_gone
                                                                                       : outcome::rejected;
      return c;
    case 403:
      if (r.reason == "ExpiredProviderToken" && !token_refreshed) {
        r.kind = outcome::retry_after;
        c.next = next_step::refresh_token_resend;
        c.retire_connection = true;  // docs/PROVIDERS.md: new JWT, reopen the connection, resend
        return c;
      }
      if (r.reason.empty()) r.reason = "Forbidden";
      r.kind = outcome::config_error;
      return c;
    case 404:
    case 405:
      if (r.reason.empty()) r.reason = response.status == 404 ? "BadPath" : "MethodNotAllowed";
      r.kind = outcome::rejected;
      return c;
    case 410:
      if (r.reason.empty()) r.reason = "Unregistered";
      r.kind = outcome::device_gone;
      r.gone_timestamp_ms = timestamp;
      return c;
    case 413:
      if (r.reason.empty()) r.reason = "PayloadTooLarge";
      r.kind = outcome::rejected;
      return c;
    case 429:
      if (r.reason.empty()) r.reason = "TooManyRequests";
      retry();
      return c;
    case 500:
    case 503:
      if (r.reason.empty()) r.reason = response.status == 500 ? "InternalServerError" : "ServiceUnavailable";
      retry();
      // Shutdown: this connection is going away; retry on another one.
      c.retire_connection = r.reason == "Shutdown";
      return c;
    default:
      if (r.reason.empty()) r.reason = "HTTP " + std::to_string(response.status);
      if (response.status >= 500) {
        retry();
      } else {
        r.kind = outcome::rejected;
      }
      return c;
  }
}

bool apns_token_cache::needs_refresh(std::int64_t now_unix_s) const {
  if (token_.empty()) return true;
  return now_unix_s - issued_at_ >= refresh_after_s || now_unix_s < issued_at_ - 60;  // clock stepped back
}

void apns_token_cache::store(std::string token, std::int64_t issued_at_unix_s) {
  token_ = std::move(token);
  issued_at_ = issued_at_unix_s;
}

bool apns_token_cache::invalidate(std::string_view used) {
  if (token_.empty() || used != token_) return false;
  token_.clear();
  return true;
}

}  // namespace herald
