#include "providers/fcm_protocol.hpp"

#include <boost/json.hpp>

namespace herald {

namespace {
std::string string_member(const boost::json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key); v && v->is_string()) return std::string(v->as_string());
  return {};
}

std::string form_escape(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

// Length of the JSON text of `v`, without building it.
std::size_t serialized_size(const boost::json::value& v) {
  boost::json::serializer sr;
  sr.reset(&v);
  char buf[1024];
  std::size_t n = 0;
  while (!sr.done()) n += sr.read(buf, sizeof buf).size();
  return n;
}

delivery_result local_rejection(delivery_result::outcome kind, std::string reason) {
  delivery_result r;
  r.kind = kind;
  r.reason = std::move(reason);
  return r;
}
}  // namespace

boost::system::result<service_account> parse_service_account(std::string_view json) {
  boost::system::error_code ec;
  auto v = boost::json::parse(json, ec);
  if (ec || !v.is_object()) return provider_error::service_account_invalid;
  const auto& o = v.as_object();
  service_account sa{string_member(o, "project_id"), string_member(o, "client_email"), string_member(o, "private_key"),
                     string_member(o, "private_key_id"), string_member(o, "token_uri")};
  if (sa.token_uri.empty()) sa.token_uri = "https://oauth2.googleapis.com/token";
  if (sa.project_id.empty() || sa.client_email.empty() || sa.private_key.empty())
    return provider_error::service_account_invalid;
  return sa;
}

std::string token_request_body(std::string_view assertion) {
  return "grant_type=" + form_escape("urn:ietf:params:oauth:grant-type:jwt-bearer") +
         "&assertion=" + form_escape(assertion);
}

std::optional<access_token> parse_token_response(int status, std::string_view body) {
  if (status != 200) return std::nullopt;
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.as_object();
  access_token t;
  t.token = string_member(o, "access_token");
  if (auto* e = o.if_contains("expires_in")) {
    if (e->is_int64()) t.expires_in_s = e->as_int64();
    else if (e->is_uint64()) t.expires_in_s = static_cast<std::int64_t>(e->as_uint64());
    else if (e->is_double()) t.expires_in_s = static_cast<std::int64_t>(e->as_double());
  }
  if (t.token.empty() || t.expires_in_s <= 0) return std::nullopt;
  return t;
}

std::string fcm_send_path(std::string_view project_id) {
  return "/v1/projects/" + std::string(project_id) + "/messages:send";
}

std::variant<http_request, delivery_result> prepare_fcm_request(const device_info& device, const notification& n,
                                                                std::string_view project_id, std::int64_t now_unix_s) {
  using outcome = delivery_result::outcome;
  if (device.pns_handle.empty()) return local_rejection(outcome::rejected, "INVALID_ARGUMENT");
  // Every intermediate value lives in one arena (stack first); only the
  // serialized body is returned on the heap.
  unsigned char arena[8192];
  boost::json::monotonic_resource resource(arena, sizeof arena);
  boost::json::storage_ptr sp(&resource);
  boost::json::object data(sp);
  for (const auto& [k, v] : n.data) data[k] = v;
  if (!n.custom_json.empty()) {
    boost::system::error_code ec;
    auto custom = boost::json::parse(n.custom_json, ec, sp);
    if (ec || !custom.is_object()) return local_rejection(outcome::rejected, "InvalidCustomJson");
    // FCM data is a map of string to string: nested members travel as JSON text.
    for (auto& [k, v] : custom.as_object())
      data[k] = v.is_string() ? boost::json::value(v.as_string()) : boost::json::value(boost::json::serialize(v));
  }
  boost::json::object message(sp);
  message["token"] = device.pns_handle;
  if (n.push_type != "background") {
    boost::json::object notif(sp);
    notif["title"] = n.title;
    notif["body"] = n.body;
    message["notification"] = std::move(notif);
  }
  // The 4096-byte limit applies to what the device receives (notification + data).
  std::size_t payload_size = 2;  // "{}" without data
  if (!data.empty()) {
    message["data"] = std::move(data);
    payload_size = serialized_size(message.at("data"));
  }
  if (auto* notif = message.if_contains("notification")) payload_size += serialized_size(*notif);
  if (payload_size > fcm_payload_limit) return local_rejection(outcome::rejected, "PayloadTooLarge");

  boost::json::object android(sp);
  android["priority"] = n.priority >= 10 ? "HIGH" : "NORMAL";
  if (n.expiration > 0) {
    std::int64_t ttl = n.expiration > now_unix_s ? n.expiration - now_unix_s : 0;
    android["ttl"] = std::to_string(ttl) + "s";
  }
  if (!n.collapse_id.empty()) android["collapse_key"] = n.collapse_id;
  message["android"] = std::move(android);

  boost::json::object root(sp);
  root["message"] = std::move(message);
  http_request req;
  req.method = "POST";
  req.path = fcm_send_path(project_id);
  req.headers.reserve(2);
  req.headers.push_back({"content-type", "application/json; charset=utf-8", false});
  req.body = boost::json::serialize(root);
  return req;
}

