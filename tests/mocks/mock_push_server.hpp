#pragma once
// Mock APNs and FCM servers for integration tests: real TLS (ALPN h2) on
// 127.0.0.1, HTTP/2 through an in-memory nghttp2 server session, strict request
// validation like the real services (docs/PROVIDERS.md), a record of every request
// and faults injected on command.
//
// Threading: each server runs its own io_context on its own thread. Every
// public member function is safe to call from any thread (the test thread);
// setters take effect for requests whose last frame arrives after the call.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace herald::test {

// Test credentials, generated with the OpenSSL C API into a temporary
// directory (private keys mode 0600). Nothing here is secret or reusable.
struct test_pki {
  std::string dir;
  std::string ca_file;           // PEM, trust anchor for both mocks (ca_file in config)
  std::string server_cert_file;  // PEM, SAN IP:127.0.0.1 + DNS:localhost, signed by the CA
  std::string server_key_file;   // PEM (PKCS#8), EC P-256
  // APNs token auth: EC P-256 key as PKCS#8 PEM (AuthKey_<kid>.p8).
  std::string apns_p8_file;
  std::string apns_key_id = "TESTKEY123";
  std::string apns_team_id = "TEAM123456";
  std::string apns_topic = "com.example.herald";
  // APNs certificate auth: a client certificate signed by the CA, EC P-256,
  // subject like Apple's (UID=<apns_topic>, CN=Apple Push Services: <topic>,
  // OU=<apns_team_id>). Three forms of the same certificate and key:
  std::string apns_cert_pem_file;            // certificate, then its PKCS#8 key (one PEM file)
  std::string apns_cert_encrypted_pem_file;  // the same, key encrypted with apns_cert_password
  std::string apns_cert_p12_file;            // PKCS#12 (.p12) with the CA as chain, apns_cert_password
  std::string apns_cert_password_file;       // apns_cert_password and a newline
  std::string apns_cert_password = "herald-test-p12";
  // FCM: service-account JSON with an RSA-2048 key (type, project_id,
  // private_key_id, private_key, client_email, client_id, token_uri).
  // token_uri starts as "https://127.0.0.1:1/token"; a mock_fcm_server
  // rewrites it to its own endpoint()+"/token" when it starts (see options).
  std::string fcm_service_account_file;
  std::string fcm_project_id = "herald-test";
  std::string fcm_client_email = "herald-test@herald-test.iam.gserviceaccount.com";
  std::string fcm_private_key_id;  // 40 hex chars

  // Creates everything in `dir` (created if missing) or a fresh temp dir.
  // Throws std::runtime_error on failure.
  static test_pki generate(const std::string& dir = {});
  // One PKI per process, generated on first use (RSA keygen is slow-ish),
  // removed at exit. A mock_fcm_server rewrites its token_uri: give each FCM
  // mock that runs at the same time its own generate().
  static const test_pki& shared();
  // Deletes the files and the directory.
  void remove_files() const;
  // Rewrites token_uri in the service-account file.
  void set_fcm_token_uri(const std::string& token_uri) const;
};

// Signing helpers for tests that talk to the mocks directly.
// ES256 APNs provider token: header {alg:ES256,kid}, claims {iss,iat}.
std::string make_apns_jwt(const std::string& p8_file, const std::string& key_id, const std::string& team_id,
                          std::int64_t iat_unix_seconds);
// RS256 OAuth assertion for the service account file (reads client_email,
// private_key_id, private_key, token_uri); exp = iat + lifetime.
std::string make_fcm_assertion(const std::string& service_account_file, std::int64_t iat_unix_seconds,
                               std::chrono::seconds lifetime = std::chrono::seconds(3600));

// One request as the mock saw it (after its last frame arrived).
struct recorded_request {
  std::uint64_t connection_id = 0;  // 1, 2, ... in accept order
  std::int32_t stream_id = 0;       // HTTP/2 stream id (0 on HTTP/1.1)
  std::string method;
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;  // in arrival order, incl. pseudo-headers
  std::string body;
  std::string device_token;  // APNs: from :path; FCM: message.token (or "/topics/x", "condition:...")
  std::string apns_id;       // APNs: request apns-id header, or the one the mock assigned
  // What the mock did: HTTP status sent (0 = none: stream refused or
  // connection reset by a fault); reason is the APNs reason / FCM errorCode or
  // status ("REFUSED_STREAM", "RESET" for the transport faults), empty on 200.
  // Streams beyond a GOAWAY's last-stream-id are never recorded. With a delay,
  // the record is made when the request arrives, before the answer is sent.
  int status = 0;
  std::string reason;
  std::chrono::system_clock::time_point received_at;

  // First value of a header (lowercase name), empty if absent.
  std::string header(std::string_view name) const;
};

