#include "daemon/commands.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>

#include "config/config.hpp"

#include "store/redis_client.hpp"

namespace herald {

namespace asio = boost::asio;

asio::awaitable<void> async_start_redis(redis_client& redis) {
  redis.start();
  asio::steady_timer t(co_await asio::this_coro::executor);
  for (int i = 0; i < 250 && !redis.connected(); ++i) {
    t.expires_after(std::chrono::milliseconds(20));
    co_await t.async_wait(asio::use_awaitable);
  }
}

std::optional<config> load_command_config(const std::string& path) {
  try {
    return load_config_file(path);
  } catch (const config_error& e) {
    std::fprintf(stderr, "herald: bad configuration: %s\n", e.what());
    return std::nullopt;
  }
}

int run_with_redis(asio::io_context& ioc, const config& cfg, const std::string& command, logger& log, metrics_registry* metrics,
                   std::function<asio::awaitable<int>(std::shared_ptr<redis_client>)> body) {
  auto redis = redis_client::create(ioc.get_executor(), cfg.redis, log, metrics);
  int rc = exit_failure;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        co_await async_start_redis(*redis);
        if (!redis->connected()) {
          std::fprintf(stderr, "herald %s: Redis unavailable: %s\n", command.c_str(), redis->last_error().c_str());
        } else {
          rc = co_await body(redis);
        }
        std::fflush(stdout);
        redis->stop();
      },
      [&](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            std::fprintf(stderr, "herald %s: %s\n", command.c_str(), ex.what());
          }
          rc = exit_failure;
          redis->stop();
        }
        ioc.stop();
      });
  ioc.run();
  return rc;
}

}  // namespace herald