void set_fcm_authorization(http_request& request, std::string_view token) { set_authorization(request, "Bearer", token); }

classification classify_fcm_response(const http_response& response, int attempt, const backoff_policy& backoff,
                                      double unit, std::int64_t now_unix_s, bool token_refreshed) {
  using outcome = delivery_result::outcome;
  classification c;
  auto& r = c.result;
  r.http_status = response.status;
  std::string error_code;
  std::string status_text;
  {
    boost::system::error_code ec;
    auto body = boost::json::parse(response.body, ec);
    if (!ec && body.is_object()) {
      const auto& o = body.as_object();
      if (response.status == 200) r.provider_id = string_member(o, "name");
      if (auto* err = o.if_contains("error"); err && err->is_object()) {
        status_text = string_member(err->as_object(), "status");
        if (auto* details = err->as_object().if_contains("details"); details && details->is_array()) {
          for (const auto& d : details->as_array()) {
            if (!d.is_object()) continue;
            auto code = string_member(d.as_object(), "errorCode");
            if (!code.empty()) {
              error_code = code;
              break;
            }
          }
        }
      }
    }
  }
  if (response.status == 200) {
    r.kind = outcome::delivered;
    return c;
  }
  auto retry = [&](std::chrono::milliseconds minimum) {
    r.kind = outcome::retry_after;
    std::chrono::milliseconds d = backoff.delay(attempt, unit);
    if (auto ra = response.header("retry-after"))
      if (auto s = parse_retry_after(*ra, now_unix_s)) d = *s;
    r.retry_delay = std::max(d, minimum);
  };
  constexpr std::chrono::milliseconds none{0};

  if (!error_code.empty()) {
    r.reason = error_code;
    if (error_code == "UNREGISTERED" || error_code == "SENDER_ID_MISMATCH") {
      r.kind = outcome::device_gone;
    } else if (error_code == "INVALID_ARGUMENT") {
      r.kind = outcome::rejected;
    } else if (error_code == "THIRD_PARTY_AUTH_ERROR" || error_code == "APNS_AUTH_ERROR") {
      r.kind = outcome::config_error;
    } else if (error_code == "QUOTA_EXCEEDED") {
      retry(fcm_quota_min_delay);
    } else if (error_code == "UNAVAILABLE" || error_code == "INTERNAL") {
      retry(none);
    } else if (response.status >= 500 || response.status == 429) {
      retry(response.status == 429 ? std::chrono::milliseconds(fcm_quota_min_delay) : none);
    } else {
      r.kind = outcome::rejected;
    }
    return c;
  }

  r.reason = status_text.empty() ? "HTTP " + std::to_string(response.status) : status_text;
  switch (response.status) {
    case 400:
      r.kind = outcome::rejected;
      if (status_text.empty()) r.reason = "INVALID_ARGUMENT";
      return c;
    case 401:
      if (status_text.empty()) r.reason = "UNAUTHENTICATED";
      if (!token_refreshed) {
        r.kind = outcome::retry_after;
        c.next = next_step::refresh_token_resend;
      } else {
        r.kind = outcome::config_error;
      }
      return c;
    case 403:
    case 404:  // without errorCode: wrong project/endpoint, not a device problem
      r.kind = outcome::config_error;
      return c;
    case 429:
      if (status_text.empty()) r.reason = "QUOTA_EXCEEDED";
      retry(fcm_quota_min_delay);
      return c;
    default:
      if (response.status >= 500) {
        retry(none);
      } else {
        r.kind = outcome::rejected;
      }
      return c;
  }
}

bool access_token_cache::needs_refresh(std::int64_t now_unix_s) const {
  return token_.empty() || now_unix_s >= refresh_at_;
}

void access_token_cache::store(std::string token, std::int64_t now_unix_s, std::int64_t expires_in_s) {
  token_ = std::move(token);
  std::int64_t margin = std::min<std::int64_t>(300, expires_in_s / 2);
  refresh_at_ = now_unix_s + expires_in_s - margin;
}

bool access_token_cache::invalidate(std::string_view used) {
  if (token_.empty() || used != token_) return false;
  token_.clear();
  return true;
}

}  // namespace herald
