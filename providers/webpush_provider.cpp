// The Web Push adapter (Herald's Web platform): payload encrypted per
// message, one VAPID JWT per push-service origin (cached), one pool per
// origin speaking HTTP/2 or HTTP/1.1 keep-alive as the push service's ALPN
// decides, classification per docs/PROVIDERS.md.
// Lives on one executor.
#include <boost/asio/ssl/context.hpp>

#include <map>

#include "providers/detail/common.hpp"
#include "providers/detail/tls_context.hpp"
#include "providers/detail/origin_pool.hpp"
#include "providers/jwt.hpp"
#include "providers/webpush_protocol.hpp"
#include "runtime/log.hpp"

namespace herald {

namespace {

namespace asio = boost::asio;

class webpush_provider final : public push_provider {
 public:
  webpush_provider(asio::any_io_executor ex, std::string app_id, const webpush_settings& settings,
                   provider_options options)
      : ex_(ex), app_id_(std::move(app_id)), settings_(settings), options_(std::move(options)) {
    if (!options_.random) options_.random = make_random_source();
    if (!options_.metrics) options_.metrics = std::make_shared<provider_metrics_listener>();
    request_settings_.allowed_hosts =
        settings_.allowed_hosts.empty() ? default_webpush_allowed_hosts() : settings_.allowed_hosts;
    request_settings_.ttl_s = settings_.ttl.count();
    request_settings_.urgency = settings_.urgency;
    init();
  }

  ~webpush_provider() override { shutdown(); }

  asio::awaitable<delivery_result> async_send(const device_info& device, const notification& n) override {
    return detail::send_reported(ex_, options_, "webpush_result", app_id_, "webpush", device.device_identifier,
                                 [this, &device, &n] { return send_attempts(device, n); });
  }

  provider_state state() const override { return state_; }

  void shutdown() override {
    for (auto& [key, pool] : pools_) pool->shutdown();
  }

 private:
  void init() {
    auto key = signing_key::from_pem_file(settings_.vapid_private_key_file, signing_key::algorithm::es256);
    if (!key) return fail("vapid_private_key_file " + settings_.vapid_private_key_file + ": " + key.error().message());
    key_.emplace(std::move(*key));
    public_point_ = key_->ec_public_point();
    if (public_point_.size() != 65) return fail("vapid_private_key_file: not an EC P-256 key");
    std::string error;
    tls_ = detail::make_tls_context({settings_.ca_file, {}, {}}, error);
    if (!tls_) return fail(error);
    state_.ready = true;
  }

  void fail(std::string error) {
    state_.ready = false;
    state_.error = std::move(error);
    if (options_.log) options_.log->err("webpush_config").kv("app", app_id_).kv("error", state_.error);
  }

  detail::origin_pool& pool_for(const std::string& origin, const https_url& url) {
    auto it = pools_.find(origin);
    if (it != pools_.end()) return *it->second;
    https_url target = url;
    target.path = "/";
    auto hooks = detail::metrics_hooks(options_.metrics, app_id_, "webpush");
    auto pool = std::make_unique<detail::origin_pool>(
        ex_, target, tls_, detail::make_origin_pool_options(settings_.connections, settings_.connect_timeout, options_),
        std::move(hooks), options_.random, options_.log);
    return *pools_.emplace(origin, std::move(pool)).first->second;
  }

  // The Authorization value for `origin`, signed when due (never per request).
  std::string vapid_for(const std::string& origin) {
    auto now = detail::now_unix_s();
    auto cached = vapid_.find(origin, now);
    if (!cached.empty()) return cached;
    const std::int64_t exp = now + vapid_token_cache::lifetime_s;
    auto jwt = make_vapid_jwt(*key_, origin, exp, settings_.subject);
    if (!jwt) return {};
    auto value = vapid_authorization(*jwt, public_point_);
    vapid_.store(origin, value, exp);
    options_.metrics->on_token_refresh(app_id_, "webpush");
    return value;
  }


  asio::awaitable<delivery_result> send_attempts(const device_info& device, const notification& n) {
    if (!state_.ready) co_return detail::config_failure(state_.error);
    auto prepared = prepare_webpush_request(device, n, request_settings_, detail::now_unix_s());
    if (auto* local = std::get_if<delivery_result>(&prepared)) co_return *local;
    auto& ready = std::get<webpush_prepared>(prepared);
    auto authorization = vapid_for(ready.origin);
    if (authorization.empty()) co_return detail::config_failure("SigningFailed");
    set_vapid_authorization(ready.request, authorization);
    auto& pool = pool_for(ready.origin, ready.url);
    int resends = 0;
    for (;;) {
      options_.metrics->on_sent(app_id_, "webpush");
      auto answer = co_await pool.async_request(ready.request, settings_.response_timeout);
      if (!answer) {
        auto e = static_cast<provider_error>(answer.error().value());
        if (detail::resendable(e) && resends < options_.max_resends) {
          ++resends;
          continue;
        }
        co_return detail::transport_failure(e, options_.retry_backoff.delay(n.attempt, options_.random));
      }
      auto c = classify_webpush_response(*answer, n.attempt, options_.retry_backoff,
                                          options_.random ? options_.random() : 0.5, detail::now_unix_s());
      if (c.retire_connection) pool.retire(*answer);
      co_return c.result;
    }
  }

  asio::any_io_executor ex_;
  std::string app_id_;
  webpush_settings settings_;
  provider_options options_;
  provider_state state_;
  webpush_request_settings request_settings_;
  std::optional<signing_key> key_;
  std::string public_point_;
  std::shared_ptr<asio::ssl::context> tls_;
  vapid_token_cache vapid_;
  std::map<std::string, std::unique_ptr<detail::origin_pool>> pools_;  // by origin
};

}  // namespace

std::unique_ptr<push_provider> make_webpush_provider(asio::any_io_executor ex, std::string app_id,
                                                     const webpush_settings& settings, provider_options options) {
  return std::make_unique<webpush_provider>(ex, std::move(app_id), settings, std::move(options));
}

}  // namespace herald
