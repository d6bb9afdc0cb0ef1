#pragma once
// Internal helpers shared by the adapters.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "providers/detail/h2_pool.hpp"
#include "providers/detail/origin_pool.hpp"
#include "providers/errors.hpp"
#include "providers/provider.hpp"
#include "runtime/log.hpp"

namespace herald::detail {

inline std::int64_t now_unix_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// True for transport failures after which the same request may be sent
// again at once: it never left Herald, or the connection/stream died before
// an answer (then it goes out with the same apns-id).
inline bool resendable(provider_error e) {
  return e == provider_error::not_sent || e == provider_error::connect_failed ||
         e == provider_error::connection_lost || e == provider_error::stream_reset;
}

// The result for a transport failure that is not resent (any more).
inline delivery_result transport_failure(provider_error e, std::chrono::milliseconds delay) {
  delivery_result r;
  r.kind = delivery_result::outcome::retry_after;
  r.retry_delay = delay;
  switch (e) {
    case provider_error::connect_failed: r.reason = "ConnectFailed"; break;
    case provider_error::connection_lost: r.reason = "ConnectionLost"; break;
    case provider_error::stream_reset: r.reason = "StreamReset"; break;
    case provider_error::response_timeout: r.reason = "Timeout"; break;
    case provider_error::queue_full: r.reason = "QueueFull"; break;
    case provider_error::response_too_large: r.reason = "ResponseTooLarge"; break;
    case provider_error::shut_down: r.reason = "Shutdown"; break;
    default: r.reason = "NotSent"; break;
  }
  return r;
}

inline delivery_result config_failure(std::string reason) {
  delivery_result r;
  r.kind = delivery_result::outcome::config_error;
  r.reason = std::move(reason);
  return r;
}

// An OAuth token endpoint answered `status` without a token: busy (5xx,
// 429) means try again after `retry_delay`; anything else is a problem of
// the configured credentials.
inline delivery_result token_exchange_failure(int status, std::chrono::milliseconds retry_delay) {
  delivery_result r;
  if (status >= 500 || status == 429) {
    r.kind = delivery_result::outcome::retry_after;
    r.reason = "TokenExchangeUnavailable";
    r.retry_delay = retry_delay;
  } else {
    r = config_failure("TokenExchangeRejected");
  }
  r.http_status = status;
  return r;
}

// After one send (all its attempts): the response metrics, and unless it
// was delivered one log line `event` naming the device by `device_label`
// (shortened).
inline void report_result(const provider_options& options, std::string_view event, std::string_view app, std::string_view provider,
                          std::string_view device_label, const delivery_result& result,
                          std::chrono::steady_clock::time_point started) {
  options.metrics->on_result(app, provider, result, std::chrono::steady_clock::now() - started);
  if (!options.log || result.kind == delivery_result::outcome::delivered) return;
  options.log->info(event)
      .kv("app", app)
      .kv("provider", provider)
      .kv("device", shorten_token(device_label))
      .kv("outcome", to_string(result.kind))
      .kv("reason", result.reason)
      .kv("status", result.http_status);
}

// Pool settings of one adapter: its own pool size and connect timeout, the
// per-connection bounds and reconnect backoff from `options`.
inline h2_pool_options make_pool_options(int connections, std::chrono::milliseconds connect_timeout,
                                         const provider_options& options) {
  h2_pool_options po;
  po.connections = std::max(1, connections);
  po.connection.connect_timeout = connect_timeout;
  po.connection.idle_ping_after = options.idle_ping_after;
  po.connection.ping_timeout = options.ping_timeout;
  po.connection.queue_limit = options.queue_limit;
  po.connection.max_response_body = options.max_response_body;
  po.reconnect_backoff = options.reconnect_backoff;
  return po;
}

// Settings of an origin_pool (WNS, Web Push): `connections` per origin for
// either version, bounds and backoff from `options`.
inline origin_pool_options make_origin_pool_options(int connections, std::chrono::milliseconds connect_timeout,
                                                    const provider_options& options) {
  origin_pool_options po;
  po.http11.connections = std::max(1, connections);
  po.http11.connect_timeout = connect_timeout;
  po.http11.queue_limit = options.queue_limit;
  po.http11.max_response_body = options.max_response_body;
  po.h2 = make_pool_options(connections, connect_timeout, options);
  return po;
}

// Hooks reporting a pool's connections and streams to `metrics` under
// (app, provider).
inline h2_hooks metrics_hooks(std::shared_ptr<provider_metrics_listener> metrics, std::string app,
                              std::string provider) {
  return h2_hooks{[metrics, app, provider] { metrics->on_connection_opened(app, provider); },
                  [metrics, app, provider] { metrics->on_connection_closed(app, provider); },
                  [metrics, app, provider](int d) { metrics->on_streams_changed(app, provider, d); }};
}

// Runs `make()` (returning awaitable<T>) on `target`, hopping there from the
// caller's executor when they differ. The caller stays suspended, so
// references captured by `make` remain valid.
template <typename T, typename Make>
boost::asio::awaitable<T> run_on(boost::asio::any_io_executor target, Make make) {
  auto current = co_await boost::asio::this_coro::executor;
  if (current == target) co_return co_await make();
  co_return co_await boost::asio::co_spawn(target, make(), boost::asio::use_awaitable);
}

// Every attempt of one send (`attempts()`, returning awaitable<delivery_result>)
// on the adapter's executor `target`, then report_result with the time it
// took there. The caller's strings stay alive while it waits.
template <typename Attempts>
boost::asio::awaitable<delivery_result> timed_attempts(const provider_options* options, std::string_view event,
                                                       std::string_view app, std::string_view provider,
                                                       std::string_view device_label, Attempts attempts) {
  const auto started = std::chrono::steady_clock::now();
  delivery_result result = co_await attempts();
  report_result(*options, event, app, provider, device_label, result, started);
  co_return result;
}
template <typename Attempts>
boost::asio::awaitable<delivery_result> send_reported(boost::asio::any_io_executor target, const provider_options& options,
                                                      std::string_view event, std::string_view app,
                                                      std::string_view provider, std::string_view device_label,
                                                      Attempts attempts) {
  return run_on<delivery_result>(
      target, [&options, event, app, provider, device_label, attempts = std::move(attempts)]() mutable {
        return timed_attempts(&options, event, app, provider, device_label, std::move(attempts));
      });
}

// One send of an adapter whose requests carry an OAuth access token (FCM,
// WNS): `*request` authorized by `authorize` with a token from `get_token()`
// (awaitable<variant<std::string, delivery_result>>), sent through `*pool`;
// resent at once after transport failures that allow it (at most
// max_resends), and once with a new token when `classify(answer, refreshed)`
// asks for it (the rejected token is dropped from `*tokens`, logged as
// `rejected_event`).
struct token_send {
  std::string_view app;
  std::string_view provider;
  std::string_view rejected_event;
  std::chrono::milliseconds timeout;
  int attempt = 0;
  void (*authorize)(http_request&, std::string_view) = nullptr;
};
template <typename Pool, typename Tokens, typename GetToken, typename Classify>
boost::asio::awaitable<delivery_result> send_with_token(Pool* pool, http_request* request, Tokens* tokens,
                                                        GetToken get_token, Classify classify, token_send how,
                                                        const provider_options* options) {
  bool refreshed = false;
  int resends = 0;
  for (;;) {
    auto token = co_await get_token();
    if (auto* failure = std::get_if<delivery_result>(&token)) co_return *failure;
    const std::string used = std::get<std::string>(token);
    how.authorize(*request, used);
    options->metrics->on_sent(how.app, how.provider);
    auto answer = co_await pool->async_request(*request, how.timeout);
    if (!answer) {
      auto e = static_cast<provider_error>(answer.error().value());
      if (resendable(e) && resends < options->max_resends) {
        ++resends;
        continue;
      }
      co_return transport_failure(e, options->retry_backoff.delay(how.attempt, options->random));
    }
    auto c = classify(*answer, refreshed);
    if (c.next == next_step::refresh_token_resend) {
      refreshed = true;
      tokens->invalidate(used);
      if (options->log) options->log->notice(how.rejected_event).kv("app", how.app);
      continue;
    }
    co_return c.result;
  }
}

}  // namespace herald::detail
