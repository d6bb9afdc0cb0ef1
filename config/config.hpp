#pragma once
// Herald's configuration: plain structs with documented defaults, loaded
// from YAML and validated once at load. Only config/ includes yaml-cpp.
// A loaded config is immutable; a reload builds a new one.
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/digest.hpp"  // sha256_digest: token_credential::sha256
#include "runtime/located_error.hpp"

namespace herald {

using millis = std::chrono::milliseconds;

// A configuration problem: `key` is the dotted path ("server.listen",
// "auth.tokens[1].sha256"), `problem` says what is wrong with it.
class config_error : public located_error {
 public:
  using located_error::located_error;
  const std::string& key() const { return where(); }
};

struct server_settings {
  std::string listen_host = "127.0.0.1";  // server.listen "host:port" ("[::1]:8080" for IPv6)
  std::uint16_t listen_port = 8080;
  int threads = 1;                        // server.threads: event-loop threads, 1..64
  std::size_t body_limit = 1 << 20;       // server.body_limit: bytes, larger bodies get 413
  std::size_t header_limit = 16 << 10;    // server.header_limit: bytes of request head
  millis header_timeout{10'000};          // server.header_timeout: time to receive a request head
  millis read_timeout{30'000};            // server.read_timeout: time to receive a whole request
  millis idle_timeout{60'000};            // server.idle_timeout: keep-alive idle before close
  std::size_t max_connections_per_client = 0;  // server.max_connections_per_client: per remote address (0 = off)
  std::size_t max_connections = 4096;     // server.max_connections: concurrent connections
  millis shutdown_grace{10'000};          // server.shutdown_grace: in-flight requests get this long on stop
};

struct redis_endpoint {
  std::string host;
  std::uint16_t port = 0;
};

struct redis_settings {
  std::string url = "redis://127.0.0.1:6379/0";  // redis.url (password masked when printed)
  std::string host = "127.0.0.1";                // parsed from url ("" and port 0 with unix_socket)
  std::uint16_t port = 6379;
  std::string unix_socket;                       // redis+unix:///path/redis.sock?db=0
  int db = 0;
  std::string username;                          // ACL user from the url, optional
  std::string password;                          // from the url or redis.password_file (secret)
  std::string password_file;
  std::string key_prefix = "herald";             // redis.key_prefix
  millis connect_timeout{2'000};                 // redis.connect_timeout
  millis command_timeout{2'000};                 // redis.command_timeout
  millis reconnect_min{100};                     // redis.reconnect_min: first backoff step
  millis reconnect_max{5'000};                   // redis.reconnect_max: backoff ceiling
  std::size_t max_pending = 100'000;             // redis.max_pending: queued commands before "busy"
  // Sentinel mode (instead of url): the master of master_name, as the sentinels say.
  std::vector<redis_endpoint> sentinels;         // redis.sentinels: ["host:port", ...]
  std::string master_name;                       // redis.master_name
  std::string sentinel_password;                 // from redis.sentinel_password_file (secret)
  std::string sentinel_password_file;
  // A detected dataset reset keeps /readyz's redis check failing this long
  // (or until `herald redis ack-reset`).
  millis dataset_reset_alert{3'600'000};         // redis.dataset_reset_alert
  // Not configuration: set by `serve` on its main connection, which then
  // checks the dataset epoch on every (re)connect.
  bool check_dataset = false;
};

struct token_credential {
  std::string name;
  std::array<std::uint8_t, 32> sha256{};  // SHA-256 of the token (config holds lowercase hex)
  std::vector<std::string> scopes;
  std::optional<std::int64_t> associate_id;
};

struct auth_settings {
  std::vector<token_credential> tokens;  // auth.tokens plus the entries of auth.tokens_file
  std::string tokens_file;               // auth.tokens_file: YAML list of the same shape, reloaded on SIGHUP
  // auth.application_tokens: SHA-256 (hex in the config) of the SOAP
  // ApplicationToken values accepted (empty: unchecked).
  std::vector<std::array<std::uint8_t, 32>> application_tokens;
};

struct apns_settings {
  std::string team_id;       // 10 characters
  std::string key_id;        // 10 characters
  std::string key_file;      // .p8, must exist, not world-readable (token auth)
  std::string certificate_file;  // PEM or .p12 client certificate (certificate auth), instead of key_file
  std::string certificate_password_file;
  std::string topic;
  std::string environment = "production";  // production | sandbox
  std::string endpoint;      // overrides both environments' host, "https://host:port"
  std::string ca_file;       // extra trust anchor
  int connections = 1;       // pool size per environment, 1..64
  millis connect_timeout{10'000};
  millis response_timeout{30'000};
};

struct fcm_settings {
  std::string service_account_file;  // must exist, not world-readable
  std::string endpoint;              // overrides https://fcm.googleapis.com
  std::string ca_file;
  int connections = 1;
  millis connect_timeout{10'000};
  millis response_timeout{30'000};
};

// WNS (Microsoft devices): OAuth 2.0 client credentials, channel URIs on allowed hosts.
struct wns_settings {
  std::string client_id;           // package SID (classic) or Entra ID application id
  std::string client_secret_file;  // must exist, not world-readable; first line is the secret
  std::string token_endpoint;      // https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token or https://login.live.com/accesstoken.srf
  std::string scope;               // "" = by token_endpoint: notify.windows.com (login.live.com), else https://wns.windows.com/.default
  std::vector<std::string> allowed_hosts;  // channel URI hosts ("*.x" = below x); empty = *.notify.windows.com
  std::string ca_file;
  int connections = 4;             // keep-alive connections per channel host, 1..64
  millis connect_timeout{10'000};
  millis response_timeout{30'000};
};

// Web Push (Herald's `Web` platform): VAPID key, subscription endpoints on allowed hosts.
struct webpush_settings {
  std::string vapid_private_key_file;  // PEM EC P-256 (herald webpush keygen), not world-readable
  std::string subject;                 // mailto:... or https://... contact sent in the VAPID JWT
  std::vector<std::string> allowed_hosts;  // empty = the browsers' push services
  std::string ca_file;
  std::chrono::seconds ttl{86'400};    // TTL header: how long the push service keeps an undelivered message
  std::string urgency = "high";        // very-low | low | normal | high
  int connections = 2;                 // keep-alive connections per push-service origin, 1..64
  millis connect_timeout{10'000};
  millis response_timeout{30'000};
};

struct app_settings {
  std::string id;  // the applicationId (key under apps:)
  std::optional<apns_settings> apns;
  std::optional<fcm_settings> fcm;
  std::optional<wns_settings> wns;
  std::optional<webpush_settings> webpush;
};

struct broker_settings {
  millis interval{30'000};           // broker.interval: safety sweep
  millis max_lateness{15 * 60'000};  // broker.max_lateness
  millis takeover_after{30'000};     // broker.takeover_after: a claimed alarm idle this long belongs to a dead daemon
  std::int64_t max_deliveries = 10;  // broker.max_deliveries: a work entry whose processing failed this often is dead-lettered
};

struct providers_settings {
  int threads = 1;  // providers.threads: threads of the APNs/FCM connections, 1..16 (1: on the broker's strand)
};

struct trace_settings {
  std::int64_t max_events = 50;         // trace.max_events: events kept per device and per alarm/message
  millis max_age{7 * 24 * 3'600'000LL};  // trace.max_age: a history expires this long after its newest event
};

struct log_settings {
  std::string level = "info";  // log.level: emerg..debug
  std::string format = "text";  // log.format: text (key=value) | json (one object per line)
};

struct locale_settings {
  std::string default_language = "en";  // locales.default_language
  std::string directory;                // locales.directory: catalogs; "" (default): the built-in ones
};

struct timezone_settings {
  std::string default_zone = "Europe/Oslo";  // timezones.default (IANA)
  std::string table_file;                    // timezones.table_file; "" (default): the built-in table
};

struct config {
  std::string source_path;  // the file it was loaded from ("" for strings)
  server_settings server;
  redis_settings redis;
  auth_settings auth;
  std::vector<app_settings> apps;  // in file order; the first is the default for Pocket calls
  broker_settings broker;
  providers_settings providers;
  trace_settings trace;
  log_settings log;
  locale_settings locales;
  timezone_settings timezones;
};

// Loads and validates; throws config_error naming the key and the problem
// (unknown keys, bad durations/addresses/URLs, missing or world-readable
// secret files, ...). Relative paths resolve against the file's directory.
config load_config_file(const std::string& path);
config load_config_string(const std::string& yaml, const std::string& base_dir = ".");

// The effective configuration as YAML with every secret masked.
std::string describe_effective(const config& cfg);

// "30s", "15m", "1h", "250ms", "2d"; throws std::invalid_argument.
millis parse_duration(const std::string& text);

}  // namespace herald
