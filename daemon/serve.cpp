// `herald serve`: wires config, Redis, the registry, the API and the HTTP
// server onto one io_context, and handles signals and systemd notification.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/system_error.hpp>
#include <systemd/sd-daemon.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <functional>
#include <optional>
#include <memory>
#include <thread>
#include <vector>

#include "api/http_api.hpp"
#include "api/server/broker_gateway.hpp"
#include "api/access/auth.hpp"
#include "api/server/http_server.hpp"
#include "config/config.hpp"
#include "broker/alarm_broker.hpp"
#include "broker/redis/redis_ports.hpp"
#include "daemon/wiring.hpp"
#include "daemon/build_info.hpp"
#include "daemon/commands.hpp"
#include "l10n/localizer.hpp"
#include "providers/provider.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "store/device_registry.hpp"
#include "store/change_watcher.hpp"
#include "store/redis_client.hpp"

namespace herald {

namespace asio = boost::asio;

namespace {

// Signals, readiness and the systemd watchdog for one running daemon.
class daemon_supervisor {
 public:
  daemon_supervisor(asio::io_context& ioc, std::string config_path, logger& log, authenticator& auth,
                    std::shared_ptr<redis_client> redis, http_server& server, std::chrono::milliseconds grace,
                    std::function<void(std::chrono::milliseconds, std::function<void(bool)>)> drain_broker,
                    std::function<void()> on_stop)
      : ioc_(ioc),
        config_path_(std::move(config_path)),
        log_(log),
        auth_(auth),
        redis_(std::move(redis)),
        server_(server),
        grace_(grace),
        drain_broker_(std::move(drain_broker)),
        on_stop_(std::move(on_stop)),
        signals_(ioc, SIGTERM, SIGINT, SIGHUP),
        ready_timer_(ioc),
        watchdog_timer_(ioc) {}

  void start() {
    wait_signal();
    wait_ready();
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
      watchdog_interval_ = std::chrono::microseconds(usec / 2);
      log_.info("systemd.watchdog").kv("interval_ms", static_cast<long long>(
                                                         std::chrono::duration_cast<std::chrono::milliseconds>(watchdog_interval_).count()));
      kick_watchdog();
    }
  }

  int exit_code() const { return exit_code_; }

 private:
  void wait_signal() {
    signals_.async_wait([this](boost::system::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        reload();
        wait_signal();
        return;
      }
      shutdown(sig);
    });
  }

