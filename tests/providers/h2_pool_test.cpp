// Unit tests of h2_pool with scripted connections handed in through its
// factory: reconnect backoff after failed connects, no new requests to a
// connection that got a GOAWAY, load spread over N connections. No sockets;
// the fakes answer on an io_context, with timers of a few milliseconds at most.
#include "providers/detail/h2_pool.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace herald::detail {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using request_result = boost::system::result<http_response>;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// A connection that connects (or fails to) after the pool's delay and
// answers 200 with its id; requests can be held in flight to build load.
class fake_connection final : public h2_connection, public std::enable_shared_from_this<fake_connection> {
 public:
  fake_connection(asio::io_context& io, std::uint64_t id, close_handler on_close, bool connect_ok)
      : id_(id), on_close_(std::move(on_close)), connect_ok_(connect_ok), connect_timer_(io), ready_(io), release_(io) {
    ready_.expires_at(asio::steady_timer::time_point::max());
    release_.expires_at(asio::steady_timer::time_point::max());
  }

  void start(std::chrono::milliseconds delay) override {
    start_delay = delay;
    connect_timer_.expires_after(delay);
    connect_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->connected();
    });
  }

  asio::awaitable<request_result> async_request(const http_request&, std::chrono::milliseconds) override {
    auto self = shared_from_this();
    if (state_ == state::closed || state_ == state::draining) co_return provider_error::not_sent;
    ++requests;
    ++waiting_;
    if (state_ == state::connecting) co_await ready_.async_wait(use_tuple);
    if (state_ == state::open && hold) co_await release_.async_wait(use_tuple);
    --waiting_;
    if (state_ == state::connecting || state_ == state::closed) co_return provider_error::connect_failed;
    http_response r;
    r.status = 200;
    r.connection_id = id_;
    co_return r;
  }

  void retire() override {
    retired = true;
    if (state_ != state::closed) state_ = state::draining;
  }
  void close() override { finish(state_ == state::open || state_ == state::draining); }

  state current_state() const override { return state_; }
  bool accepting() const override { return state_ == state::connecting || state_ == state::open; }
  std::size_t load() const override { return waiting_ + extra_load; }
  std::uint64_t id() const override { return id_; }
  std::uint32_t max_concurrent_streams() const override { return 100; }

  // The server's GOAWAY: no new streams, the ones in flight still answered.
  void goaway() { state_ = state::draining; }
  // The connection drops after it was open.
  void drop() { finish(true); }
  void release_held() {
    hold = false;
    release_.cancel();
  }

  std::chrono::milliseconds start_delay{-1};
  int requests = 0;
  bool hold = false;
  bool retired = false;
  std::size_t extra_load = 0;

 private:
  void connected() {
    if (state_ != state::connecting) return;
    if (connect_ok_) {
      state_ = state::open;
      ready_.cancel();
    } else {
      finish(false);
    }
  }
  void finish(bool was_open) {
    if (state_ == state::closed) return;
    state_ = state::closed;
    ready_.cancel();
    release_.cancel();
    connect_timer_.cancel();
    if (auto handler = std::move(on_close_)) handler(id_, was_open);
  }

  std::uint64_t id_;
  close_handler on_close_;
  bool connect_ok_;
  state state_ = state::connecting;
  std::size_t waiting_ = 0;
  asio::steady_timer connect_timer_;
  asio::steady_timer ready_;
  asio::steady_timer release_;
};

struct fixture {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(io);
  std::vector<std::shared_ptr<fake_connection>> made;
  std::vector<bool> connect_script;  // connection n connects? (true once the script is used up)
  http_request request;

  h2_connection_factory factory() {
    return [this](std::uint64_t id, h2_connection::close_handler on_close) -> std::shared_ptr<h2_connection> {
      bool ok = made.size() < connect_script.size() ? connect_script[made.size()] : true;
      auto c = std::make_shared<fake_connection>(io, id, std::move(on_close), ok);
      made.push_back(c);
      return c;
    };
  }

  // Runs the io_context until `done` holds (bounded: gives up after 5 s).
  void run_until(const std::function<bool()>& done) {
    auto limit = std::chrono::steady_clock::now() + 5s;
    while (!done() && std::chrono::steady_clock::now() < limit) io.run_one_for(50ms);
  }
};

asio::awaitable<void> send(h2_pool* pool, const http_request* request, std::optional<request_result>* out) {
  auto r = co_await pool->async_request(*request, 1s);
  out->emplace(std::move(r));
}

// One request through the pool, waited for.
request_result send_one(fixture& f, h2_pool& pool) {
  std::optional<request_result> result;
  asio::co_spawn(f.io, send(&pool, &f.request, &result), asio::detached);
  f.run_until([&] { return result.has_value(); });
  if (!result) return provider_error::response_timeout;
  return std::move(*result);
}

h2_pool_options options(int connections) {
  h2_pool_options o;
  o.connections = connections;
  o.reconnect_backoff = backoff_policy{4ms, 16ms};
  return o;
}

random_source fixed_random() {
  return [] { return 0.5; };
}

