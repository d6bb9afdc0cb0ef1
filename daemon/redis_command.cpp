// `herald redis ack-reset`: an operator acknowledges a detected Redis
// dataset reset (the data is gone; devices re-register, appointments are
// pushed again by their owners), which clears /readyz's "dataset reset".
// `herald redis status`: the dataset epoch and whether a reset is pending.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>

#include "config/config.hpp"
#include "daemon/commands.hpp"
#include "runtime/log.hpp"
#include "store/redis_client.hpp"

namespace herald {

namespace asio = boost::asio;

int command_redis(const std::vector<std::string>& args) {
  if (args.size() < 2 || (args[1] != "ack-reset" && args[1] != "status")) {
    std::fprintf(stderr, "usage: herald redis ack-reset|status --config FILE\n");
    return exit_bad_config;
  }
  const bool ack = args[1] == "ack-reset";
  std::string config_path = "config/herald.yaml";
  for (std::size_t i = 2; i + 1 < args.size(); ++i)
    if (args[i] == "--config") config_path = args[i + 1];
  config cfg;
  try {
    cfg = load_config_file(config_path);
  } catch (const config_error& e) {
    std::fprintf(stderr, "herald: bad configuration: %s\n", e.what());
    return exit_bad_config;
  }
  logger log(log_level::warning);
  asio::io_context ioc;
  auto redis = redis_client::create(ioc.get_executor(), cfg.redis, log, nullptr);
  const auto keys = dataset_keys::for_prefix(cfg.redis.key_prefix);
  int rc = exit_ok;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        co_await async_start_redis(*redis);
        if (!redis->connected()) {
          std::fprintf(stderr, "herald redis: Redis unavailable: %s\n", redis->last_error().c_str());
          rc = exit_failure;
        } else {
          auto tok = asio::as_tuple(asio::use_awaitable);
          std::vector<std::string> get_epoch{std::string("GET"), keys.epoch};
          std::vector<std::string> get_reset{std::string(ack ? "GETDEL" : "GET"), keys.reset};
          auto [ec1, epoch] = co_await redis->async_exec(std::move(get_epoch), tok);
          auto [ec2, reset] = co_await redis->async_exec(std::move(get_reset), tok);
          if (ec1 || ec2) {
            std::fprintf(stderr, "herald redis: %s\n", (ec1 ? ec1 : ec2).message().c_str());
            rc = exit_failure;
          } else {
            std::printf("dataset epoch: %s\n", epoch.type == redis_reply::kind::string ? epoch.str.c_str() : "(none yet)");
            if (reset.type == redis_reply::kind::string)
              std::printf("%s: %s\n", ack ? "reset acknowledged" : "reset pending", reset.str.c_str());
            else
              std::printf("no reset pending\n");
          }
        }
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
