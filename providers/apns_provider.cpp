// The APNs adapter: token (ES256 JWT) or certificate auth, one pool of
// HTTP/2 connections per (credential, environment), classification per
// docs/PROVIDERS.md. Lives on one executor; with providers.threads > 1 it is
// split into shards on the providers' threads (detail/shards.hpp)
// that share one provider token.
#include <boost/asio/ssl/context.hpp>

#include <fstream>
#include <mutex>
#include <sstream>

#include "config/secret_file.hpp"
#include "providers/apns_protocol.hpp"
#include "providers/detail/common.hpp"
#include "providers/detail/h2_pool.hpp"
#include "providers/detail/shards.hpp"
#include "providers/detail/tls_context.hpp"
#include "providers/jwt.hpp"
#include "runtime/log.hpp"

namespace herald {

namespace {

// The provider token of one (key, environment): shared by the shards of an
// adapter, which may run on different threads, so it is signed once and
// replaced at most once however many shards see it expire.
struct apns_token_share {
  std::mutex mutex;
  apns_token_cache cache;  // guarded by mutex
};

class apns_provider final : public push_provider {
 public:
  apns_provider(boost::asio::any_io_executor ex, std::string app_id, const apns_settings& settings,
                apns_environment env, provider_options options, std::shared_ptr<apns_token_share> tokens)
      : ex_(ex),
        app_id_(std::move(app_id)),
        name_(env == apns_environment::production ? "apns" : "apns_sandbox"),
        settings_(settings),
        options_(std::move(options)),
        tokens_(std::move(tokens)) {
    if (!options_.random) options_.random = make_random_source();
    if (!options_.metrics) options_.metrics = std::make_shared<provider_metrics_listener>();
    init(env);
  }

  ~apns_provider() override { shutdown(); }

  boost::asio::awaitable<delivery_result> async_send(const device_info& device, const notification& n) override {
    return detail::send_reported(ex_, options_, "apns_result", app_id_, name_, device.pns_handle,
                                 [this, &device, &n] { return send_attempts(device, n); });
  }

  provider_state state() const override { return state_; }

  void shutdown() override {
    if (pool_) pool_->shutdown();
  }

 private:
  void init(apns_environment env) {
    std::string endpoint = settings_.endpoint;
    if (endpoint.empty())
      endpoint = env == apns_environment::production ? "https://api.push.apple.com" : "https://api.sandbox.push.apple.com";
    auto url = parse_https_url(endpoint);
    if (!url) return fail("endpoint: not https://host[:port]: " + endpoint);
    detail::tls_settings tls;
    tls.ca_file = settings_.ca_file;
    if (!settings_.key_file.empty()) {
      auto key = signing_key::from_pem_file(settings_.key_file, signing_key::algorithm::es256);
      if (!key) return fail("key_file " + settings_.key_file + ": " + key.error().message());
      key_.emplace(std::move(*key));
      if (settings_.team_id.empty() || settings_.key_id.empty()) return fail("team_id and key_id are required with key_file");
    } else if (!settings_.certificate_file.empty()) {
      tls.certificate_file = settings_.certificate_file;
      if (!settings_.certificate_password_file.empty()) {
        try {
          tls.certificate_password = cfg::read_secret_file(settings_.certificate_password_file, "certificate_password_file");
        } catch (const config_error& e) {
          return fail(e.what());
        }
      }
    } else {
      return fail("neither key_file nor certificate_file is set");
    }
    if (settings_.topic.empty()) return fail("topic is required");
    std::string error;
    auto ctx = detail::make_tls_context(tls, error);
    if (!ctx) return fail(error);

    auto po = detail::make_pool_options(settings_.connections, settings_.connect_timeout, options_);
    auto hooks = detail::metrics_hooks(options_.metrics, app_id_, name_);
    pool_ = std::make_unique<detail::h2_pool>(ex_, *url, ctx, po, std::move(hooks), options_.random, options_.log);
    state_.ready = true;
  }

  void fail(std::string error) {
    state_.ready = false;
    state_.error = std::move(error);
    if (options_.log) options_.log->err("apns_config").kv("app", app_id_).kv("provider", name_).kv("error", state_.error);
  }

