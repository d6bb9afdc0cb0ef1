#include "providers/wns_protocol.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <charconv>

#include "model/text.hpp"
#include "providers/webpush_crypto.hpp"

namespace herald {

namespace {

delivery_result local(delivery_result::outcome kind, std::string reason) {
  delivery_result r;
  r.kind = kind;
  r.reason = std::move(reason);
  return r;
}

std::string_view status_meaning(int status) {
  switch (status) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "ChannelNotFound";
    case 405: return "MethodNotAllowed";
    case 406: return "Throttled";
    case 410: return "ChannelExpired";
    case 413: return "PayloadTooLarge";
    case 429: return "TooManyRequests";
    case 500: return "InternalServerError";
    case 503: return "ServiceUnavailable";
    default: return status >= 500 ? "ServerError" : "Rejected";
  }
}

}  // namespace

std::vector<std::string> default_wns_allowed_hosts() { return {"*.notify.windows.com"}; }

std::string wns_scope_for(std::string_view token_endpoint, std::string_view configured) {
  if (!configured.empty()) return std::string(configured);
  auto url = parse_https_url(token_endpoint);
  if (url && url->host == "login.live.com") return std::string(wns_classic_scope);
  return std::string(wns_entra_scope);
}

std::string form_urlencode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::string wns_token_request_body(std::string_view client_id, std::string_view client_secret, std::string_view scope) {
  return "grant_type=client_credentials&client_id=" + form_urlencode(client_id) +
         "&client_secret=" + form_urlencode(client_secret) + "&scope=" + form_urlencode(scope);
}

std::optional<access_token> parse_wns_token_response(int status, std::string_view body) {
  if (status != 200) return std::nullopt;
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.as_object();
  access_token t;
  if (auto* a = o.if_contains("access_token"); a && a->is_string()) t.token = std::string(a->as_string());
  if (auto* e = o.if_contains("expires_in")) {
    if (e->is_int64()) t.expires_in_s = e->as_int64();
    else if (e->is_uint64()) t.expires_in_s = static_cast<std::int64_t>(e->as_uint64());
    else if (e->is_double()) t.expires_in_s = static_cast<std::int64_t>(e->as_double());
    else if (e->is_string()) {
      std::string_view s = e->as_string();
      std::int64_t value = 0;
      auto [p, err] = std::from_chars(s.data(), s.data() + s.size(), value);
      if (err == std::errc() && p == s.data() + s.size()) t.expires_in_s = value;
    }
  }
  if (auto* type = o.if_contains("token_type"); type && type->is_string()) {
    std::string_view tt = type->as_string();
    if (tt != "bearer" && tt != "Bearer") return std::nullopt;
  }
  if (t.token.empty() || t.expires_in_s <= 0) return std::nullopt;
  return t;
}

std::string toast_xml_escape(std::string_view s) { return xml_escape(s, xml_controls::drop); }

std::string appointment_id_of(const notification& n) {
  if (!n.custom_json.empty()) {
    boost::system::error_code ec;
    auto v = boost::json::parse(n.custom_json, ec);
    if (!ec && v.is_object()) {
      if (auto* h = v.as_object().if_contains("herald"); h && h->is_object()) {
        if (auto* id = h->as_object().if_contains("appointment_id")) {
          if (id->is_string()) return std::string(id->as_string());
          if (id->is_int64() || id->is_uint64()) return boost::json::serialize(*id);
        }
      }
    }
  }
  for (const auto& [k, v] : n.data)
    if (k == "appointment_id") return v;
  return {};
}

namespace {
std::string event_of(const notification& n) {
  if (n.custom_json.empty()) return {};
  boost::system::error_code ec;
  auto v = boost::json::parse(n.custom_json, ec);
  if (ec || !v.is_object()) return {};
  auto* h = v.as_object().if_contains("herald");
  if (!h || !h->is_object()) return {};
  auto* e = h->as_object().if_contains("event");
  return e && e->is_string() ? std::string(e->as_string()) : std::string();
}
}  // namespace

std::string wns_launch_arguments(const notification& n) {
  std::string out;
  auto add = [&](std::string_view key, const std::string& value) {
    if (value.empty()) return;
    if (!out.empty()) out += '&';
    out += key;
    out += '=';
    out += form_urlencode(value);
  };
  add("event", event_of(n));
  add("appointmentId", appointment_id_of(n));
  return out;
}

