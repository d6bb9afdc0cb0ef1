// The FCM HTTP v1 adapter: OAuth2 access token from the service account
// (single-flight refresh), one pool of HTTP/2 connections to the endpoint
// and one to token_uri, classification per docs/PROVIDERS.md. Lives on one
// executor; with providers.threads > 1 it is split into shards on
// the providers' threads (detail/shards.hpp) that share one access token: the
// first shard runs every exchange, the others read the shared cache and hop
// to it only when the token is due.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <fstream>
#include <mutex>
#include <sstream>

#include "providers/detail/common.hpp"
#include "providers/detail/single_flight.hpp"
#include "providers/detail/h2_pool.hpp"
#include "providers/detail/shards.hpp"
#include "providers/detail/tls_context.hpp"
#include "providers/fcm_protocol.hpp"
#include "providers/jwt.hpp"
#include "runtime/log.hpp"

namespace herald {

namespace {

namespace asio = boost::asio;

class fcm_provider;

// The access token of one service account, shared by the shards of an
// adapter (which may run on different threads). `owner`, the first shard,
// runs every exchange on its strand (single-flight there); the cache is read
// and written under the mutex.
struct fcm_token_share {
  std::optional<std::string> fresh(std::int64_t now) {
    std::lock_guard lock(mutex);
    if (cache.needs_refresh(now)) return std::nullopt;
    return cache.token();
  }
  // The cache interface of exchange_oauth_token and send_with_token.
  void store(std::string token, std::int64_t now, std::int64_t expires_in_s) {
    std::lock_guard lock(mutex);
    cache.store(std::move(token), now, expires_in_s);
  }
  std::string token() {
    std::lock_guard lock(mutex);
    return cache.token();
  }
  bool invalidate(std::string_view used) {
    std::lock_guard lock(mutex);
    return cache.invalidate(used);
  }

  std::mutex mutex;
  access_token_cache cache;       // guarded by mutex
  fcm_provider* owner = nullptr;  // set once, before any send
  asio::any_io_executor owner_ex;
};

class fcm_provider final : public push_provider {
 public:
  fcm_provider(asio::any_io_executor ex, std::string app_id, const fcm_settings& settings, provider_options options,
               std::shared_ptr<fcm_token_share> tokens)
      : ex_(ex),
        app_id_(std::move(app_id)),
        settings_(settings),
        options_(std::move(options)),
        tokens_(std::move(tokens)),
        refresh_(ex) {
    if (!options_.random) options_.random = make_random_source();
    if (!options_.metrics) options_.metrics = std::make_shared<provider_metrics_listener>();
    if (!tokens_->owner) {
      tokens_->owner = this;
      tokens_->owner_ex = ex_;
    }
    init();
  }

  ~fcm_provider() override { shutdown(); }

  asio::awaitable<delivery_result> async_send(const device_info& device, const notification& n) override {
    return detail::send_reported(ex_, options_, "fcm_result", app_id_, "fcm", device.pns_handle,
                                 [this, &device, &n] { return send_attempts(device, n); });
  }

  provider_state state() const override { return state_; }

  void shutdown() override {
    if (pool_) pool_->shutdown();
    if (token_pool_) token_pool_->shutdown();
  }

 private:
  void init() {
    std::ifstream in(settings_.service_account_file, std::ios::binary);
    if (!in) return fail("service_account_file: cannot read " + settings_.service_account_file);
    std::ostringstream text;
    text << in.rdbuf();
    auto sa = parse_service_account(text.str());
    if (!sa) return fail("service_account_file: needs project_id, client_email, private_key (JSON)");
    account_ = std::move(*sa);
    auto key = signing_key::from_pem(account_.private_key, signing_key::algorithm::rs256);
    if (!key) return fail("service_account_file: private_key: " + key.error().message());
    key_.emplace(std::move(*key));

    auto url = parse_https_url(settings_.endpoint.empty() ? "https://fcm.googleapis.com" : settings_.endpoint);
    if (!url) return fail("endpoint: not https://host[:port]: " + settings_.endpoint);
    auto token_url = parse_https_url(account_.token_uri);
    if (!token_url) return fail("service account token_uri is not https: " + account_.token_uri);
    token_path_ = token_url->path;
    std::string error;
    auto ctx = detail::make_tls_context({settings_.ca_file, {}, {}}, error);
    if (!ctx) return fail(error);

    auto po = detail::make_pool_options(settings_.connections, settings_.connect_timeout, options_);
    auto hooks = detail::metrics_hooks(options_.metrics, app_id_, "fcm");
    pool_ = std::make_unique<detail::h2_pool>(ex_, *url, ctx, po, std::move(hooks), options_.random, options_.log);
    po.connections = 1;
    token_pool_ = std::make_unique<detail::h2_pool>(ex_, *token_url, ctx, po, detail::h2_hooks{}, options_.random,
                                                    options_.log);
    state_.ready = true;
  }