// A fault applied to one request instead of the normal validation/answer.
struct mock_fault {
  enum class action {
    respond,           // answer with status/reason (status 200 = answer normally, after `delay`)
    refuse_stream,     // RST_STREAM REFUSED_STREAM (the request was not processed)
    reset_connection,  // RST the TCP connection: this stream and later ones go
                       // unprocessed and unanswered; answers decided before it
                       // (delayed ones too) are written first
  };
  action what = action::respond;
  int status = 200;
  // APNs: the "reason" string. FCM: details[].errorCode (e.g. "UNREGISTERED",
  // "QUOTA_EXCEEDED"); empty with 401 gives the plain UNAUTHENTICATED error.
  std::string reason;
  std::optional<std::int64_t> timestamp_ms;  // APNs 410 "timestamp"
  std::optional<int> retry_after_seconds;    // adds a Retry-After header
  std::chrono::milliseconds delay{0};        // wait before answering/refusing/resetting

  // APNs
  static mock_fault apns(int status, std::string reason);                  // e.g. (400,"BadDeviceToken")
  static mock_fault apns_unregistered(std::int64_t timestamp_ms);          // 410 Unregistered + timestamp
  static mock_fault apns_too_many_requests();                              // 429 TooManyRequests
  static mock_fault apns_service_unavailable(int retry_after_seconds);     // 503 ServiceUnavailable + Retry-After
  static mock_fault apns_expired_provider_token();                         // 403 ExpiredProviderToken
  static mock_fault apns_invalid_provider_token();                         // 403 InvalidProviderToken
  // FCM
  static mock_fault fcm(int status, std::string error_code);               // e.g. (403,"SENDER_ID_MISMATCH")
  static mock_fault fcm_unregistered();                                    // 404 UNREGISTERED
  static mock_fault fcm_quota_exceeded(std::optional<int> retry_after_seconds);  // 429 QUOTA_EXCEEDED
  static mock_fault fcm_unavailable(std::optional<int> retry_after_seconds);     // 503 UNAVAILABLE
  static mock_fault fcm_unauthenticated();                                 // 401 UNAUTHENTICATED, no details
  // Both
  static mock_fault refused_stream();
  static mock_fault reset_connection();
  static mock_fault slow(std::chrono::milliseconds delay);  // normal answer, late
};

namespace detail {
class server_core;
}

// What both mocks share: lifecycle, recording, faults, connection behaviour.
class mock_push_server {
 public:
  mock_push_server(const mock_push_server&) = delete;
  mock_push_server& operator=(const mock_push_server&) = delete;
  virtual ~mock_push_server();

  unsigned short port() const;
  std::string endpoint() const;  // "https://127.0.0.1:PORT"
  void stop();                   // closes everything and joins the thread; idempotent

  // --- recording (send requests only; FCM /token exchanges are counted apart)
  std::vector<recorded_request> requests() const;  // the most recent ones (see set_record_limit)
  std::size_t request_count() const;               // all requests since start / clear_requests()
  std::size_t count_for_token(std::string_view device_token) const;      // requests that reached the mock
  std::size_t delivered_count_for_token(std::string_view device_token) const;  // answered 200
  std::size_t count_for_apns_id(std::string_view apns_id) const;
  std::size_t delivered_count_for_apns_id(std::string_view apns_id) const;
  std::size_t delivered_count() const;
  // Device tokens answered 200 more than once ("nothing reached the mock twice").
  std::vector<std::string> tokens_delivered_twice() const;
  // Blocks until request_count() >= n; false on timeout.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const;
  std::size_t connection_count() const;  // TCP connections accepted so far
  // TLS handshakes the mock ended with a fatal alert (e.g. no or an untrusted
  // client certificate), counted before the alert is sent.
  std::size_t handshake_failures() const;
  std::size_t open_connection_count() const;
  // Highest number of streams seen open at once on one connection.
  std::uint32_t max_concurrent_streams_seen() const;
  // Streams nghttp2 refused (RST_STREAM REFUSED_STREAM, never recorded)
  // because they exceeded a SETTINGS_MAX_CONCURRENT_STREAMS the client had
  // not acknowledged yet, e.g. opened before our first SETTINGS arrived.
  std::size_t refused_streams() const;
  // Other frames nghttp2 rejected, e.g. a stream beyond the acknowledged
  // SETTINGS_MAX_CONCURRENT_STREAMS (GOAWAY PROTOCOL_ERROR, like a real server).
  std::size_t protocol_errors() const;
  void clear_requests();
  // Keep at most n full records (oldest dropped; counters keep counting).
  // Default: unlimited; the standalone binary uses 10000.
  void set_record_limit(std::size_t n);

