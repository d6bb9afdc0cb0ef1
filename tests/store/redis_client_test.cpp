#include "store/redis_client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <atomic>
#include <memory>
#include <thread>

#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "tests/store/io_wait.hpp"
#include "tests/store/redis_fixture.hpp"
#include "tests/support/redis_server.hpp"

namespace herald {
namespace {

using namespace std::chrono_literals;
using boost::system::error_code;

struct outcome {
  int calls = 0;
  error_code ec;
  redis_reply reply;
  bool done() const { return calls > 0; }
};

class redis_client_test : public test::redis_server_fixture {
 protected:
  redis_client_test() { log_.set_level(log_level::debug); }

  redis_settings settings() const {
    redis_settings s = server_settings();
    s.connect_timeout = 1000ms;
    s.command_timeout = 2000ms;
    s.reconnect_min = 20ms;
    s.reconnect_max = 200ms;
    return s;
  }

  std::shared_ptr<redis_client> connect(redis_settings s) {
    auto c = redis_client::create(ioc_.get_executor(), std::move(s), log_, &metrics_);
    clients_.push_back(c);
    c->start();
    return c;
  }
  std::shared_ptr<redis_client> connect() {
    auto c = connect(settings());
    EXPECT_TRUE(run_until([&] { return c->connected(); })) << c->last_error();
    return c;
  }

  std::shared_ptr<outcome> exec(redis_client& c, std::vector<std::string> args) {
    auto o = std::make_shared<outcome>();
    c.exec(std::move(args), [o](error_code ec, redis_reply r) {
      ++o->calls;
      o->ec = ec;
      o->reply = std::move(r);
    });
    return o;
  }

  // exec and wait for the reply.
  outcome call(redis_client& c, std::vector<std::string> args) {
    auto o = exec(c, std::move(args));
    EXPECT_TRUE(run_until([&] { return o->done(); }));
    return *o;
  }

  template <typename Predicate>
  bool run_until(Predicate p, std::chrono::milliseconds limit = 5000ms) {
    return test::run_until(ioc_, p, limit);
  }

  double gauge_value(std::string_view name) { return metrics_.get_gauge(name, "").value(); }
  std::uint64_t counter_value(std::string_view name, const label_set& labels = {}) {
    return metrics_.get_counter(name, "", labels).value();
  }

  void TearDown() override {
    for (auto& c : clients_) c->stop();
    test::drain(ioc_);
    clients_.clear();
    test::drain(ioc_);
  }

