#pragma once
// WNS (Windows Push Notification Services), the pure parts: the OAuth2
// client-credentials exchange, the toast XML, local checks, and the
// classification of every WNS answer. No sockets; see docs/PROVIDERS.md.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "runtime/backoff.hpp"
#include "providers/fcm_protocol.hpp"
#include "providers/http_types.hpp"
#include "providers/provider.hpp"

namespace herald {

inline constexpr std::size_t wns_payload_limit = 5000;
inline constexpr std::string_view wns_entra_scope = "https://wns.windows.com/.default";
inline constexpr std::string_view wns_classic_scope = "notify.windows.com";

// Channel URIs live on *.notify.windows.com.
std::vector<std::string> default_wns_allowed_hosts();

// The scope to ask for: `configured` when set, else the classic one for
// login.live.com and the Entra ID one for anything else.
std::string wns_scope_for(std::string_view token_endpoint, std::string_view configured);

// grant_type=client_credentials&client_id=..&client_secret=..&scope=.. (form-urlencoded).
std::string wns_token_request_body(std::string_view client_id, std::string_view client_secret, std::string_view scope);

// {"access_token","token_type":"bearer","expires_in"} (expires_in a number or
// a numeric string); nullopt unless a 200 with a token and a positive lifetime.
std::optional<access_token> parse_wns_token_response(int status, std::string_view body);

// application/x-www-form-urlencoded escaping (RFC 3986 unreserved kept, space as %20).
std::string form_urlencode(std::string_view s);
// Text and attribute escaping for XML (& < > " ').
std::string toast_xml_escape(std::string_view s);

// The appointment id a notification is about: custom_json's
// herald.appointment_id, else a data entry "appointment_id"; empty if none.
std::string appointment_id_of(const notification& n);

// Launch arguments the app receives when the toast is clicked:
// "event=<event>&appointmentId=<id>" (values percent-encoded, absent ones left out).
std::string wns_launch_arguments(const notification& n);

// <toast launch="..."><visual><binding template="ToastGeneric"><text>title</text>
// <text>body</text></binding></visual></toast>, everything XML-escaped.
std::string build_wns_toast(const notification& n);

// What a WNS request needs besides the bearer token; `url` is the channel URI.
struct wns_prepared {
  https_url url;
  http_request request;  // path = channel path and query
};

// Channel URI checked (https on an allowed host), toast (or raw for
// background pushes) built and sized. A delivery_result for what must not be
// sent: PayloadTooLarge (> 5000 bytes), BadChannelUri.
std::variant<wns_prepared, delivery_result> prepare_wns_request(const device_info& device, const notification& n,
                                                                const std::vector<std::string>& allowed_hosts,
                                                                std::int64_t now_unix_s);
void set_wns_authorization(http_request& request, std::string_view access_token);

// 200 delivered; 404/410 device gone; 406 (throttled), 429 and 5xx retry
// (Retry-After honoured, else backoff); 401 refresh the token and resend
// once; 400/403/413 and other answers permanent, with X-WNS-Error-Description
// (else the status' meaning) as the reason.
classification classify_wns_response(const http_response& response, int attempt, const backoff_policy& backoff,
                                      double unit, std::int64_t now_unix_s, bool token_refreshed);

// "X-WNS-Status=received X-WNS-DeviceConnectionStatus=connected ..." for the log.
std::string wns_status_summary(const http_response& response);

}  // namespace herald
