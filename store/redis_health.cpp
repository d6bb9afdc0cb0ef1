#include "store/redis_health.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>

#include "store/redis_client.hpp"

namespace herald {

namespace asio = boost::asio;

namespace {

struct probe_state {
  explicit probe_state(asio::any_io_executor ex) : timer(ex) {}
  asio::steady_timer timer;  // expires at the deadline, cancelled when both answers are in
  int answers = 0;
  boost::system::error_code role_ec, reset_ec;
  redis_reply role, reset;
};

}  // namespace

asio::awaitable<redis_health> check_redis_health(redis_client& redis, std::string key_prefix,
                                                 std::chrono::milliseconds deadline) {
  if (!redis.connected()) {
    auto why = redis.last_error();
    co_return redis_health{false, why.empty() ? "not connected" : why};
  }
  auto ex = co_await asio::this_coro::executor;
  auto st = std::make_shared<probe_state>(ex);
  st->timer.expires_after(deadline);
  auto on_answer = [ex, st](bool role) {
    return [ex, st, role](boost::system::error_code ec, redis_reply r) {
      asio::post(ex, [st, role, ec, r = std::move(r)]() mutable {
        (role ? st->role_ec : st->reset_ec) = ec;
        (role ? st->role : st->reset) = std::move(r);
        if (++st->answers == 2) st->timer.cancel();
      });
    };
  };
  redis.exec({"ROLE"}, on_answer(true));
  redis.exec({"GET", dataset_keys::for_prefix(key_prefix).reset}, on_answer(false));
  co_await st->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (st->answers < 2) co_return redis_health{false, "no reply within " + std::to_string(deadline.count()) + " ms"};
  if (st->role_ec) co_return redis_health{false, st->role.str.empty() ? st->role_ec.message() : st->role.str};
  const auto& r = st->role;
  const std::string role = r.type == redis_reply::kind::array && !r.elements.empty() ? r.elements[0].str : "";
  if (role != "master") co_return redis_health{false, "the node is not a master (role " + role + ")"};
  if (st->reset_ec) co_return redis_health{false, st->reset.str.empty() ? st->reset_ec.message() : st->reset.str};
  if (st->reset.type == redis_reply::kind::string) co_return redis_health{false, "dataset reset"};
  co_return redis_health{true, {}};
}

}  // namespace herald
