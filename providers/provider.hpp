#pragma once
// Herald's push providers: one narrow interface (push_provider::async_send)
// behind which each adapter (APNs, FCM) keeps its own credentials, token
// caching, HTTP/2 connection pool, retries and response classification.
// Every call ends with exactly one classified delivery_result; transport
// failures never escape as exceptions.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "model/device.hpp"
#include "runtime/backoff.hpp"

namespace herald {

class logger;
class metrics_registry;

// What to show, provider independent (docs/API.md, Appointments and alarms).
struct notification {
  std::string title;
  std::string body;
  std::vector<std::pair<std::string, std::string>> data;  // APNs: top-level string members; FCM: `data`
  std::string collapse_id;                                 // apns-collapse-id (<= 64 bytes) / android collapse_key
  std::string push_type = "alert";                         // apns-push-type
  int priority = 10;                                       // 10 immediate, 5, 1 (background forces 5)
  std::int64_t expiration = 0;                             // UNIX seconds; 0 = deliver once or drop
  // Stable id per (message, device): the apns-id is derived from it, so a
  // resend of the same delivery carries the same apns-id. Empty: random.
  std::string delivery_id;
  // A JSON object whose members are added to the payload's top level, e.g.
  // {"herald":{"appointment_id":"42","event":"AppointmentAlarm"}}. FCM gets
  // them as string `data` entries (non-strings serialized as JSON).
  std::string custom_json;
  // How many times the caller already got retry_after for this delivery;
  // drives the exponential backoff of the next retry_delay.
  int attempt = 0;
};

struct delivery_result {
  enum class outcome {
    delivered,     // accepted by the provider
    device_gone,   // stop using this token (APNs 410/BadDeviceToken, FCM UNREGISTERED...)
    retry_after,   // temporary: retry after retry_delay (same delivery_id)
    rejected,      // permanent for this notification (bad payload, too large, ...)
    config_error,  // credentials/topic/project problem: alert the operator
    no_provider,   // no adapter configured for this platform/app
  };
  outcome kind = outcome::rejected;
  std::string reason;                         // provider reason ("Unregistered", "UNAVAILABLE", ...)
  std::chrono::milliseconds retry_delay{0};   // for retry_after
  std::optional<std::int64_t> gone_timestamp_ms;  // APNs 410 timestamp: token invalid since
  int http_status = 0;                        // 0 when nothing was answered
  std::string provider_id;                    // apns-id or FCM message name
};

std::string_view to_string(delivery_result::outcome kind);

// Whether a provider is usable, for /readyz.
struct provider_state {
  bool ready = false;
  std::string error;  // why not ready ("key_file: cannot read ...")
};

// Metrics hooks (Pushy's ApnsClientMetricsListener). Called on the
// provider's executor; the default does nothing. `provider` is
// "apns", "apns_sandbox", "fcm", "wns" or "webpush"; `app` the applicationId.
class provider_metrics_listener {
 public:
  virtual ~provider_metrics_listener() = default;
  virtual void on_sent(std::string_view /*app*/, std::string_view /*provider*/) {}
  virtual void on_result(std::string_view /*app*/, std::string_view /*provider*/, const delivery_result& /*result*/,
                         std::chrono::nanoseconds /*latency*/) {}
  virtual void on_connection_opened(std::string_view /*app*/, std::string_view /*provider*/) {}
  virtual void on_connection_closed(std::string_view /*app*/, std::string_view /*provider*/) {}
  virtual void on_streams_changed(std::string_view /*app*/, std::string_view /*provider*/, int /*delta*/) {}
  virtual void on_token_refresh(std::string_view /*app*/, std::string_view /*provider*/) {}
};

// The listener writing herald_push_* metrics into `registry`:
// herald_push_sent_total, herald_push_delivered_total,
// herald_push_failed_total{reason}, herald_push_response_seconds,
// herald_push_open_connections, herald_push_inflight_streams,
// herald_push_token_refreshes_total; all labelled {app, provider}. The
// instruments of `app_ids` (every provider of each) are created here, once:
// events then touch them without a lock.
std::shared_ptr<provider_metrics_listener> make_metrics_listener(metrics_registry& registry,
                                                                 const std::vector<std::string>& app_ids = {});

// Tunables shared by the adapters; defaults suit production.
struct provider_options {
  std::size_t queue_limit = 10'000;              // per connection: requests waiting for a stream slot
  std::size_t max_response_body = 64 << 10;      // bytes; larger answers reset the stream
  std::chrono::milliseconds idle_ping_after{300'000};  // PING after this much silence
  std::chrono::milliseconds ping_timeout{20'000};      // no PING ack in time: connection is dead
  int max_resends = 3;  // transparent resends (connection died, refused stream, GOAWAY) per notification
  backoff_policy retry_backoff{std::chrono::milliseconds(1'000), std::chrono::milliseconds(300'000)};
  backoff_policy reconnect_backoff{std::chrono::milliseconds(200), std::chrono::milliseconds(30'000)};
  random_source random;      // empty: a per-provider PRNG
  std::string fcm_access_token;  // benchmarks/tests: use this token instead of the OAuth2 exchange
  logger* log = nullptr;     // null: no logging
  std::shared_ptr<provider_metrics_listener> metrics;  // null: no-op
  // providers.threads. With `shard_executors` set (the router sets them when
  // threads > 1: one per provider thread, each an io_context run by that one
  // thread, so each is a strand), an APNs or FCM adapter splits its
  // connections into min(connections, threads) shards, each a whole adapter
  // on its own thread: every connection is still touched by one thread only.
  // The shards share one provider token (APNs) / access token (FCM), minted
  // once. Without shard_executors the adapter lives on the executor it is given.
  int threads = 1;
  std::vector<boost::asio::any_io_executor> shard_executors;
};

// One adapter. Lives on one executor (or, sharded, on several strands);
// async_send may be awaited from any coroutine (it hops to the provider's
// executor when needed and the result comes back on the caller's). state()
// may be called from any thread. Destroy it on that executor's thread or
// after its io_context stopped running.
class push_provider {
 public:
  virtual ~push_provider() = default;
  virtual boost::asio::awaitable<delivery_result> async_send(const device_info& device, const notification& n) = 0;
  virtual provider_state state() const = 0;
  // Closes the connections; pending sends end with retry_after "Shutdown".
  virtual void shutdown() = 0;
};

enum class apns_environment { production, sandbox };

// APNs (token auth with the .p8 key, or certificate auth). Never throws:
// a credential problem shows in state() and every send returns config_error.
std::unique_ptr<push_provider> make_apns_provider(boost::asio::any_io_executor ex, std::string app_id,
                                                  const apns_settings& settings, apns_environment env,
                                                  provider_options options = {});
// FCM HTTP v1 with a service-account file. Never throws (see above).
std::unique_ptr<push_provider> make_fcm_provider(boost::asio::any_io_executor ex, std::string app_id,
                                                 const fcm_settings& settings, provider_options options = {});

// WNS (Microsoft devices) with OAuth client credentials. Never throws (see above).
std::unique_ptr<push_provider> make_wns_provider(boost::asio::any_io_executor ex, std::string app_id,
                                                 const wns_settings& settings, provider_options options = {});
// Web Push (Web devices) with a VAPID key. Never throws (see above).
std::unique_ptr<push_provider> make_webpush_provider(boost::asio::any_io_executor ex, std::string app_id,
                                                     const webpush_settings& settings, provider_options options = {});

// Which adapter a NotificationPlatform goes to: Apple/AppleAdHoc APNs
// production, AppleDeveloper APNs sandbox, Google* FCM, Microsoft WNS, Web
// (Herald's extension) Web Push. With apns environment "sandbox" every Apple
// device goes to the sandbox.
enum class provider_route { apns_production, apns_sandbox, fcm, wns, webpush, none };
provider_route route_for(notification_platform platform, std::string_view apns_environment = "production");

// All configured apps' providers, routed by app id and device platform.
// With options.threads > 1 the router owns that many threads, each running
// an io_context of its own (APNs and FCM run there, sharded; WNS and Web Push
// stay on `ex`); shutdown() closes every shard and the destructor joins the
// threads before the adapters and the io_contexts go. Call shutdown() and the
// destructor from outside those threads.
class provider_router {
 public:
  provider_router(boost::asio::any_io_executor ex, const std::vector<app_settings>& apps, provider_options options = {});
  ~provider_router();
  provider_router(const provider_router&) = delete;
  provider_router& operator=(const provider_router&) = delete;

  // app_id empty: the first configured app. Unknown app or platform without
  // an adapter: outcome::no_provider.
  boost::asio::awaitable<delivery_result> async_send(std::string_view app_id, const device_info& device,
                                                     const notification& n);
  // The adapter for (app, platform), or null.
  push_provider* find(std::string_view app_id, notification_platform platform);
  // Whether `app_id` is a configured app (apps.<id>).
  bool has_app(std::string_view app_id) const;
  // Per configured provider: "pocket/apns", "pocket/fcm", "pocket/wns",
  // "pocket/webpush" -> state (for /readyz).
  std::vector<std::pair<std::string, provider_state>> states() const;
  void shutdown();

 private:
  struct app_entry;
  class thread_pool;
  std::unique_ptr<thread_pool> threads_;  // before apps_: outlives the adapters running on it
  std::vector<std::unique_ptr<app_entry>> apps_;
};

// Checks a device's PNSHandle before it is stored: a Web device's handle
// must be a subscription JSON whose endpoint is https on an allowed host
// (the webpush.allowed_hosts of the device's app, else the defaults); a
// Microsoft device's channel URI is checked against wns.allowed_hosts when
// its app configures wns. Returns "" when acceptable, else a message naming
// the field ("DeviceInfo.PNSHandle endpoint: ...").
std::string check_pns_handle(const device_info& device, const std::vector<app_settings>& apps);

}  // namespace herald