TEST(h2_pool, reconnects_with_backoff_after_failed_connects) {
  fixture f;
  f.connect_script = {false, false, true};
  auto opts = options(1);
  h2_pool pool(https_url{"push.example.test", 443, "/"}, f.factory(), opts, fixed_random());

  auto first = send_one(f, pool);
  ASSERT_TRUE(first.has_error());
  EXPECT_EQ(first.error(), make_error_code(provider_error::connect_failed));
  auto second = send_one(f, pool);
  ASSERT_TRUE(second.has_error());
  EXPECT_EQ(second.error(), make_error_code(provider_error::connect_failed));
  auto third = send_one(f, pool);
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->status, 200);

  ASSERT_EQ(f.made.size(), 3u);
  EXPECT_EQ(third->connection_id, f.made[2]->id());
  // No wait before the first attempt, then the policy's delays for retries 0 and 1.
  EXPECT_EQ(f.made[0]->start_delay, 0ms);
  EXPECT_EQ(f.made[1]->start_delay, opts.reconnect_backoff.delay(0, 0.5));
  EXPECT_EQ(f.made[2]->start_delay, opts.reconnect_backoff.delay(1, 0.5));
  EXPECT_GT(f.made[2]->start_delay, f.made[1]->start_delay);
  EXPECT_EQ(pool.open_connections(), 1u);

  // A connection that was open resets the count: the next one starts at once.
  f.made[2]->drop();
  auto fourth = send_one(f, pool);
  ASSERT_TRUE(fourth.has_value());
  ASSERT_EQ(f.made.size(), 4u);
  EXPECT_EQ(f.made[3]->start_delay, 0ms);
  EXPECT_EQ(fourth->connection_id, f.made[3]->id());
}

TEST(h2_pool, a_connection_that_got_goaway_gets_no_new_requests) {
  fixture f;
  h2_pool pool(https_url{"push.example.test", 443, "/"}, f.factory(), options(1), fixed_random());
  auto first = send_one(f, pool);
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(f.made.size(), 1u);
  auto old = f.made[0];

  // One request in flight on it when the GOAWAY comes.
  old->hold = true;
  std::optional<request_result> in_flight;
  asio::co_spawn(f.io, send(&pool, &f.request, &in_flight), asio::detached);
  f.run_until([&] { return old->load() == 1; });
  ASSERT_EQ(old->load(), 1u);
  old->goaway();

  auto next = send_one(f, pool);
  ASSERT_TRUE(next.has_value());
  ASSERT_EQ(f.made.size(), 2u);
  EXPECT_EQ(next->connection_id, f.made[1]->id());
  EXPECT_EQ(old->requests, 2);  // nothing more after the GOAWAY

  old->release_held();  // the stream below the GOAWAY's last id is still answered
  f.run_until([&] { return in_flight.has_value(); });
  ASSERT_TRUE(in_flight && in_flight->has_value());
  EXPECT_EQ((*in_flight)->connection_id, old->id());

  // Retiring by id (a provider saw a bad connection) works the same way.
  pool.retire(f.made[1]->id());
  EXPECT_TRUE(f.made[1]->retired);
  auto after = send_one(f, pool);
  ASSERT_TRUE(after.has_value());
  ASSERT_EQ(f.made.size(), 3u);
  EXPECT_EQ(after->connection_id, f.made[2]->id());
}

TEST(h2_pool, spreads_requests_by_load_over_its_connections) {
  fixture f;
  h2_pool pool(https_url{"push.example.test", 443, "/"}, f.factory(), options(3), fixed_random());
  ASSERT_TRUE(send_one(f, pool).has_value());  // opens all three
  ASSERT_EQ(f.made.size(), 3u);
  f.run_until([&] { return pool.open_connections() == 3; });
  ASSERT_EQ(pool.open_connections(), 3u);

  for (auto& c : f.made) c->hold = true;
  std::vector<std::optional<request_result>> results(6);
  for (auto& r : results) {
    asio::co_spawn(f.io, send(&pool, &f.request, &r), asio::detached);
    f.io.poll();  // each request is placed before the next is chosen
  }
  f.run_until([&] { return f.made[0]->load() + f.made[1]->load() + f.made[2]->load() == 6; });
  for (auto& c : f.made) EXPECT_EQ(c->load(), 2u) << "connection " << c->id();
  for (auto& c : f.made) c->release_held();
  f.run_until([&] { return std::all_of(results.begin(), results.end(), [](auto& r) { return r.has_value(); }); });
  for (auto& r : results) ASSERT_TRUE(r && r->has_value());

  // The least loaded one takes the next request.
  f.made[0]->extra_load = 5;
  f.made[1]->extra_load = 0;
  f.made[2]->extra_load = 3;
  for (int i = 0; i < 3; ++i) {
    auto r = send_one(f, pool);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->connection_id, f.made[1]->id());
  }
  EXPECT_EQ(f.made.size(), 3u);  // no new connection while all are open
}

TEST(h2_pool, after_shutdown_requests_fail_and_connections_are_closed) {
  fixture f;
  h2_pool pool(https_url{"push.example.test", 443, "/"}, f.factory(), options(2), fixed_random());
  ASSERT_TRUE(send_one(f, pool).has_value());
  pool.shutdown();
  for (auto& c : f.made) EXPECT_EQ(c->current_state(), h2_connection::state::closed);
  auto r = send_one(f, pool);
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error(), make_error_code(provider_error::shut_down));
}

}  // namespace
}  // namespace herald::detail