std::string build_wns_toast(const notification& n) {
  std::string out = "<toast";
  std::string launch = wns_launch_arguments(n);
  if (!launch.empty()) out += " launch=\"" + toast_xml_escape(launch) + "\"";
  out += "><visual><binding template=\"ToastGeneric\">";
  out += "<text>" + toast_xml_escape(n.title) + "</text>";
  if (!n.body.empty()) out += "<text>" + toast_xml_escape(n.body) + "</text>";
  out += "</binding></visual></toast>";
  return out;
}

std::variant<wns_prepared, delivery_result> prepare_wns_request(const device_info& device, const notification& n,
                                                                const std::vector<std::string>& allowed_hosts,
                                                                std::int64_t now_unix_s) {
  using outcome = delivery_result::outcome;
  auto origin = origin_of(device.pns_handle);
  auto url = parse_https_url(device.pns_handle);
  if (!origin || !url || !host_allowed(url->host, allowed_hosts)) return local(outcome::rejected, "BadChannelUri");
  for (char c : device.pns_handle)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return local(outcome::rejected, "BadChannelUri");

  wns_prepared out;
  out.url = *url;
  out.request.method = "POST";
  out.request.path = url->path;
  out.request.path_sensitive = true;  // the channel token is in the query
  const bool raw = n.push_type == "background";
  if (raw) {
    out.request.body = n.custom_json.empty() ? "{}" : n.custom_json;
    out.request.headers.push_back({"content-type", "application/octet-stream", false});
    out.request.headers.push_back({"x-wns-type", "wns/raw", false});
  } else {
    out.request.body = build_wns_toast(n);
    out.request.headers.push_back({"content-type", "text/xml", false});
    out.request.headers.push_back({"x-wns-type", "wns/toast", false});
  }
  if (out.request.body.size() > wns_payload_limit) return local(outcome::rejected, "PayloadTooLarge");
  if (n.expiration > 0) {
    std::int64_t ttl = n.expiration - now_unix_s;
    if (ttl <= 0) return local(outcome::rejected, "Expired");
    out.request.headers.push_back({"x-wns-ttl", std::to_string(ttl), false});
  }
  // X-WNS-Tag is at most 16 characters; longer collapse ids are not sent as a tag.
  if (!n.collapse_id.empty() && n.collapse_id.size() <= 16 && !raw)
    out.request.headers.push_back({"x-wns-tag", n.collapse_id, false});
  out.request.headers.push_back({"x-wns-requestforstatus", "true", false});
  return out;
}

void set_wns_authorization(http_request& request, std::string_view access_token) {
  set_authorization(request, "Bearer", access_token);
}

classification classify_wns_response(const http_response& response, int attempt, const backoff_policy& backoff,
                                      double unit, std::int64_t now_unix_s, bool token_refreshed) {
  using outcome = delivery_result::outcome;
  classification c;
  auto& r = c.result;
  r.http_status = response.status;
  if (auto id = response.header("x-wns-msg-id")) r.provider_id = std::string(*id);
  std::string description;
  if (auto d = response.header("x-wns-error-description")) description = std::string(d->substr(0, 200));
  const int s = response.status;
  r.reason = description.empty() ? std::string(status_meaning(s)) : description;
  if (s == 200) {
    r.kind = outcome::delivered;
    r.reason.clear();
    return c;
  }
  if (s == 404 || s == 410) {
    r.kind = outcome::device_gone;
    return c;
  }
  if (s == 401) {
    if (!token_refreshed) {
      c.next = next_step::refresh_token_resend;
      r.kind = outcome::retry_after;
      return c;
    }
    r.kind = outcome::config_error;  // a fresh token was refused too
    return c;
  }
  if (s == 406 || s == 429 || s >= 500) {
    r.kind = outcome::retry_after;
    r.retry_delay = backoff.delay(attempt, unit);
    if (auto ra = response.header("retry-after"))
      if (auto secs = parse_retry_after(*ra, now_unix_s))
        r.retry_delay = std::max<std::chrono::milliseconds>(r.retry_delay, *secs);
    if (s >= 500) c.retire_connection = true;
    return c;
  }
  r.kind = outcome::rejected;  // 400, 403, 405, 413 and anything unexpected
  return c;
}

std::string wns_status_summary(const http_response& response) {
  std::string out;
  for (std::string_view name : {"x-wns-status", "x-wns-deviceconnectionstatus", "x-wns-error-description",
                                "x-wns-msg-id", "x-wns-debug-trace"}) {
    if (auto v = response.header(name)) {
      if (!out.empty()) out += ' ';
      out += name;
      out += '=';
      out += v->substr(0, 200);
    }
  }
  return out;
}

}  // namespace herald
