// The WNS adapter (Microsoft devices): OAuth 2.0 client-credentials token
// (cached, single-flight refresh, once more on 401), one pool per channel
// host speaking HTTP/2 or HTTP/1.1 keep-alive as the host's ALPN decides (the
// token endpoint: HTTP/1.1), classification per docs/PROVIDERS.md. Lives on
// one executor.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <map>

#include "config/secret_file.hpp"
#include "providers/detail/common.hpp"
#include "providers/detail/tls_context.hpp"
#include "providers/detail/single_flight.hpp"
#include "providers/detail/h1_pool.hpp"
#include "providers/detail/origin_pool.hpp"
#include "providers/wns_protocol.hpp"
#include "runtime/log.hpp"

namespace herald {

namespace {

namespace asio = boost::asio;

class wns_provider final : public push_provider {
 public:
  wns_provider(asio::any_io_executor ex, std::string app_id, const wns_settings& settings, provider_options options)
      : ex_(ex), app_id_(std::move(app_id)), settings_(settings), options_(std::move(options)), refresh_(ex) {
    if (!options_.random) options_.random = make_random_source();
    if (!options_.metrics) options_.metrics = std::make_shared<provider_metrics_listener>();
    if (settings_.allowed_hosts.empty()) settings_.allowed_hosts = default_wns_allowed_hosts();
    init();
  }

  ~wns_provider() override { shutdown(); }

  asio::awaitable<delivery_result> async_send(const device_info& device, const notification& n) override {
    return detail::send_reported(ex_, options_, "wns_result", app_id_, "wns", device.device_identifier,
                                 [this, &device, &n] { return send_attempts(device, n); });
  }

  provider_state state() const override { return state_; }

  void shutdown() override {
    for (auto& [key, pool] : pools_) pool->shutdown();
    if (token_pool_) token_pool_->shutdown();
  }

 private:
  void init() {
    try {
      secret_ = cfg::read_secret_file(settings_.client_secret_file, "client_secret_file");
    } catch (const config_error& e) {
      return fail(e.what());
    }
    auto token_url = parse_https_url(settings_.token_endpoint);
    if (!token_url) return fail("token_endpoint: not https://host[:port]/path: " + settings_.token_endpoint);
    token_path_ = token_url->path;
    scope_ = wns_scope_for(settings_.token_endpoint, settings_.scope);
    std::string error;
    tls_ = detail::make_tls_context({settings_.ca_file, {}, {}}, error);
    if (!tls_) return fail(error);
    detail::h1_pool_options po = pool_options();
    po.connections = 1;
    token_pool_ = std::make_unique<detail::h1_pool>(ex_, *token_url, tls_, po, detail::h2_hooks{}, options_.log);
    state_.ready = true;
  }

  detail::h1_pool_options pool_options() const {
    detail::h1_pool_options po;
    po.connections = settings_.connections;
    po.connect_timeout = settings_.connect_timeout;
    po.queue_limit = options_.queue_limit;
    po.max_response_body = options_.max_response_body;
    return po;
  }

  void fail(std::string error) {
    state_.ready = false;
    state_.error = std::move(error);
    if (options_.log) options_.log->err("wns_config").kv("app", app_id_).kv("error", state_.error);
  }

  detail::origin_pool& pool_for(const https_url& url) {
    std::string key = url.authority();
    auto it = pools_.find(key);
    if (it != pools_.end()) return *it->second;
    https_url origin = url;
    origin.path = "/";
    auto hooks = detail::metrics_hooks(options_.metrics, app_id_, "wns");
    auto pool = std::make_unique<detail::origin_pool>(
        ex_, origin, tls_, detail::make_origin_pool_options(settings_.connections, settings_.connect_timeout, options_),
        std::move(hooks), options_.random, options_.log);
    return *pools_.emplace(key, std::move(pool)).first->second;
  }

  // The cached access token; one exchange at a time however many sends need it.
  asio::awaitable<std::variant<std::string, delivery_result>> access_token() {
    for (;;) {
      if (!tokens_.needs_refresh(detail::now_unix_s())) co_return tokens_.token();
      auto refreshed = co_await refresh_.run([this] { return exchange(); });
      if (refreshed.failure) co_return *refreshed.failure;
      if (refreshed.ran) co_return tokens_.token();
      // Another send's exchange ended: look at the cache again.
    }
  }

  asio::awaitable<std::variant<std::string, delivery_result>> exchange() {
    // Named first: GCC 12 mishandles a temporary passed by value to a coroutine inside co_await.
    std::string path = token_path_;
    std::string form = wns_token_request_body(settings_.client_id, secret_, scope_);
    co_return co_await detail::exchange_oauth_token(*token_pool_, std::move(path), std::move(form), settings_.response_timeout, options_,
                                                    app_id_, "wns", tokens_, parse_wns_token_response);
  }

  asio::awaitable<delivery_result> send_attempts(const device_info& device, const notification& n) {
    if (!state_.ready) co_return detail::config_failure(state_.error);
    auto prepared = prepare_wns_request(device, n, settings_.allowed_hosts, detail::now_unix_s());
    if (auto* local = std::get_if<delivery_result>(&prepared)) co_return *local;
    auto& ready = std::get<wns_prepared>(prepared);
    auto& pool = pool_for(ready.url);
    auto get_token = [this] { return access_token(); };
    // Also logs what WNS said and retires a connection it asks to leave.
    auto classify = [this, &n, &pool](const http_response& answer, bool refreshed) {
      if (options_.log) {
        auto summary = wns_status_summary(answer);
        if (!summary.empty())
          options_.log->debug("wns_status").kv("app", app_id_).kv("status", answer.status).kv("wns", summary);
      }
      auto c = classify_wns_response(answer, n.attempt, options_.retry_backoff,
                                     options_.random ? options_.random() : 0.5, detail::now_unix_s(), refreshed);
      if (c.retire_connection) pool.retire(answer);
      return c;
    };
    detail::token_send how{app_id_, "wns", "wns_unauthorized", settings_.response_timeout, n.attempt,
                           &set_wns_authorization};
    co_return co_await detail::send_with_token(&pool, &ready.request, &tokens_, get_token, classify, how, &options_);
  }

  asio::any_io_executor ex_;
  std::string app_id_;
  wns_settings settings_;
  provider_options options_;
  provider_state state_;
  std::string secret_;
  std::string scope_;
  std::string token_path_;
  std::shared_ptr<asio::ssl::context> tls_;
  access_token_cache tokens_;
  detail::single_flight_refresh refresh_;
  std::unique_ptr<detail::h1_pool> token_pool_;
  std::map<std::string, std::unique_ptr<detail::origin_pool>> pools_;  // by channel host[:port]
};

}  // namespace

std::unique_ptr<push_provider> make_wns_provider(asio::any_io_executor ex, std::string app_id,
                                                 const wns_settings& settings, provider_options options) {
  return std::make_unique<wns_provider>(ex, std::move(app_id), settings, std::move(options));
}

}  // namespace herald
