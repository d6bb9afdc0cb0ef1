#pragma once
// OAuth access tokens of the FCM and WNS adapters: one refresh at a time
// per adapter however many sends need a token (the first caller runs the
// exchange, the others wait for it and share its failure, then read the
// cache again on success), and the exchange itself. Strand-confined like
// the adapter that owns it.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "providers/detail/common.hpp"
#include "providers/fcm_protocol.hpp"
#include "providers/http_types.hpp"
#include "providers/provider.hpp"

namespace herald::detail {

class single_flight_refresh {
 public:
  explicit single_flight_refresh(boost::asio::any_io_executor ex) : done_(ex) {}

  struct outcome {
    bool ran = false;                        // this caller ran the exchange (and it stored the token on success)
    std::optional<delivery_result> failure;  // the exchange's failure (this caller's or the one it waited for)
  };

  // `exchange()`: awaitable<std::variant<std::string, delivery_result>>.
  template <typename Exchange>
  boost::asio::awaitable<outcome> run(Exchange exchange) {
    if (running_) {
      const auto generation = generation_;
      co_await done_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
      if (generation_ != generation && failure_) co_return outcome{false, failure_};
      co_return outcome{};
    }
    running_ = true;
    done_.expires_at(boost::asio::steady_timer::time_point::max());
    auto result = co_await exchange();
    running_ = false;
    ++generation_;
    done_.cancel();
    if (auto* failure = std::get_if<delivery_result>(&result)) failure_ = *failure;
    else failure_.reset();
    co_return outcome{true, failure_};
  }

 private:
  bool running_ = false;
  std::uint64_t generation_ = 0;
  std::optional<delivery_result> failure_;
  boost::asio::steady_timer done_;  // waiters of the running exchange wait here
};

// POSTs `form` to the token endpoint `path` through `pool` (a request that
// got no answer is sent again, up to options.max_resends), parses the
// answer with `parse` and stores the token in `cache`. Returns the token, or
// the delivery_result every waiting send gets. `cache` is an
// access_token_cache or anything with its store() and token(). Log events are named after
// `provider`: <provider>_token_failed, _token_rejected, _token_refreshed.
template <typename Pool, typename Cache, typename Parse>
boost::asio::awaitable<std::variant<std::string, delivery_result>> exchange_oauth_token(
    Pool& pool, std::string path, std::string form, std::chrono::milliseconds timeout, const provider_options& options,
    std::string_view app, std::string_view provider, Cache& cache, Parse parse) {
  http_request request;
  request.method = "POST";
  request.path = std::move(path);
  request.headers.push_back({"content-type", "application/x-www-form-urlencoded", false});
  request.headers.push_back({"accept", "application/json", false});
  request.body = std::move(form);
  options.metrics->on_token_refresh(app, provider);
  const std::string event(provider);
  for (int attempt = 0;; ++attempt) {
    auto answer = co_await pool.async_request(request, timeout);
    if (!answer) {
      auto e = static_cast<provider_error>(answer.error().value());
      if (resendable(e) && attempt < options.max_resends) continue;
      auto r = transport_failure(e, options.retry_backoff.delay(0, options.random));
      r.reason = "TokenExchange" + r.reason;
      if (options.log) options.log->warning(event + "_token_failed").kv("app", app).kv("error", answer.error().message());
      co_return r;
    }
    auto token = parse(answer->status, answer->body);
    if (!token) {
      if (options.log)
        options.log->err(event + "_token_rejected").kv("app", app).kv("status", answer->status).kv("body", answer->body.substr(0, 200));
      co_return token_exchange_failure(answer->status, options.retry_backoff.delay(0, options.random));
    }
    cache.store(std::move(token->token), now_unix_s(), token->expires_in_s);
    if (options.log) options.log->info(event + "_token_refreshed").kv("app", app).kv("expires_in", token->expires_in_s);
    co_return cache.token();
  }
}

}  // namespace herald::detail