  // READY=1 only once the listener is up (it is: start() ran) and Redis answered.
  void wait_ready() {
    if (redis_->connected()) {
      sd_notify(0, "READY=1\nSTATUS=serving");
      log_.notice("daemon.ready");
      return;
    }
    if (!waiting_logged_) {
      log_.info("daemon.waiting_for_redis");
      sd_notify(0, "STATUS=waiting for Redis");
      waiting_logged_ = true;
    }
    ready_timer_.expires_after(std::chrono::milliseconds(20));
    ready_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec && !stopping_) wait_ready();
    });
  }

  void kick_watchdog() {
    sd_notify(0, "WATCHDOG=1");
    watchdog_timer_.expires_after(watchdog_interval_);
    watchdog_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) kick_watchdog();
    });
  }

  void reload() {
    sd_notify(0, "RELOADING=1");
    try {
      auto cfg = load_config_file(config_path_);
      auto level = parse_log_level(cfg.log.level).value_or(log_level::info);
      auto tokens = cfg.auth.tokens.size();
      auth_.replace(std::move(cfg.auth));
      log_.set_level(level);
      log_.notice("config.reloaded").kv("path", config_path_).kv("tokens", static_cast<unsigned long long>(tokens)).kv("log_level", to_string(level));
    } catch (const config_error& e) {
      log_.err("config.reload_rejected").kv("path", config_path_).kv("key", e.key()).kv("problem", e.problem()).kv("kept", "previous configuration");
    }
    sd_notify(0, "READY=1");
  }

  void shutdown(int sig) {
    if (stopping_) return;
    stopping_ = true;
    sd_notify(0, "STOPPING=1\nSTATUS=draining");
    log_.notice("daemon.stopping").kv("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT").kv("open_connections", static_cast<unsigned long long>(server_.open_connections()));
    ready_timer_.cancel();
    // The HTTP server and the broker drain side by side (both within the
    // grace period); Redis and the providers stay up until both are done.
    auto pending = std::make_shared<int>(2);
    auto all_clean = std::make_shared<bool>(true);
    auto one_done = [this, pending, all_clean](bool clean) {
      asio::post(ioc_, [this, pending, all_clean, clean] {
        *all_clean = *all_clean && clean;
        if (--*pending == 0) finish(*all_clean);
      });
    };
    server_.async_drain(grace_, one_done);
    if (drain_broker_) drain_broker_(grace_, one_done);
    else one_done(true);
  }

  void finish(bool clean) {
    log_.notice("daemon.stopped").kv("clean", clean);
    watchdog_timer_.cancel();
    signals_.cancel();
    if (on_stop_) on_stop_();
    redis_->stop();
    ioc_.stop();
  }

  asio::io_context& ioc_;
  std::string config_path_;
  logger& log_;
  authenticator& auth_;
  std::shared_ptr<redis_client> redis_;
  http_server& server_;
  std::chrono::milliseconds grace_;
  std::function<void(std::chrono::milliseconds, std::function<void(bool)>)> drain_broker_;
  std::function<void()> on_stop_;  // stops the other components (providers, broker)
  asio::signal_set signals_;
  asio::steady_timer ready_timer_;
  asio::steady_timer watchdog_timer_;
  std::chrono::microseconds watchdog_interval_{0};
  bool stopping_ = false;
  bool waiting_logged_ = false;
  int exit_code_ = exit_ok;
};

}  // namespace