  void fail(std::string error) {
    state_.ready = false;
    state_.error = std::move(error);
    if (options_.log) options_.log->err("fcm_config").kv("app", app_id_).kv("error", state_.error);
  }

  // The cached access token; one exchange at a time however many sends (of
  // however many shards) need it. On failure: a delivery_result to return.
  asio::awaitable<std::variant<std::string, delivery_result>> access_token() {
    if (!options_.fcm_access_token.empty()) co_return options_.fcm_access_token;
    for (;;) {
      if (auto fresh = tokens_->fresh(detail::now_unix_s())) co_return std::move(*fresh);
      if (tokens_->owner != this) {
        // Due: the first shard exchanges it (or is already doing so) on its strand.
        co_return co_await detail::run_on<std::variant<std::string, delivery_result>>(
            tokens_->owner_ex, [owner = tokens_->owner] { return owner->access_token(); });
      }
      auto refreshed = co_await refresh_.run([this] { return exchange(); });
      if (refreshed.failure) co_return *refreshed.failure;
      if (refreshed.ran) co_return tokens_->token();
      // Another send's exchange ended: look at the cache again.
    }
  }

  // POST the signed assertion to token_uri.
  asio::awaitable<std::variant<std::string, delivery_result>> exchange() {
    auto now = detail::now_unix_s();
    auto assertion = make_google_assertion(*key_, account_.private_key_id, account_.client_email, account_.token_uri,
                                           fcm_scope, now);
    if (!assertion) co_return detail::config_failure("SigningFailed");
    // Named first: GCC 12 mishandles a temporary passed by value to a coroutine inside co_await.
    std::string path = token_path_;
    std::string form = token_request_body(*assertion);
    co_return co_await detail::exchange_oauth_token(*token_pool_, std::move(path), std::move(form), settings_.response_timeout, options_,
                                                    app_id_, "fcm", *tokens_, parse_token_response);
  }

  asio::awaitable<delivery_result> send_attempts(const device_info& device, const notification& n) {
    if (!state_.ready) co_return detail::config_failure(state_.error);
    auto prepared = prepare_fcm_request(device, n, account_.project_id, detail::now_unix_s());
    if (auto* local = std::get_if<delivery_result>(&prepared)) co_return *local;
    auto& request = std::get<http_request>(prepared);  // the same for resends; lent to the pool
    auto get_token = [this] { return access_token(); };
    auto classify = [this, &n](const http_response& answer, bool refreshed) {
      return classify_fcm_response(answer, n.attempt, options_.retry_backoff, options_.random ? options_.random() : 0.5,
                                   detail::now_unix_s(), refreshed);
    };
    detail::token_send how{app_id_, "fcm", "fcm_unauthenticated", settings_.response_timeout, n.attempt,
                           &set_fcm_authorization};
    co_return co_await detail::send_with_token(pool_.get(), &request, tokens_.get(), get_token, classify, how, &options_);
  }

  asio::any_io_executor ex_;
  std::string app_id_;
  fcm_settings settings_;
  provider_options options_;
  provider_state state_;
  service_account account_;
  std::optional<signing_key> key_;
  std::string token_path_;
  std::shared_ptr<fcm_token_share> tokens_;
  detail::single_flight_refresh refresh_;
  std::unique_ptr<detail::h2_pool> pool_;
  std::unique_ptr<detail::h2_pool> token_pool_;
};

}  // namespace

std::unique_ptr<push_provider> make_fcm_provider(asio::any_io_executor ex, std::string app_id,
                                                 const fcm_settings& settings, provider_options options) {
  auto tokens = std::make_shared<fcm_token_share>();
  if (detail::shard_count(settings.connections, options) == 0)
    return std::make_unique<fcm_provider>(ex, std::move(app_id), settings, std::move(options), std::move(tokens));
  const provider_options shard = detail::shard_options(options);
  return detail::make_sharded_provider(settings.connections, options,
                                       [&](asio::any_io_executor strand, int, int connections) {
                                         fcm_settings part = settings;
                                         part.connections = connections;
                                         return std::make_unique<fcm_provider>(strand, app_id, part, shard, tokens);
                                       });
}

}  // namespace herald
