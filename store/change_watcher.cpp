#include "store/change_watcher.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <random>

#include "runtime/backoff.hpp"
#include "store/lua_script.hpp"
#include "store/redis_client.hpp"

namespace herald {

namespace asio = boost::asio;

struct change_watcher::state : std::enable_shared_from_this<state> {
  state(asio::any_io_executor ex, std::shared_ptr<redis_client> r, change_watcher_options o, std::function<void()> f)
      : strand(asio::make_strand(ex)), redis(std::move(r)), opts(std::move(o)), on_change(std::move(f)), pause_timer(strand) {}

  asio::strand<asio::any_io_executor> strand;
  std::shared_ptr<redis_client> redis;
  change_watcher_options opts;
  std::function<void()> on_change;
  asio::steady_timer pause_timer;
  bool stopped = false;
  unsigned failures = 0;
  std::mt19937 rng{std::random_device{}()};

  asio::awaitable<void> pause() {
    auto delay = reconnect_delay(opts.backoff_min, opts.backoff_max, failures++,
                                         std::uniform_real_distribution<double>(0, 1)(rng));
    pause_timer.expires_after(delay);
    co_await pause_timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    std::string last;  // empty: find the stream's end first
    while (!stopped) {
      if (!redis->connected()) {
        co_await pause();
        continue;
      }
      if (last.empty()) {
        auto cmd = redis_args("XREVRANGE", opts.stream, "+", "-", "COUNT", "1");
        auto [ec, reply] = co_await redis_command(*redis, std::move(cmd));
        if (ec || reply.type != redis_reply::kind::array) {
          co_await pause();
          continue;
        }
        last = reply.elements.empty() || reply.elements[0].elements.empty() ? "0-0" : reply.elements[0].elements[0].str;
        failures = 0;
        on_change();  // anything may have changed while we were not watching
      }
      auto cmd = redis_args("XREAD", "COUNT", "100", "BLOCK", std::to_string(opts.block.count()), "STREAMS", opts.stream, last);
      auto [ec, reply] = co_await redis_command(
          *redis, std::move(cmd));
      if (ec) {
        last.clear();
        co_await pause();
        continue;
      }
      failures = 0;
      if (reply.type != redis_reply::kind::array || reply.elements.empty()) continue;  // timeout
      const auto& stream = reply.elements[0];
      if (stream.elements.size() < 2 || stream.elements[1].elements.empty()) continue;
      last = stream.elements[1].elements.back().elements[0].str;
      on_change();
    }
  }
};

change_watcher::change_watcher(asio::any_io_executor ex, std::shared_ptr<redis_client> redis, change_watcher_options options,
                               std::function<void()> on_change)
    : state_(std::make_shared<state>(ex, std::move(redis), std::move(options), std::move(on_change))) {}

change_watcher::~change_watcher() { stop(); }

void change_watcher::start() {
  auto s = state_;
  asio::co_spawn(s->strand, s->run(), asio::detached);
}

void change_watcher::stop() {
  auto s = state_;
  asio::post(s->strand, [s] {
    s->stopped = true;
    s->pause_timer.cancel();
  });
}

}  // namespace herald