int command_serve(const std::string& config_path) {
  config cfg;
  try {
    cfg = load_config_file(config_path);
  } catch (const config_error& e) {
    std::fprintf(stderr, "herald: bad configuration: %s\n", e.what());
    return exit_bad_config;
  }
  const auto l10n = load_localizer(cfg);
  if (!l10n) return exit_bad_config;
  logger log(parse_log_level(cfg.log.level).value_or(log_level::info), stderr, std::getenv("JOURNAL_STREAM") != nullptr,
             parse_log_format(cfg.log.format).value_or(log_format::text));
  metrics_registry metrics;
  metrics
      .get_gauge("herald_build_info", "Always 1; the labels say which build is running",
                 {{"version", std::string(build_version())}, {"commit", std::string(build_commit())}})
      .set(1);
  log.notice("daemon.starting").kv("config", config_path).kv("threads", cfg.server.threads).kv("provider_threads", cfg.providers.threads);

  asio::io_context ioc(cfg.server.threads);
  auto main_redis_settings = cfg.redis;
  main_redis_settings.check_dataset = true;  // the dataset epoch, checked on every (re)connect
  auto redis = redis_client::create(ioc.get_executor(), main_redis_settings, log, &metrics);
  device_registry devices(redis, cfg.redis.key_prefix);
  authenticator auth(cfg.auth);
  const provider_options popts = provider_options_for(cfg, log, &metrics);
  // The providers' connections and the broker that drives them share one
  // strand: with server.threads > 1 their state is still touched by one
  // thread at a time (HTTP connections and Redis have their own strands).
  // With providers.threads > 1 the APNs and FCM connections move to the
  // router's own io_context and threads instead (sharded, one strand per
  // shard); the broker stays on push_strand and hops there and back per send.
  // The router is declared after `ioc` and before the broker: it outlives the
  // broker, and its destructor joins its threads before its adapters and
  // their io_context go.
  auto push_strand = asio::make_strand(ioc.get_executor());
  provider_router providers(push_strand, cfg.apps, popts);
  for (const auto& [name, state] : providers.states()) {
    if (state.ready) log.info("provider.ready").kv("provider", name);
    else log.err("provider.config_error").kv("provider", name).kv("error", state.error);
  }
  auto provider_readiness = [&providers] {
    std::vector<readiness_check> checks;
    for (auto& [name, state] : providers.states()) checks.push_back({name, state.ready, state.error});
    return checks;
  };
  // Readiness as /readyz decides it, sampled on every scrape (alerts and dashboards).
  // A weak reference: the registry outlives the io_context, and the Redis
  // client must be destroyed before the io_context (its timers use its services).
  metrics.add_collector([&metrics, weak_redis = std::weak_ptr<redis_client>(redis), provider_readiness] {
    constexpr const char* help = "1 while the dependency is ready (redis, and each configured provider as apns:<app>/fcm:<app>)";
    auto live = weak_redis.lock();
    bool all = live && live->connected();
    metrics.get_gauge("herald_dependency_ready", help, {{"dependency", "redis"}}).set(all ? 1 : 0);
    for (const auto& check : provider_readiness()) {
      metrics.get_gauge("herald_dependency_ready", help, {{"dependency", check.name}}).set(check.ok ? 1 : 0);
      all = all && check.ok;
    }
    metrics.get_gauge("herald_ready", "1 while /readyz answers 200 (Redis and every configured provider ready)").set(all ? 1 : 0);
  });
  const broker_options bopts = broker_options_for(cfg);
  redis_broker_ports broker_ports(redis, cfg.redis.key_prefix, default_consumer_name(), devices, providers);
  broker_ports.store().set_trace_limits(cfg.trace);
  alarm_broker broker(push_strand, bopts, broker_ports.ports(), *l10n, log, metrics);
  // Any daemon's appointment change re-arms this daemon's timer (a second
  // connection: the read blocks).
  change_watcher_options watch_opts{.stream = broker_ports.store().key("alarms:changes")};
  auto watch_settings = cfg.redis;
  watch_settings.command_timeout = std::max(cfg.redis.command_timeout, watch_opts.block + std::chrono::seconds(2));
  auto watch_redis = redis_client::create(ioc.get_executor(), watch_settings, log, nullptr);
  change_watcher schedule_watch(ioc.get_executor(), watch_redis, watch_opts, [&broker] { broker.schedule_changed(); });

  auto broker_access = make_broker_gateway(broker);
  http_api api(http_api_dependencies{log, metrics, auth, redis, cfg.redis.key_prefix, devices, broker_access.get(),
                                     [&cfg](const device_info& d) { return check_pns_handle(d, cfg.apps); },
                                     provider_readiness});
  http_server server(
      ioc.get_executor(), cfg.server, [&api](api_request& req) { return api.handle(req); }, log, metrics);
  try {
    server.start();
  } catch (const boost::system::system_error& e) {
    log.err("http.listen_failed").kv("address", cfg.server.listen_host).kv("port", static_cast<unsigned>(cfg.server.listen_port)).kv("error", e.code().message());
    return exit_failure;
  }
  redis->start();
  watch_redis->start();
  broker.start();
  schedule_watch.start();
  daemon_supervisor supervisor(ioc, config_path, log, auth, redis, server, cfg.server.shutdown_grace,
                               [&broker](std::chrono::milliseconds grace, std::function<void(bool)> done) {
                                 broker.async_drain(grace, std::move(done));
                               },
                               [&] {
                                 broker.stop();
                                 providers.shutdown();
                                 schedule_watch.stop();
                                 watch_redis->stop();
                               });
  supervisor.start();

  std::vector<std::thread> extra;
  for (int i = 1; i < cfg.server.threads; ++i) extra.emplace_back([&ioc] { ioc.run(); });
  try {
    ioc.run();
  } catch (const std::exception& e) {
    log.crit("daemon.crashed").kv("error", e.what());
    ioc.stop();
    for (auto& t : extra) t.join();
    return exit_failure;
  }
  for (auto& t : extra) t.join();
  return supervisor.exit_code();
}

}  // namespace herald