  // --- faults (queues; per-token faults are looked up first). A fault with
  // a non-200 status, refuse_stream or reset_connection replaces validation
  // (the request is recorded, not checked); status 200 (slow) validates.
  // The token is APNs' :path token or FCM's message.token ("/topics/x",
  // "condition:..." for the other targets).
  // The next n requests (any token) get `f`.
  void fail_next(std::size_t n, const mock_fault& f);
  // The next `times` requests for this device token get `f`
  // (SIZE_MAX = every request from now on).
  void fail_token(const std::string& device_token, const mock_fault& f, std::size_t times = 1);
  void clear_faults();
  // Every answer is delayed by d (added to a fault's own delay).
  void set_response_delay(std::chrono::milliseconds d);
  // One-shot: the n-th request stream opened from now on (server-wide) makes
  // its connection send GOAWAY(NO_ERROR, last-stream-id = that stream,
  // debug data {"reason":...} if reason is set). Streams up to it are
  // answered; later streams on that connection are never processed (and not
  // recorded). The connection closes once the answered streams are done.
  void goaway_after(std::size_t n, std::string reason = {});
  // GOAWAY on every open connection now (last-stream-id = last one received).
  void goaway_now(std::string reason = {});
  // SETTINGS_MAX_CONCURRENT_STREAMS: sent now on every open connection and
  // used as the "raised" value for new connections.
  void set_max_concurrent_streams(std::uint32_t n);

 protected:
  explicit mock_push_server(std::unique_ptr<detail::server_core> core);
  std::unique_ptr<detail::server_core> core_;
};

struct mock_apns_options {
  std::string cert_file, key_file;  // server TLS
  std::string p8_file;              // its public key verifies the provider tokens
  std::string key_id, team_id;      // expected JWT kid / iss
  std::string topic;                // required apns-topic (push-type suffixes like ".voip" allowed)
  unsigned short port = 0;          // 0 = a free ephemeral port
  // Like APNs with token auth: 1 until a request succeeds on the connection,
  // then raised (by a new SETTINGS frame).
  std::uint32_t initial_max_concurrent_streams = 1;
  std::uint32_t max_concurrent_streams = 100;
  bool require_push_type = true;  // missing apns-push-type -> 400 InvalidPushType
  // 0 = off; else a provider-token change on one connection sooner than this
  // after the previous change -> 429 TooManyProviderTokenUpdates.
  std::chrono::seconds min_token_update_interval{0};
  // Certificate auth, like APNs with a provider certificate: when set, every
  // TLS client must present a certificate chaining to this CA (the handshake
  // fails otherwise). Requests then need no provider token (one sent anyway
  // is ignored; p8_file, key_id and team_id are unused), and the topic rules
  // apply to the certificate's bundle id (subject UID, else CN) instead of
  // `topic`: apns-topic may be omitted (defaults to it), another topic ->
  // 400 TopicDisallowed. The device tokens belong to `topic`: a certificate
  // for another bundle id -> 400 DeviceTokenNotForTopic.
  std::string client_ca_file;

  static mock_apns_options from(const test_pki& pki);
};

class mock_apns_server : public mock_push_server {
 public:
  explicit mock_apns_server(mock_apns_options options);
  explicit mock_apns_server(const test_pki& pki) : mock_apns_server(mock_apns_options::from(pki)) {}
};

struct mock_fcm_options {
  std::string cert_file, key_file;  // server TLS
  // Service-account JSON: project_id, client_email, private_key_id and the
  // public half of private_key are what assertions are checked against.
  std::string service_account_file;
  unsigned short port = 0;
  std::chrono::seconds access_token_lifetime{3599};  // expires_in of issued tokens
  std::uint32_t max_concurrent_streams = 100;
  // Rewrite token_uri in service_account_file to endpoint()+"/token" at start.
  bool write_token_uri = true;

  static mock_fcm_options from(const test_pki& pki);
};

// Serves POST /token (OAuth2 JWT-bearer exchange) and
// POST /v1/projects/<project>/messages:send on the same port. Also accepts
// HTTP/1.1 (ALPN http/1.1 or none) for both, for token clients that use it.
class mock_fcm_server : public mock_push_server {
 public:
  explicit mock_fcm_server(mock_fcm_options options);
  explicit mock_fcm_server(const test_pki& pki) : mock_fcm_server(mock_fcm_options::from(pki)) {}

  std::string token_uri() const;       // endpoint() + "/token"
  std::size_t token_requests() const;  // /token requests received (accepted or not)
  std::size_t tokens_issued() const;
  // Every access token issued so far becomes invalid (-> 401 UNAUTHENTICATED).
  void expire_access_tokens();
  void set_access_token_lifetime(std::chrono::seconds lifetime);
  // The next n /token requests get `f` (respond: status + OAuth error JSON).
  void fail_next_token_requests(std::size_t n, const mock_fault& f);
};

}  // namespace herald::test
