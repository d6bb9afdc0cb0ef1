#include "daemon/commands.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>

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

}  // namespace herald
