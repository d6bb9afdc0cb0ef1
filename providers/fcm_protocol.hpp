#pragma once
// FCM HTTP v1, the pure parts: service-account parsing, the OAuth2 token
// exchange request/answer, the message JSON, response classification and the
// access-token caching policy. No sockets; see docs/PROVIDERS.md.
#include <boost/system/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "runtime/backoff.hpp"
#include "providers/errors.hpp"
#include "providers/http_types.hpp"
#include "providers/provider.hpp"

namespace herald {

inline constexpr std::size_t fcm_payload_limit = 4096;
inline constexpr std::string_view fcm_scope = "https://www.googleapis.com/auth/firebase.messaging";
inline constexpr std::chrono::seconds fcm_quota_min_delay{60};

struct service_account {
  std::string project_id;
  std::string client_email;
  std::string private_key;  // PEM
  std::string private_key_id;
  std::string token_uri;
};
boost::system::result<service_account> parse_service_account(std::string_view json);

// POST body for token_uri (application/x-www-form-urlencoded).
std::string token_request_body(std::string_view assertion);

struct access_token {
  std::string token;
  std::int64_t expires_in_s = 0;
};
// nullopt unless a 200 with access_token and expires_in.
std::optional<access_token> parse_token_response(int status, std::string_view body);

// "/v1/projects/<project>/messages:send"
std::string fcm_send_path(std::string_view project_id);

// {"message":{"token","notification":{title,body},"data":{...},"android":{...}}}.
// Data and custom_json members become string data entries. A delivery_result
// for what must not be sent (empty token, payload over 4096 bytes).
std::variant<http_request, delivery_result> prepare_fcm_request(const device_info& device, const notification& n,
                                                                std::string_view project_id, std::int64_t now_unix_s);
void set_fcm_authorization(http_request& request, std::string_view access_token);

// details[].errorCode first, then the HTTP status; Retry-After honoured
// (QUOTA_EXCEEDED at least 60 s); 401 without detail -> refresh and resend once.
classification classify_fcm_response(const http_response& response, int attempt, const backoff_policy& backoff,
                                      double unit, std::int64_t now_unix_s, bool token_refreshed);

// Access-token policy: refresh ahead of expiry (5 minutes, or half the
// lifetime for short tokens); a 401 invalidates the token that was used.
class access_token_cache {
 public:
  bool needs_refresh(std::int64_t now_unix_s) const;
  void store(std::string token, std::int64_t now_unix_s, std::int64_t expires_in_s);
  bool invalidate(std::string_view used);
  const std::string& token() const { return token_; }
  std::int64_t refresh_at() const { return refresh_at_; }

 private:
  std::string token_;
  std::int64_t refresh_at_ = 0;
};

}  // namespace herald
