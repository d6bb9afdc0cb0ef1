#pragma once
// Web Push, the pure parts: message encryption (RFC 8291 over RFC 8188
// "aes128gcm", one record), VAPID (RFC 8292) tokens, and the validation of a
// browser's subscription JSON. No sockets; OpenSSL 3 EVP stays in the .cpp.
// See docs/PROVIDERS.md.
#include <boost/system/result.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "providers/jwt.hpp"

namespace herald {

// Record size written in the header; the whole body must fit 4096 bytes.
inline constexpr std::uint32_t webpush_record_size = 4096;
// 4096 - header (16 salt + 4 rs + 1 idlen + 65 key) - 16 tag - 1 delimiter.
inline constexpr std::size_t webpush_max_plaintext = 3993;
inline constexpr std::size_t webpush_header_size = 86;

// A P-256 key pair (or a public key alone). Move-only.
class p256_key {
 public:
  static p256_key generate();
  // Private scalar (32 bytes, big-endian) and its uncompressed public point
  // (65 bytes, 0x04 || X || Y); nullopt unless they belong together.
  static std::optional<p256_key> from_private(std::string_view scalar, std::string_view public_point);
  // Public key only; nullopt unless a valid point on the curve (uncompressed, 65 bytes).
  static std::optional<p256_key> from_public(std::string_view public_point);

  p256_key(p256_key&&) noexcept;
  p256_key& operator=(p256_key&&) noexcept;
  ~p256_key();

  std::string public_point() const;  // 65 bytes
  bool has_private() const;
  // ECDH shared secret (X coordinate, 32 bytes) with `peer`; nullopt on failure.
  std::optional<std::string> derive(const p256_key& peer) const;

 private:
  struct impl;
  explicit p256_key(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

// True for a 65-byte uncompressed point that lies on P-256.
bool is_valid_p256_point(std::string_view point);

// What encryption may be given in place of fresh randomness (tests only):
// the RFC 8291 example fixes both.
struct webpush_encrypt_fixed {
  const p256_key* sender = nullptr;  // ephemeral application-server key (with private half)
  std::string_view salt;             // 16 bytes
};

enum class webpush_encrypt_error { payload_too_large, bad_subscription_key, bad_auth_secret, crypto_failed };
std::string_view to_string(webpush_encrypt_error e);

// salt | rs | idlen | sender public | AES-128-GCM(plaintext | 0x02) | tag.
// A fresh ephemeral key and salt per call unless `fixed` says otherwise.
std::variant<std::string, webpush_encrypt_error> webpush_encrypt(std::string_view plaintext,
                                                                 std::string_view ua_public,
                                                                 std::string_view auth_secret,
                                                                 const webpush_encrypt_fixed& fixed = {});
// The receiving side (browser; Herald's mock): nullopt unless the body
// authenticates with the subscription's private key and auth secret.
std::optional<std::string> webpush_decrypt(std::string_view body, const p256_key& ua_private,
                                           std::string_view auth_secret);

// --- VAPID (RFC 8292)

// "scheme://host[:port]" of an https URL (port only when not 443); nullopt
// for anything but an absolute https URL.
std::optional<std::string> origin_of(std::string_view url);
// ES256 JWT {"typ":"JWT","alg":"ES256"} {"aud":aud,"exp":exp,"sub":sub}.
boost::system::result<std::string> make_vapid_jwt(const signing_key& key, std::string_view audience,
                                                  std::int64_t expires_at_unix_s, std::string_view subject);
// "vapid t=<jwt>, k=<base64url public point>".
std::string vapid_authorization(std::string_view jwt, std::string_view public_point);

// What a push service checks: the signature against `public_point`, typ/alg,
// aud equal to `expected_audience`, exp in the future and at most 24 h ahead,
// sub present. An empty string when valid, else what is wrong.
std::string check_vapid_jwt(std::string_view jwt, std::string_view public_point, std::string_view expected_audience,
                            std::int64_t now_unix_s);

// --- Subscriptions (the Web platform's PNSHandle)

struct web_subscription {
  std::string endpoint;  // https URL on an allowed host
  std::string p256dh;    // 65 bytes (decoded)
  std::string auth;      // 16 bytes (decoded)
};

struct subscription_error {
  std::string field;    // "endpoint", "keys.p256dh", "keys.auth" or "" (not JSON)
  std::string message;  // names the field and what is wrong
};

// The push services browsers use (Chrome/FCM, Firefox/autopush, Safari, Edge/WNS).
std::vector<std::string> default_webpush_allowed_hosts();

// Whether `host` (lowercase, no port) matches an entry: "example.com" matches
// itself, "*.example.com" any name below it (not itself).
bool host_allowed(std::string_view host, const std::vector<std::string>& allowed_hosts);

// PushSubscription.toJSON(): {"endpoint","keys":{"p256dh","auth"}} (other
// members ignored). The endpoint must be https, without user info, on an
// allowed host; p256dh a valid uncompressed P-256 point; auth 16 bytes.
std::variant<web_subscription, subscription_error> parse_web_subscription(
    std::string_view json, const std::vector<std::string>& allowed_hosts);

}  // namespace herald
