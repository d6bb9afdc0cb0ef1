#pragma once
// Web Push (RFC 8030), the pure parts besides the cryptography: the message
// JSON a service worker receives, the request (encrypted body, TTL, Urgency,
// Topic), response classification and the per-origin VAPID token cache.
// No sockets; see docs/PROVIDERS.md.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "runtime/backoff.hpp"
#include "providers/http_types.hpp"
#include "providers/provider.hpp"
#include "providers/webpush_crypto.hpp"

namespace herald {

// {"title","body","data":{...}} plus custom_json's members at the top level
// (e.g. "herald":{"appointment_id","event"}); background pushes carry no
// title/body. nullopt when custom_json is not a JSON object.
std::optional<std::string> build_webpush_payload(const notification& n);

struct webpush_request_settings {
  std::vector<std::string> allowed_hosts;  // empty = default_webpush_allowed_hosts()
  std::int64_t ttl_s = 86'400;             // used when the notification has no expiration
  std::string urgency = "high";            // for priority 10; priority 5 -> normal, 1 or background -> low
};

struct webpush_prepared {
  https_url url;        // the endpoint
  std::string origin;   // VAPID aud and the pool key
  http_request request; // everything but authorization
};

// Validates the stored subscription again (allow-list), encrypts the payload
// (fresh key and salt) and sets the headers. A delivery_result for what must
// not be sent: BadSubscription (rejected), PayloadTooLarge (rejected), Expired.
std::variant<webpush_prepared, delivery_result> prepare_webpush_request(const device_info& device,
                                                                        const notification& n,
                                                                        const webpush_request_settings& settings,
                                                                        std::int64_t now_unix_s);
void set_vapid_authorization(http_request& request, std::string_view header_value);

// 200/201/202 delivered; 404/410 device gone; 429 and 5xx retry (Retry-After
// honoured, else backoff); 413 rejected PayloadTooLarge; 400 rejected with
// the service's reason; 401/403 config_error (VAPID refused).
classification classify_webpush_response(const http_response& response, int attempt, const backoff_policy& backoff,
                                          double unit, std::int64_t now_unix_s);

// One VAPID JWT per origin, valid 12 hours, replaced one hour before expiry.
class vapid_token_cache {
 public:
  static constexpr std::int64_t lifetime_s = 12 * 3600;
  static constexpr std::int64_t renew_before_s = 3600;

  // The cached Authorization value for `origin`, or empty when a new one is due.
  std::string find(const std::string& origin, std::int64_t now_unix_s) const;
  void store(const std::string& origin, std::string authorization, std::int64_t expires_at_unix_s);
  std::size_t size() const { return entries_.size(); }

 private:
  struct entry {
    std::string authorization;
    std::int64_t expires_at = 0;
  };
  std::map<std::string, entry, std::less<>> entries_;
};

}  // namespace herald
