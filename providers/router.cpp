#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "providers/detail/shards.hpp"
#include "providers/provider.hpp"
#include "providers/reason_label.hpp"
#include "providers/webpush_crypto.hpp"
#include "providers/wns_protocol.hpp"

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"

namespace herald {

std::string_view to_string(delivery_result::outcome kind) {
  switch (kind) {
    case delivery_result::outcome::delivered: return "delivered";
    case delivery_result::outcome::device_gone: return "device_gone";
    case delivery_result::outcome::retry_after: return "retry_after";
    case delivery_result::outcome::rejected: return "rejected";
    case delivery_result::outcome::config_error: return "config_error";
    case delivery_result::outcome::no_provider: return "no_provider";
  }
  return "unknown";
}

provider_route route_for(notification_platform platform, std::string_view apns_environment) {
  const bool sandbox_only = apns_environment == "sandbox";
  switch (platform) {
    case notification_platform::apple:
    case notification_platform::apple_ad_hoc:
      return sandbox_only ? provider_route::apns_sandbox : provider_route::apns_production;
    case notification_platform::apple_developer: return provider_route::apns_sandbox;
    case notification_platform::google:
    case notification_platform::google_developer: return provider_route::fcm;
    case notification_platform::microsoft: return provider_route::wns;
    case notification_platform::web: return provider_route::webpush;
  }
  return provider_route::none;
}

struct provider_router::app_entry {
  std::string id;
  std::string apns_environment;
  std::unique_ptr<push_provider> apns_production;
  std::unique_ptr<push_provider> apns_sandbox;
  std::unique_ptr<push_provider> fcm;
  std::unique_ptr<push_provider> wns;
  std::unique_ptr<push_provider> webpush;
};

// The providers' own threads (providers.threads > 1): one io_context per
// thread, each run by that thread alone, so each io_context is a strand and
// its sockets' completions run where the connection lives. (One io_context
// run by N threads left the reactor thread doing nearly all the work.)
class provider_router::thread_pool {
 public:
  thread_pool(int threads, logger* log) : log_(log) {
    for (int i = 0; i < threads; ++i) {
      contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
      work_.emplace_back(contexts_.back()->get_executor());
    }
    for (auto& ioc : contexts_) threads_.emplace_back([this, ioc = ioc.get()] { run(*ioc); });
  }
  ~thread_pool() { stop(); }

  std::vector<boost::asio::any_io_executor> executors() {
    std::vector<boost::asio::any_io_executor> out;
    for (auto& ioc : contexts_) out.push_back(ioc->get_executor());
    return out;
  }

  // Stops the io_contexts and joins the threads; handlers still queued are
  // destroyed with the io_contexts.
  void stop() {
    work_.clear();
    for (auto& ioc : contexts_) ioc->stop();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

 private:
  void run(boost::asio::io_context& ioc) {
    for (;;) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {
        if (log_) log_->crit("providers.thread_error").kv("error", e.what());
      }
    }
  }