  metrics_registry metrics_;
  std::vector<std::shared_ptr<redis_client>> clients_;
};

TEST_F(redis_client_test, error_category_names_every_value) {
  for (int v = 1; v <= static_cast<int>(redis_error::unavailable); ++v) {
    error_code ec = make_error_code(static_cast<redis_error>(v));
    EXPECT_EQ(ec.category().name(), std::string("herald.redis"));
    EXPECT_NE(ec.message(), "unknown Redis client error") << v;
  }
  error_code ec = redis_error::timeout;  // is_error_code_enum
  EXPECT_EQ(ec, redis_error::timeout);
}

TEST_F(redis_client_test, replies_of_every_kind) {
  auto c = connect();
  EXPECT_TRUE(c->last_error().empty());

  auto set = call(*c, {"SET", "k", std::string("v\0x", 3)});
  EXPECT_FALSE(set.ec);
  EXPECT_EQ(set.reply.type, redis_reply::kind::status);
  EXPECT_EQ(set.reply.str, "OK");

  auto get = call(*c, {"GET", "k"});
  EXPECT_FALSE(get.ec);
  EXPECT_EQ(get.reply.type, redis_reply::kind::string);
  EXPECT_EQ(get.reply.str, std::string("v\0x", 3));  // binary safe

  auto missing = call(*c, {"GET", "missing"});
  EXPECT_FALSE(missing.ec);
  EXPECT_EQ(missing.reply.type, redis_reply::kind::nil);

  auto incr = call(*c, {"INCRBY", "n", "41"});
  EXPECT_EQ(incr.reply.type, redis_reply::kind::integer);
  EXPECT_EQ(incr.reply.integer, 41);

  call(*c, {"RPUSH", "l", "a", "b"});
  auto range = call(*c, {"LRANGE", "l", "0", "-1"});
  ASSERT_EQ(range.reply.type, redis_reply::kind::array);
  ASSERT_EQ(range.reply.elements.size(), 2u);
  EXPECT_EQ(range.reply.elements[0].str, "a");
  EXPECT_EQ(range.reply.elements[1].str, "b");

  EXPECT_EQ(server_.cli("GET n"), "41\n");
}

TEST_F(redis_client_test, async_exec_with_coroutines) {
  auto c = connect();
  bool done = false;
  std::string pong;
  error_code err;
  boost::asio::co_spawn(
      ioc_,
      [&]() -> boost::asio::awaitable<void> {
        std::vector<std::string> ping{"PING"};  // GCC 12: no braced lists inside co_await
        auto [ec, reply] = co_await c->async_exec(std::move(ping), boost::asio::as_tuple(boost::asio::use_awaitable));
        err = ec;
        pong = reply.str;
        done = true;
      },
      boost::asio::detached);
  ASSERT_TRUE(run_until([&] { return done; }));
  EXPECT_FALSE(err);
  EXPECT_EQ(pong, "PONG");
}

TEST_F(redis_client_test, pipelines_ten_thousand_commands) {
  auto c = connect();
  constexpr int n = 10'000;
  std::vector<std::int64_t> got;
  got.reserve(n);
  int calls = 0, errors = 0;
  // All sent without waiting for any reply.
  for (int i = 0; i < n; ++i)
    c->exec({"INCR", "counter"}, [&](error_code ec, redis_reply r) {
      ++calls;
      if (ec) ++errors;
      else got.push_back(r.integer);
    });
  ASSERT_TRUE(run_until([&] { return calls == n; }, 30'000ms)) << calls;
  EXPECT_EQ(errors, 0);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) ASSERT_EQ(got[static_cast<std::size_t>(i)], i + 1) << "replies out of order";
  EXPECT_EQ(server_.cli("GET counter"), "10000\n");
  EXPECT_EQ(gauge_value("herald_redis_pending_commands"), 0);
}

TEST_F(redis_client_test, error_reply_is_server_error_with_message) {
  auto c = connect();
  auto r = call(*c, {"NOSUCHCOMMAND", "x"});
  EXPECT_EQ(r.ec, redis_error::server_error);
  EXPECT_EQ(r.reply.type, redis_reply::kind::error);
  EXPECT_TRUE(r.reply.str.starts_with("ERR")) << r.reply.str;

  call(*c, {"SET", "s", "v"});
  auto wrong = call(*c, {"LPUSH", "s", "x"});
  EXPECT_EQ(wrong.ec, redis_error::server_error);
  EXPECT_TRUE(wrong.reply.str.starts_with("WRONGTYPE")) << wrong.reply.str;
  EXPECT_EQ(counter_value("herald_redis_command_errors_total", {{"reason", "server_error"}}), 2u);

  // The connection is still usable.
  EXPECT_EQ(call(*c, {"PING"}).reply.str, "PONG");
}

TEST_F(redis_client_test, refuses_pubsub_and_empty_commands) {
  auto c = connect();
  EXPECT_EQ(call(*c, {"subscribe", "news"}).ec, boost::system::errc::operation_not_supported);
  EXPECT_EQ(call(*c, {"MONITOR"}).ec, boost::system::errc::operation_not_supported);
  EXPECT_EQ(call(*c, {}).ec, boost::system::errc::invalid_argument);
  EXPECT_EQ(call(*c, {"PING"}).reply.str, "PONG");
  EXPECT_EQ(gauge_value("herald_redis_pending_commands"), 0);
  EXPECT_EQ(gauge_value("herald_redis_max_pending_commands"), 100'000);
}

TEST_F(redis_client_test, not_connected_before_start) {
  auto c = redis_client::create(ioc_.get_executor(), settings(), log_, &metrics_);
  EXPECT_FALSE(c->connected());
  EXPECT_FALSE(c->last_error().empty());
  auto r = call(*c, {"PING"});
  EXPECT_EQ(r.ec, redis_error::not_connected);
}

TEST_F(redis_client_test, fails_fast_while_redis_is_down) {
  auto c = connect();
  server_.stop();
  ASSERT_TRUE(run_until([&] { return !c->connected(); }));
  EXPECT_FALSE(c->last_error().empty());
  EXPECT_EQ(gauge_value("herald_redis_connected"), 0);

  for (int i = 0; i < 3; ++i) {  // also while reconnect attempts are failing
    const auto t0 = std::chrono::steady_clock::now();
    auto r = exec(*c, {"PING"});
    ASSERT_TRUE(run_until([&] { return r->done(); }, 1000ms));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);  // no waiting for a connect or timeout
    EXPECT_EQ(r->ec, redis_error::not_connected);
    EXPECT_EQ(r->calls, 1);
    run_until([] { return false; }, 100ms);
  }
  EXPECT_GE(counter_value("herald_redis_command_errors_total", {{"reason", "not_connected"}}), 3u);
}

TEST_F(redis_client_test, reconnects_after_redis_restart) {
  auto c = connect();
  EXPECT_EQ(gauge_value("herald_redis_connected"), 1);
  auto blocked = exec(*c, {"BLPOP", "nothing", "10"});  // in flight when Redis dies
  run_until([] { return false; }, 50ms);

  server_.stop();
  ASSERT_TRUE(run_until([&] { return blocked->done(); }));
  EXPECT_EQ(blocked->ec, redis_error::connection_lost);
  ASSERT_TRUE(run_until([&] { return !c->connected(); }));

  // Let a few reconnect attempts fail first.
  ASSERT_TRUE(run_until([&] { return counter_value("herald_redis_reconnects_total") >= 2; }));
  server_.start();
  ASSERT_TRUE(run_until([&] { return c->connected(); }, 10'000ms)) << c->last_error();
  EXPECT_TRUE(c->last_error().empty());
  EXPECT_EQ(gauge_value("herald_redis_connected"), 1);

  auto r = call(*c, {"SET", "after", "restart"});
  EXPECT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(server_.cli("GET after"), "restart\n");
  EXPECT_EQ(blocked->calls, 1);
}

TEST_F(redis_client_test, command_timeout_resets_the_connection) {
  auto s = settings();
  s.command_timeout = 200ms;
  auto c = connect(s);
  ASSERT_TRUE(run_until([&] { return c->connected(); }));

  const auto t0 = std::chrono::steady_clock::now();
  auto slow = exec(*c, {"BLPOP", "empty", "2"});  // the server holds the reply for 2 s
  auto behind = exec(*c, {"PING"});               // pipelined behind it
  ASSERT_TRUE(run_until([&] { return slow->done() && behind->done(); }, 3000ms));
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(slow->ec, redis_error::timeout);
  EXPECT_TRUE(behind->ec == redis_error::timeout || behind->ec == redis_error::connection_lost) << behind->ec.message();
  EXPECT_GE(elapsed, 190ms);
  EXPECT_LT(elapsed, 1000ms);
  EXPECT_GE(counter_value("herald_redis_command_errors_total", {{"reason", "timeout"}}), 1u);
  EXPECT_EQ(gauge_value("herald_redis_pending_commands"), 0);

  // It reconnects by itself and works again.
  ASSERT_TRUE(run_until([&] { return c->connected(); }, 5000ms)) << c->last_error();
  EXPECT_EQ(call(*c, {"PING"}).reply.str, "PONG");
  EXPECT_EQ(slow->calls, 1);
  EXPECT_EQ(behind->calls, 1);
}

TEST_F(redis_client_test, stop_completes_pending_commands_once) {
  auto c = connect();
  std::vector<std::shared_ptr<outcome>> pending;
  for (int i = 0; i < 3; ++i) pending.push_back(exec(*c, {"BLPOP", "nothing", "5"}));
  pending.push_back(exec(*c, {"PING"}));
  run_until([] { return false; }, 50ms);  // sent, not answered
  c->stop();
  ASSERT_TRUE(run_until([&] {
    for (auto& p : pending)
      if (!p->done()) return false;
    return true;
  }, 1000ms));
  for (auto& p : pending) EXPECT_EQ(p->ec, redis_error::stopped);
  EXPECT_FALSE(c->connected());
  EXPECT_EQ(gauge_value("herald_redis_pending_commands"), 0);
  EXPECT_EQ(counter_value("herald_redis_command_errors_total", {{"reason", "stopped"}}), 4u);
  EXPECT_EQ(gauge_value("herald_redis_connected"), 0);

  auto after = call(*c, {"PING"});
  EXPECT_EQ(after.ec, redis_error::not_connected);

  test::drain(ioc_);  // nothing else runs, no handler twice, no reconnect
  for (auto& p : pending) EXPECT_EQ(p->calls, 1);
  EXPECT_FALSE(c->connected());

  // start() again after stop().
  c->start();
  ASSERT_TRUE(run_until([&] { return c->connected(); }));
  EXPECT_EQ(call(*c, {"PING"}).reply.str, "PONG");
}

TEST_F(redis_client_test, destroying_the_client_completes_pending_commands) {
  auto c = redis_client::create(ioc_.get_executor(), settings(), log_, &metrics_);
  c->start();
  ASSERT_TRUE(run_until([&] { return c->connected(); }));
  auto blocked = exec(*c, {"BLPOP", "nothing", "5"});
  run_until([] { return false; }, 50ms);
  c.reset();
  ASSERT_TRUE(run_until([&] { return blocked->done(); }, 1000ms));
  EXPECT_EQ(blocked->ec, redis_error::stopped);
  test::drain(ioc_);
  EXPECT_EQ(blocked->calls, 1);
}

TEST_F(redis_client_test, max_pending_bound_answers_busy) {
  auto s = settings();
  s.max_pending = 5;
  auto c = connect(s);
  ASSERT_TRUE(run_until([&] { return c->connected(); }));
  constexpr int n = 50;
  int calls = 0, ok = 0, busy = 0;
  for (int i = 0; i < n; ++i)
    c->exec({"INCR", "x"}, [&](error_code ec, redis_reply) {
      ++calls;
      if (!ec) ++ok;
      else if (ec == redis_error::busy) ++busy;
    });
  ASSERT_TRUE(run_until([&] { return calls == n; }));
  EXPECT_EQ(ok + busy, n);
  EXPECT_GE(ok, 5);
  EXPECT_GT(busy, 0);
  EXPECT_EQ(server_.cli("GET x"), std::to_string(ok) + "\n");
  test::drain(ioc_, 100ms);
  EXPECT_EQ(calls, n);
}

TEST_F(redis_client_test, connect_timeout_when_the_server_never_answers) {
  // Accepts TCP (kernel backlog) but never speaks RESP.
  boost::asio::ip::tcp::acceptor mute(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0});
  auto s = settings();
  s.port = mute.local_endpoint().port();
  s.connect_timeout = 200ms;
  s.reconnect_min = 50ms;
  auto c = connect(s);
  ASSERT_TRUE(run_until([&] { return c->last_error().find("connect timeout") != std::string::npos; }, 3000ms))
      << c->last_error();
  EXPECT_FALSE(c->connected());
  EXPECT_EQ(call(*c, {"PING"}).ec, redis_error::not_connected);
  EXPECT_GE(counter_value("herald_redis_reconnects_total"), 1u);
}

TEST_F(redis_client_test, auth_with_password_and_acl_user) {
  server_.cli("ACL SETUSER herald on '>userpw' '~*' '+@all'");
  server_.cli("CONFIG SET requirepass s3cret");

  auto wrong = settings();
  wrong.password = "wrong";
  auto bad = connect(wrong);
  ASSERT_TRUE(run_until([&] { return bad->last_error().find("handshake failed") != std::string::npos; }))
      << bad->last_error();
  EXPECT_FALSE(bad->connected());
  bad->stop();

  auto right = settings();
  right.password = "s3cret";
  auto c = connect(right);
  ASSERT_TRUE(run_until([&] { return c->connected(); })) << c->last_error();
  EXPECT_EQ(call(*c, {"ACL", "WHOAMI"}).reply.str, "default");

  auto user = settings();
  user.username = "herald";
  user.password = "userpw";
  auto u = connect(user);
  ASSERT_TRUE(run_until([&] { return u->connected(); })) << u->last_error();
  EXPECT_EQ(call(*u, {"ACL", "WHOAMI"}).reply.str, "herald");
}

TEST_F(redis_client_test, resolves_host_names) {
  auto s = settings();
  s.host = "localhost";  // may resolve to ::1 first; Redis listens on 127.0.0.1
  auto c = connect(s);
  ASSERT_TRUE(run_until([&] { return c->connected(); })) << c->last_error();
  EXPECT_EQ(call(*c, {"PING"}).reply.str, "PONG");
}

TEST_F(redis_client_test, selects_the_configured_database) {
  auto s = settings();
  s.db = 3;
  auto c = connect(s);
  ASSERT_TRUE(run_until([&] { return c->connected(); })) << c->last_error();
  EXPECT_FALSE(call(*c, {"SET", "in3", "yes"}).ec);
  EXPECT_EQ(server_.cli("-n 3 GET in3"), "yes\n");
  EXPECT_EQ(server_.cli("-n 0 EXISTS in3"), "0\n");
}

TEST_F(redis_client_test, works_from_another_thread) {
  auto c = connect();
  std::atomic<int> calls{0};
  std::thread t([&] {
    for (int i = 0; i < 100; ++i) c->exec({"INCR", "threads"}, [&](error_code ec, redis_reply) {
        if (!ec) ++calls;
      });
  });
  t.join();
  ASSERT_TRUE(run_until([&] { return calls.load() == 100; }));
  EXPECT_EQ(server_.cli("GET threads"), "100\n");
}

}  // namespace
}  // namespace herald
