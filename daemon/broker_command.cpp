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
#include "daemon/wiring.hpp"
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
  const auto cfg = load_command_config(config_path);
  if (!cfg) return exit_bad_config;
  const auto l10n = load_localizer(*cfg);
  if (!l10n) return exit_bad_config;
  logger log(parse_log_level(cfg->log.level).value_or(log_level::info), stderr, false,
             parse_log_format(cfg->log.format).value_or(log_format::text));
  metrics_registry metrics;
  asio::io_context ioc;
  // Made on `ioc` before the run, so that they outlive it.
  provider_router providers(ioc.get_executor(), cfg->apps, provider_options_for(*cfg, log, &metrics));
  const int rc = run_with_redis(ioc, *cfg, "broker run-once", log, &metrics, [&](std::shared_ptr<redis_client> redis) -> asio::awaitable<int> {
    device_registry devices(redis, cfg->redis.key_prefix);
    redis_broker_ports ports(redis, cfg->redis.key_prefix, default_consumer_name(), devices, providers);
    ports.store().set_trace_limits(cfg->trace);
    alarm_broker broker(ioc.get_executor(), broker_options_for(*cfg), ports.ports(), *l10n, log, metrics);
    const auto ec = co_await broker.run_once();
    ports.store().trace_flush();
    if (ec) {
      std::fprintf(stderr, "herald broker run-once: %s\n", ec.message().c_str());
      co_return exit_failure;
    }
    std::printf("broker pass done: claimed=%llu sent=%llu late_dropped=%llu\n",
                static_cast<unsigned long long>(metrics.get_counter("herald_broker_alarms_claimed_total", "").value()),
                static_cast<unsigned long long>(metrics.get_counter("herald_broker_alarms_sent_total", "").value()),
                static_cast<unsigned long long>(metrics.get_counter("herald_broker_alarms_late_dropped_total", "").value()));
    co_return exit_ok;
  });
  providers.shutdown();
  return rc;
}

}  // namespace herald