  logger* log_;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
};

provider_router::provider_router(boost::asio::any_io_executor ex, const std::vector<app_settings>& apps,
                                 provider_options options) {
  options.shard_executors.clear();
  if (options.threads > 1) {
    threads_ = std::make_unique<thread_pool>(options.threads, options.log);
    options.shard_executors = threads_->executors();
    // One random_source for every adapter, now called from several threads.
    options.random = detail::serialized(std::move(options.random));
  }
  for (const auto& app : apps) {
    auto entry = std::make_unique<app_entry>();
    entry->id = app.id;
    if (app.apns) {
      entry->apns_environment = app.apns->environment;
      if (app.apns->environment != "sandbox")
        entry->apns_production = make_apns_provider(ex, app.id, *app.apns, apns_environment::production, options);
      entry->apns_sandbox = make_apns_provider(ex, app.id, *app.apns, apns_environment::sandbox, options);
    }
    if (app.fcm) entry->fcm = make_fcm_provider(ex, app.id, *app.fcm, options);
    if (app.wns) entry->wns = make_wns_provider(ex, app.id, *app.wns, options);
    if (app.webpush) entry->webpush = make_webpush_provider(ex, app.id, *app.webpush, options);
    apps_.push_back(std::move(entry));
  }
}

provider_router::~provider_router() {
  shutdown();
  // Join the providers' threads before the adapters (then the io_context) go.
  if (threads_) threads_->stop();
  apps_.clear();
}

push_provider* provider_router::find(std::string_view app_id, notification_platform platform) {
  app_entry* app = nullptr;
  if (app_id.empty() && !apps_.empty()) app = apps_.front().get();
  for (auto& a : apps_)
    if (a->id == app_id) app = a.get();
  if (!app) return nullptr;
  switch (route_for(platform, app->apns_environment)) {
    case provider_route::apns_production: return app->apns_production.get();
    case provider_route::apns_sandbox: return app->apns_sandbox.get();
    case provider_route::fcm: return app->fcm.get();
    case provider_route::wns: return app->wns.get();
    case provider_route::webpush: return app->webpush.get();
    case provider_route::none: return nullptr;
  }
  return nullptr;
}

bool provider_router::has_app(std::string_view app_id) const {
  return std::any_of(apps_.begin(), apps_.end(), [&](const auto& a) { return a->id == app_id; });
}

boost::asio::awaitable<delivery_result> provider_router::async_send(std::string_view app_id, const device_info& device,
                                                                    const notification& n) {
  push_provider* provider = find(app_id, device.platform);
  if (!provider) {
    delivery_result r;
    r.kind = delivery_result::outcome::no_provider;
    r.reason = route_for(device.platform) == provider_route::none ? "no provider for this platform"
                                                                  : "no provider configured for this app";
    co_return r;
  }
  co_return co_await provider->async_send(device, n);
}

std::vector<std::pair<std::string, provider_state>> provider_router::states() const {
  std::vector<std::pair<std::string, provider_state>> out;
  for (const auto& a : apps_) {
    if (a->apns_production) out.emplace_back(a->id + "/apns", a->apns_production->state());
    if (a->apns_sandbox) out.emplace_back(a->id + "/apns_sandbox", a->apns_sandbox->state());
    if (a->fcm) out.emplace_back(a->id + "/fcm", a->fcm->state());
    if (a->wns) out.emplace_back(a->id + "/wns", a->wns->state());
    if (a->webpush) out.emplace_back(a->id + "/webpush", a->webpush->state());
  }
  return out;
}

void provider_router::shutdown() {
  for (auto& a : apps_) {
    if (a->apns_production) a->apns_production->shutdown();
    if (a->apns_sandbox) a->apns_sandbox->shutdown();
    if (a->fcm) a->fcm->shutdown();
    if (a->wns) a->wns->shutdown();
    if (a->webpush) a->webpush->shutdown();
  }
}

std::string check_pns_handle(const device_info& device, const std::vector<app_settings>& apps) {
  const app_settings* app = nullptr;
  for (const auto& a : apps)
    if (a.id == device.app_id) app = &a;
  if (!app && device.app_id.empty() && !apps.empty()) app = &apps.front();
  if (device.platform == notification_platform::web) {
    std::vector<std::string> hosts = default_webpush_allowed_hosts();
    if (app && app->webpush && !app->webpush->allowed_hosts.empty()) hosts = app->webpush->allowed_hosts;
    auto parsed = parse_web_subscription(device.pns_handle, hosts);
    if (auto* e = std::get_if<subscription_error>(&parsed))
      return "DeviceInfo.PNSHandle" + (e->field.empty() ? std::string() : " " + e->field) + ": " + e->message;
    return {};
  }
  if (device.platform == notification_platform::microsoft && app && app->wns) {
    const auto& hosts = app->wns->allowed_hosts.empty() ? default_wns_allowed_hosts() : app->wns->allowed_hosts;
    auto url = parse_https_url(device.pns_handle);
    bool clean = std::none_of(device.pns_handle.begin(), device.pns_handle.end(),
                              [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; });
    if (!origin_of(device.pns_handle) || !url || !clean || !host_allowed(url->host, hosts))
      return "DeviceInfo.PNSHandle: a Microsoft device's PNSHandle must be its https channel URI on an allowed WNS host";
  }
  return {};
}

namespace {

// The herald_push_* instruments of one (app, provider), looked up once.
struct push_instruments {
  push_instruments(metrics_registry& r, std::string_view app, std::string_view provider)
      : app(app),
        provider(provider),
        sent(r.get_counter("herald_push_sent_total", "Requests sent to push providers (resends included)", labels())),
        delivered(r.get_counter("herald_push_delivered_total", "Notifications accepted by the provider", labels())),
        response(r.get_histogram("herald_push_response_seconds", "Time from send to classified result", labels())),
        open_connections(r.get_gauge("herald_push_open_connections", "Open HTTP/2 connections to push providers", labels())),
        inflight_streams(r.get_gauge("herald_push_inflight_streams", "HTTP/2 streams awaiting a provider answer", labels())),
        token_refreshes(r.get_counter("herald_push_token_refreshes_total", "Provider/access tokens signed or fetched", labels())) {}

