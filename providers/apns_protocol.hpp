#pragma once
// APNs provider API, the pure parts: request headers and payload, local
// checks, deterministic apns-id, response classification and the provider
// token (JWT) caching policy. No sockets; see docs/PROVIDERS.md.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "runtime/backoff.hpp"
#include "providers/http_types.hpp"
#include "providers/provider.hpp"

namespace herald {

inline constexpr std::size_t apns_payload_limit = 4096;
inline constexpr std::size_t apns_voip_payload_limit = 5120;
inline constexpr std::size_t apns_collapse_id_limit = 64;

// Lowercase canonical UUID from SHA-256("herald-apns-id:" + delivery_id),
// version 8 (RFC 9562 name-based custom hash), variant 10xx.
std::string apns_id_for(std::string_view delivery_id);
// Random version 4 UUID, lowercase.
std::string random_uuid();

// The topic for a push type: bundle id plus Apple's suffix (".voip",
// ".complication", ".pushkit.fileprovider", ".push-type.liveactivity",
// ".location-query", ".voip-ptt"); unchanged when `topic` already ends with it.
std::string apns_topic_for(std::string_view bundle_topic, std::string_view push_type);
bool is_known_push_type(std::string_view push_type);

// {"aps":{"alert":{"title","body"},"sound":"default"}, data..., custom...}.
// Background pushes get {"aps":{"content-available":1}} only. nullopt when
// custom_json is not a JSON object.
std::optional<std::string> build_apns_payload(const notification& n);

// A request ready except for the authorization header.
struct apns_prepared {
  std::string apns_id;
  http_request request;
};

// Checks locally what APNs would reject (payload size, collapse id length,
// push type, priority, device token) and builds the request. A
// delivery_result is returned for what must not be sent.
std::variant<apns_prepared, delivery_result> prepare_apns_request(const device_info& device, const notification& n,
                                                                  std::string_view bundle_topic);

// Adds `authorization: bearer <jwt>` (never indexed).
void set_apns_authorization(http_request& request, std::string_view jwt);

// Status + reason -> outcome (the table in docs/PROVIDERS.md). `attempt` and
// `unit` feed the backoff for retry_after; `token_refreshed` says the
// request already carried a refreshed token (no second refresh).
classification classify_apns_response(const http_response& response, int attempt, const backoff_policy& backoff,
                                       double unit, std::int64_t now_unix_s, bool token_refreshed);

// Provider token policy: reuse a JWT for 20..60 minutes, refresh at 50;
// an ExpiredProviderToken invalidates the token that was used (once, even
// when many streams report it).
class apns_token_cache {
 public:
  static constexpr std::int64_t refresh_after_s = 50 * 60;
  static constexpr std::int64_t min_age_s = 20 * 60;

  bool needs_refresh(std::int64_t now_unix_s) const;
  void store(std::string token, std::int64_t issued_at_unix_s);
  // True when `used` was the current token (it is dropped); false when it was
  // already replaced (the caller just resends with the current one).
  bool invalidate(std::string_view used);
  const std::string& token() const { return token_; }
  std::int64_t issued_at() const { return issued_at_; }

 private:
  std::string token_;
  std::int64_t issued_at_ = 0;
};

}  // namespace herald
