// `herald broker run-once`: one pass of the appointment-alarm broker against
// Redis (the same pass as RunAppointmentAlarmBroker), then exit.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <optional>

#include "broker/alarm_broker.hpp"
#include "broker/redis/redis_ports.hpp"
#include "config/config.hpp"
#include "daemon/commands.hpp"
#include "l10n/localizer.hpp"
#include "providers/provider.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "store/device_registry.hpp"
#include "store/redis_client.hpp"

namespace herald {

namespace asio = boost::asio;

int command_broker(const std::vector<std::string>& args) {
  if (args.size() < 2 || args[1] != "run-once") {
    std::fprintf(stderr, "usage: herald broker run-once --config FILE\n");
    return exit_bad_config;
  }
  std::string config_path = "config/herald.yaml";
  for (std::size_t i = 2; i + 1 < args.size(); ++i)
    if (args[i] == "--config") config_path = args[i + 1];
  config cfg;
  std::optional<localizer> l10n;
  try {
    cfg = load_config_file(config_path);
    l10n.emplace(localizer::load(cfg.locales.directory, cfg.timezones.table_file, cfg.locales.default_language, cfg.timezones.default_zone));
  } catch (const config_error& e) {
    std::fprintf(stderr, "herald: bad configuration: %s\n", e.what());
    return exit_bad_config;
  } catch (const l10n_error& e) {
    std::fprintf(stderr, "herald: bad configuration: locales/timezones: %s\n", e.what());
    return exit_bad_config;
  }
  logger log(parse_log_level(cfg.log.level).value_or(log_level::info), stderr, false,
             parse_log_format(cfg.log.format).value_or(log_format::text));
  metrics_registry metrics;
  asio::io_context ioc;
  auto redis = redis_client::create(ioc.get_executor(), cfg.redis, log, &metrics);
  device_registry devices(redis, cfg.redis.key_prefix);
  provider_options popts;
  popts.log = &log;
  std::vector<std::string> app_ids;
  for (const auto& app : cfg.apps) app_ids.push_back(app.id);
  popts.metrics = make_metrics_listener(metrics, app_ids);
  provider_router providers(ioc.get_executor(), cfg.apps, popts);
  broker_options bopts;
  bopts.settings = cfg.broker;
  bopts.key_prefix = cfg.redis.key_prefix;
  bopts.takeover_idle = cfg.broker.takeover_after;
  bopts.max_deliveries = cfg.broker.max_deliveries;
  redis_broker_ports broker_ports(redis, cfg.redis.key_prefix, default_consumer_name(), devices, providers);
  broker_ports.store().set_trace_limits(cfg.trace);
  alarm_broker broker(ioc.get_executor(), bopts, broker_ports.ports(), *l10n, log, metrics);
  int rc = exit_ok;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        co_await async_start_redis(*redis);
        auto ec = co_await broker.run_once();
        if (ec) {
          std::fprintf(stderr, "herald broker run-once: %s\n", ec.message().c_str());
          rc = exit_failure;
        } else {
          std::printf("broker pass done: claimed=%llu sent=%llu late_dropped=%llu\n",
                      static_cast<unsigned long long>(metrics.get_counter("herald_broker_alarms_claimed_total", "").value()),
                      static_cast<unsigned long long>(metrics.get_counter("herald_broker_alarms_sent_total", "").value()),
                      static_cast<unsigned long long>(metrics.get_counter("herald_broker_alarms_late_dropped_total", "").value()));
        }
        providers.shutdown();
        redis->stop();
      },
      [&](std::exception_ptr e) {
        if (e) rc = exit_failure;
        ioc.stop();
      });
  ioc.run();
  return rc;
}

}  // namespace herald
