#pragma once
// Small pure types shared by the protocol code and the HTTP/2 transport.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "providers/provider.hpp"

namespace herald {

struct http_header {
  std::string name;   // lowercase (HTTP/2)
  std::string value;
  bool sensitive = false;  // sent as a literal never indexed (HPACK), e.g. authorization
};

struct http_request {
  std::string method = "POST";
  std::string path;
  bool path_sensitive = false;  // :path carries a device token
  std::vector<http_header> headers;
  std::string body;
};

// Sets `authorization: <scheme> <credentials>` (replacing one already there),
// sent as a literal never indexed.
void set_authorization(http_request& request, std::string_view scheme, std::string_view credentials);

struct http_response {
  int status = 0;
  std::vector<http_header> headers;
  std::string body;
  std::uint64_t connection_id = 0;  // which connection answered (to retire it)

  // First header named `name` (lowercase), if any.
  std::optional<std::string_view> header(std::string_view name) const;
};

// "https://host[:port][/path]" (IPv6 as [::1]); port defaults to 443.
struct https_url {
  std::string host;
  std::uint16_t port = 443;
  std::string path = "/";
  std::string authority() const;  // host[:port] as sent in :authority
};
std::optional<https_url> parse_https_url(std::string_view url);

// The longest Retry-After taken from a provider (larger values are clamped;
// the broker further bounds a retry by broker.max_lateness).
inline constexpr std::chrono::seconds max_retry_after{86'400};
// Retry-After as delay-seconds or an HTTP-date (RFC 9110 10.2.3); a date in
// the past gives 0; at most max_retry_after; nullopt when unparseable.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, std::int64_t now_unix_s);

// What the adapter does after a classified answer.
enum class next_step {
  finish,                 // `result` is final
  refresh_token_resend,   // new provider/access token, resend once (same apns-id)
};

struct classification {
  delivery_result result;
  next_step next = next_step::finish;
  bool retire_connection = false;  // stop using the connection that answered (503 Shutdown, expired token)
};

}  // namespace herald
