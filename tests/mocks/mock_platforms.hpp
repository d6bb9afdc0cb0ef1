#pragma once
// Mock WNS and Web Push services for integration tests: real TLS on
// 127.0.0.1, HTTP/2 when the client's ALPN offers h2 (unless `http2` is
// off) and HTTP/1.1 otherwise, strict validation like the real services
// (docs/PROVIDERS.md), the request record and faults of mock_push_server
// (fail_token/fail_next with mock_fault::apns(status, reason), slow,
// reset_connection).
//
// With `validate` off (benchmarks) a send is answered from memory at once,
// as a valid one would be: no token, header, XML, VAPID or decryption
// check, no fault queue, and the record keeps the device token and status
// only (counts stay right; headers and body are not kept).
//
// The device token of a recorded request is the WNS channel's token
// parameter, or the Web Push subscription id (the last path segment).
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "tests/mocks/mock_push_server.hpp"

namespace herald::test {

struct mock_wns_options {
  std::string cert_file, key_file;  // server TLS
  std::string client_id = "ms-app://s-1-15-2-herald-test";
  std::string client_secret = "herald-test-wns-secret";
  std::string scope = "https://wns.windows.com/.default";  // the scope a token request must ask for
  std::chrono::seconds token_lifetime{86'400};
  unsigned short port = 0;
  bool http2 = true;     // false: ALPN never selects h2 (an HTTP/1.1-only service)
  bool validate = true;  // false: every send answered 200 without checks (the token endpoint still checks)

  static mock_wns_options from(const test_pki& pki);
};

// POST /token: OAuth 2.0 client credentials (form: grant_type, client_id,
// client_secret, scope), answers {"access_token","token_type":"bearer",
// "expires_in"}. POST /w/?token=<channel>: needs a bearer token it issued,
// X-WNS-Type wns/toast|tile|badge|raw, Content-Type text/xml (raw:
// application/octet-stream), a body of at most 5000 bytes (else 413) that is
// well-formed XML with a <toast> root for toasts (else 400); answers 200
// with X-WNS-Status, X-WNS-DeviceConnectionStatus and X-WNS-Msg-ID.
class mock_wns_server : public mock_push_server {
 public:
  explicit mock_wns_server(mock_wns_options options);
  explicit mock_wns_server(const test_pki& pki) : mock_wns_server(mock_wns_options::from(pki)) {}

  std::string token_endpoint() const;                   // endpoint() + "/token"
  std::string channel_uri(const std::string& channel) const;  // endpoint() + "/w/?token=" + channel
  std::size_t token_requests() const;
  std::size_t tokens_issued() const;
  // Every token issued so far becomes invalid (the next send gets 401).
  void expire_access_tokens();
  // The next n /token requests get `f` (status + OAuth error JSON).
  void fail_next_token_requests(std::size_t n, const mock_fault& f);
};

struct mock_webpush_options {
  std::string cert_file, key_file;  // server TLS
  std::string vapid_public_key;     // base64url uncompressed P-256 point the VAPID JWTs must verify with
  unsigned short port = 0;
  bool http2 = true;     // false: ALPN never selects h2 (an HTTP/1.1-only service)
  bool validate = true;  // false: every POST /push/<any id> answered 201 without checks or decryption
};

// POST /push/<id> for subscriptions made with subscribe(): checks
// Authorization "vapid t=<JWT>, k=<key>" (k equals the configured key, the
// ES256 signature verifies with it, aud is this server's origin, exp in the
// future and at most 24 h ahead, sub mailto:/https:), TTL, Content-Encoding
// aes128gcm, Urgency and Topic when present, a body of at most 4096 bytes
// (else 413), and decrypts the body with the subscription's private key and
// auth secret (else 400). Answers 201 with a Location header; an unknown
// subscription gets 404.
class mock_webpush_server : public mock_push_server {
 public:
  explicit mock_webpush_server(mock_webpush_options options);

  // A new subscription (fresh P-256 key pair and auth secret kept by the
  // mock), as PushSubscription.toJSON() gives it:
  // {"endpoint": endpoint()+"/push/<id>", "keys": {"p256dh", "auth"}}.
  std::string subscribe(const std::string& id);
  // The decrypted messages the subscription received, in order.
  std::vector<std::string> messages_for(const std::string& id) const;
  // Requests refused for their VAPID header or an undecryptable body.
  std::size_t vapid_failures() const;
  std::size_t decrypt_failures() const;
};

}  // namespace herald::test