  label_set labels() const { return {{"app", app}, {"provider", provider}}; }

  std::string app;
  std::string provider;
  counter& sent;
  counter& delivered;
  histogram& response;
  gauge& open_connections;
  gauge& inflight_streams;
  counter& token_refreshes;
};

// Writes herald_push_* into the registry. The instruments of every
// configured (app, provider) are created at wiring time and found without
// a lock or an allocation on each event; a pair not known then (tests that
// name no apps) is created on first use under a mutex. Failures, labelled
// by outcome and reason, are looked up in the registry: they are rare.
class registry_listener final : public provider_metrics_listener {
 public:
  registry_listener(metrics_registry& registry, const std::vector<std::string>& app_ids) : registry_(registry) {
    for (const auto& app : app_ids)
      for (std::string_view provider : {"apns", "apns_sandbox", "fcm", "wns", "webpush"})
        known_.push_back(std::make_unique<push_instruments>(registry, app, provider));
  }

  void on_sent(std::string_view app, std::string_view provider) override { find(app, provider).sent.inc(); }
  void on_result(std::string_view app, std::string_view provider, const delivery_result& result,
                 std::chrono::nanoseconds latency) override {
    auto& m = find(app, provider);
    m.response.observe(std::chrono::duration<double>(latency).count());
    if (result.kind == delivery_result::outcome::delivered) {
      m.delivered.inc();
      return;
    }
    auto l = m.labels();
    l.emplace_back("outcome", std::string(to_string(result.kind)));
    l.emplace_back("reason", std::string(reason_label(result.reason)));
    registry_.get_counter("herald_push_failed_total", "Notifications not delivered, by outcome and reason", l).inc();
  }
  void on_connection_opened(std::string_view app, std::string_view provider) override { find(app, provider).open_connections.add(1); }
  void on_connection_closed(std::string_view app, std::string_view provider) override { find(app, provider).open_connections.add(-1); }
  void on_streams_changed(std::string_view app, std::string_view provider, int delta) override {
    find(app, provider).inflight_streams.add(delta);
  }
  void on_token_refresh(std::string_view app, std::string_view provider) override { find(app, provider).token_refreshes.inc(); }

 private:
  push_instruments& find(std::string_view app, std::string_view provider) {
    for (const auto& m : known_)
      if (m->app == app && m->provider == provider) return *m;
    std::lock_guard lock(late_mutex_);
    for (const auto& m : late_)
      if (m->app == app && m->provider == provider) return *m;
    return *late_.emplace_back(std::make_unique<push_instruments>(registry_, app, provider));
  }

  metrics_registry& registry_;
  std::vector<std::unique_ptr<push_instruments>> known_;  // immutable after construction
  std::mutex late_mutex_;
  std::vector<std::unique_ptr<push_instruments>> late_;
};

}  // namespace

std::shared_ptr<provider_metrics_listener> make_metrics_listener(metrics_registry& registry, const std::vector<std::string>& app_ids) {
  return std::make_shared<registry_listener>(registry, app_ids);
}

}  // namespace herald