  // The cached provider token, signed anew when due (never per request).
  std::string current_token() {
    auto now = detail::now_unix_s();
    std::lock_guard lock(tokens_->mutex);
    if (tokens_->cache.needs_refresh(now)) {
      auto jwt = make_apns_jwt(*key_, settings_.key_id, settings_.team_id, now);
      if (!jwt) return {};
      tokens_->cache.store(std::move(*jwt), now);
      options_.metrics->on_token_refresh(app_id_, name_);
      if (options_.log) options_.log->info("apns_token_signed").kv("app", app_id_).kv("provider", name_);
    }
    return tokens_->cache.token();
  }


  boost::asio::awaitable<delivery_result> send_attempts(const device_info& device, const notification& n) {
    if (!state_.ready) co_return detail::config_failure(state_.error);
    auto prepared = prepare_apns_request(device, n, settings_.topic);
    if (auto* local = std::get_if<delivery_result>(&prepared)) co_return *local;
    auto& ready = std::get<apns_prepared>(prepared);

    bool refreshed = false;
    int resends = 0;
    for (;;) {
      http_request& request = ready.request;  // the same for resends (same apns-id); lent to the pool
      std::string used_token;
      if (key_) {
        used_token = current_token();
        if (used_token.empty()) co_return detail::config_failure("SigningFailed");
        set_apns_authorization(request, used_token);
      }
      options_.metrics->on_sent(app_id_, name_);
      auto answer = co_await pool_->async_request(request, settings_.response_timeout);
      if (!answer) {
        auto e = static_cast<provider_error>(answer.error().value());
        if (detail::resendable(e) && resends < options_.max_resends) {
          ++resends;
          if (options_.log)
            options_.log->info("apns_resend").kv("app", app_id_).kv("apns_id", ready.apns_id).kv("cause", answer.error().message());
          continue;
        }
        auto r = detail::transport_failure(e, options_.retry_backoff.delay(n.attempt, options_.random));
        r.provider_id = ready.apns_id;
        co_return r;
      }
      auto c = classify_apns_response(*answer, n.attempt, options_.retry_backoff,
                                       options_.random ? options_.random() : 0.5, detail::now_unix_s(), refreshed);
      if (c.retire_connection) pool_->retire(answer->connection_id);
      if (c.next == next_step::refresh_token_resend && key_) {
        refreshed = true;
        {
          std::lock_guard lock(tokens_->mutex);
          tokens_->cache.invalidate(used_token);  // once, however many streams (and shards) report it
        }
        if (options_.log) options_.log->notice("apns_token_expired").kv("app", app_id_).kv("provider", name_);
        continue;
      }
      if (c.next == next_step::refresh_token_resend) c.result = detail::config_failure("ExpiredProviderToken");
      if (c.result.provider_id.empty()) c.result.provider_id = ready.apns_id;
      co_return c.result;
    }
  }

  boost::asio::any_io_executor ex_;
  std::string app_id_;
  std::string name_;
  apns_settings settings_;
  provider_options options_;
  provider_state state_;
  std::optional<signing_key> key_;  // token auth; empty with certificate auth
  std::shared_ptr<apns_token_share> tokens_;
  std::unique_ptr<detail::h2_pool> pool_;
};

}  // namespace

std::unique_ptr<push_provider> make_apns_provider(boost::asio::any_io_executor ex, std::string app_id,
                                                  const apns_settings& settings, apns_environment env,
                                                  provider_options options) {
  auto tokens = std::make_shared<apns_token_share>();
  if (detail::shard_count(settings.connections, options) == 0)
    return std::make_unique<apns_provider>(ex, std::move(app_id), settings, env, std::move(options), std::move(tokens));
  const provider_options shard = detail::shard_options(options);
  return detail::make_sharded_provider(
      settings.connections, options, [&](boost::asio::any_io_executor strand, int, int connections) {
        apns_settings part = settings;
        part.connections = connections;
        return std::make_unique<apns_provider>(strand, app_id, part, env, shard, tokens);
      });
}

}  // namespace herald
