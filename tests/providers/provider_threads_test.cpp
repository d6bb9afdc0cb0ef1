// providers.threads: the router's own io_context and threads, the APNs and
// FCM adapters split into shards on strands there, against the validating
// mock servers (real TLS, HTTP/2 on loopback). Checked: a burst over 4
// connections is delivered, sends of two shards really run at the same time
// on two threads (none on the caller's), one provider token / one access
// token for all shards, shutdown with requests in flight ends every send,
// and threads = 1 keeps everything on the caller's executor.
#include "providers/provider.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>

#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "providers/detail/shards.hpp"
#include "tests/mocks/mock_push_server.hpp"
#include "tests/providers/provider_fixture.hpp"

namespace herald {
namespace {

using namespace std::chrono_literals;
using outcome = delivery_result::outcome;

// Records where the adapters run (on_sent is called on the shard's strand)
// and counts token refreshes. With `rendezvous`, the first on_sent waits (at
// most 10 s) until an on_sent runs on another thread at the same time: only
// possible when two shards really run in parallel.
class thread_probe final : public provider_metrics_listener {
 public:
  explicit thread_probe(bool rendezvous) : waiting_(rendezvous) {}

  void on_sent(std::string_view, std::string_view) override {
    std::unique_lock lock(mutex_);
    const auto me = std::this_thread::get_id();
    sent_on_.insert(me);
    ++sent_;
    if (!waiting_) return;
    if (!first_) {
      first_ = me;
      met_ = cv_.wait_for(lock, 10s, [this] { return !waiting_; });
      waiting_ = false;
      return;
    }
    if (*first_ != me) {
      waiting_ = false;
      met_ = true;
      cv_.notify_all();
    }
  }
  void on_token_refresh(std::string_view, std::string_view provider) override {
    std::lock_guard lock(mutex_);
    ++refreshes_[std::string(provider)];
  }

  std::set<std::thread::id> sent_on() const {
    std::lock_guard lock(mutex_);
    return sent_on_;
  }
  bool met() const {
    std::lock_guard lock(mutex_);
    return met_;
  }
  int refreshes(const std::string& provider) const {
    std::lock_guard lock(mutex_);
    auto it = refreshes_.find(provider);
    return it == refreshes_.end() ? 0 : it->second;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool waiting_;
  bool met_ = false;
  std::optional<std::thread::id> first_;
  std::set<std::thread::id> sent_on_;
  std::map<std::string, int> refreshes_;
  int sent_ = 0;
};

boost::asio::awaitable<delivery_result> send_one(provider_router* r, device_info d, notification n) {
  co_return co_await r->async_send("pocket", d, n);
}

class provider_threads_test : public ::testing::Test {
 protected:
  // Each test its own PKI: the FCM mock rewrites the service account's token_uri.
  test::test_pki pki = test::test_pki::generate();
  test::mock_apns_server apns{pki};
  test::mock_fcm_server fcm{pki};
  test::io_thread caller;  // the caller's side (the broker's strand in the daemon)

  ~provider_threads_test() override {
    caller.stop();
    apns.stop();
    fcm.stop();
    pki.remove_files();
  }

  app_settings app(int connections) {
    app_settings a;
    a.id = "pocket";
    auto s = test::apns_settings_for(pki, apns.endpoint());
    s.connections = connections;
    s.response_timeout = 20s;
    a.apns = s;
    auto f = test::fcm_settings_for(pki, fcm.endpoint());
    f.connections = connections;
    f.response_timeout = 20s;
    a.fcm = f;
    return a;
  }
  provider_options options(int threads, std::shared_ptr<thread_probe> probe) {
    provider_options o;
    o.threads = threads;
    o.metrics = std::move(probe);
    o.random = make_random_source(11);
    return o;
  }

  static device_info apple(int i) {
    return test::make_device("ios-" + std::to_string(i), test::hex_token(i, 0xfed000), notification_platform::apple);
  }
  static device_info google(int i) {
    return test::make_device("android-" + std::to_string(i), "fcm-token-" + std::to_string(i),
                             notification_platform::google);
  }
  static notification note(int i) { return test::meeting_note("msg-7/dev-" + std::to_string(i)); }

  // Starts every send on the caller's io_context at once.
  std::vector<std::future<delivery_result>> start_all(provider_router& r, const std::vector<device_info>& ds) {
    std::vector<std::future<delivery_result>> futures;
    for (std::size_t i = 0; i < ds.size(); ++i)
      futures.push_back(boost::asio::co_spawn(caller.io, send_one(&r, ds[i], note(static_cast<int>(i))),
                                              boost::asio::use_future));
    return futures;
  }
  static std::vector<delivery_result> results(std::vector<std::future<delivery_result>>& futures) {
    return test::wait_all(futures);
  }
  static std::set<std::uint64_t> connections_of(const std::vector<test::recorded_request>& requests) {
    std::set<std::uint64_t> ids;
    for (const auto& r : requests) ids.insert(r.connection_id);
    return ids;
  }
};

TEST(provider_shards, connections_are_split_evenly_and_shards_bounded_by_threads) {
  EXPECT_EQ(detail::split_connections(4, 2), (std::vector<int>{2, 2}));
  EXPECT_EQ(detail::split_connections(5, 3), (std::vector<int>{2, 2, 1}));
  EXPECT_EQ(detail::split_connections(1, 1), (std::vector<int>{1}));
  boost::asio::io_context ioc;
  provider_options o;
  o.threads = 2;
  EXPECT_EQ(detail::shard_count(4, o), 0);  // no shard_executors: not sharded
  o.shard_executors.assign(2, ioc.get_executor());
  EXPECT_EQ(detail::shard_count(4, o), 2);
  EXPECT_EQ(detail::shard_count(1, o), 1);  // one connection: one shard, still on the providers' threads
  o.shard_executors.assign(8, ioc.get_executor());
  EXPECT_EQ(detail::shard_count(4, o), 4);
}

TEST_F(provider_threads_test, burst_over_four_connections_on_two_threads_with_one_token) {
  auto probe = std::make_shared<thread_probe>(true);
  provider_router router(caller.io.get_executor(), {app(4)}, options(2, probe));
  for (const auto& [name, state] : router.states()) EXPECT_TRUE(state.ready) << name << ": " << state.error;

  std::vector<device_info> ds;
  for (int i = 0; i < 200; ++i) ds.push_back(i % 2 ? google(i) : apple(i));
  auto futures = start_all(router, ds);
  auto rs = results(futures);
  for (std::size_t i = 0; i < rs.size(); ++i) EXPECT_EQ(rs[i].kind, outcome::delivered) << i << ": " << rs[i].reason;

  // Two shards' sends ran at the same time on two threads, none on the caller's.
  EXPECT_TRUE(probe->met()) << "no two sends ran in parallel";
  const auto threads = probe->sent_on();
  EXPECT_EQ(threads.size(), 2u);
  EXPECT_EQ(threads.count(caller.thread_id), 0u);

  // 4 connections per provider (2 shards x 2), and both shards sent. Which
  // connections of a shard carried requests depends on which finished its
  // handshake first (a pool sends over a ready connection rather than wait),
  // so at least one per shard, not all four.
  EXPECT_EQ(apns.request_count(), 100u);
  EXPECT_EQ(apns.connection_count(), 4u);
  EXPECT_GE(connections_of(apns.requests()).size(), 2u);
  EXPECT_EQ(fcm.request_count(), 100u);
  EXPECT_GE(connections_of(fcm.requests()).size(), 2u);
  EXPECT_TRUE(apns.tokens_delivered_twice().empty());
  EXPECT_TRUE(fcm.tokens_delivered_twice().empty());

  // One provider token for all shards and connections; one access token.
  EXPECT_EQ(probe->refreshes("apns"), 1);
  std::set<std::string> bearers;
  for (const auto& r : apns.requests()) bearers.insert(r.header("authorization"));
  EXPECT_EQ(bearers.size(), 1u);
  EXPECT_EQ(fcm.tokens_issued(), 1u);
  EXPECT_EQ(probe->refreshes("fcm"), 1);
}

TEST_F(provider_threads_test, expired_access_token_is_exchanged_once_for_all_shards) {
  auto probe = std::make_shared<thread_probe>(false);
  provider_router router(caller.io.get_executor(), {app(4)}, options(2, probe));
  std::vector<device_info> ds;
  for (int i = 0; i < 40; ++i) ds.push_back(google(i));
  auto first = start_all(router, ds);
  for (const auto& r : results(first)) EXPECT_EQ(r.kind, outcome::delivered) << r.reason;
  ASSERT_EQ(fcm.tokens_issued(), 1u);

  fcm.expire_access_tokens();  // every shard's next send gets 401: one refresh between them
  std::vector<device_info> more;
  for (int i = 40; i < 120; ++i) more.push_back(google(i));
  auto second = start_all(router, more);
  for (const auto& r : results(second)) EXPECT_EQ(r.kind, outcome::delivered) << r.reason;
  EXPECT_EQ(fcm.tokens_issued(), 2u);
  EXPECT_GE(connections_of(fcm.requests()).size(), 2u);  // both shards (which connections: handshake order)
}

TEST_F(provider_threads_test, shutdown_with_requests_in_flight_ends_every_send) {
  auto probe = std::make_shared<thread_probe>(false);
  auto router = std::make_unique<provider_router>(caller.io.get_executor(), std::vector<app_settings>{app(4)},
                                                  options(2, probe));
  // Warm up first: the access token fetched, the connections open.
  std::vector<device_info> warm;
  for (int i = 0; i < 16; ++i) warm.push_back(i % 2 ? google(1000 + i) : apple(1000 + i));
  auto warmed = start_all(*router, warm);
  for (const auto& r : results(warmed)) ASSERT_EQ(r.kind, outcome::delivered) << r.reason;
  apns.clear_requests();
  fcm.clear_requests();

  apns.set_response_delay(60s);  // answered only after the test ends: the sends are in flight
  fcm.set_response_delay(60s);
  std::vector<device_info> ds;
  for (int i = 0; i < 60; ++i) ds.push_back(i % 2 ? google(i) : apple(i));
  auto futures = start_all(*router, ds);
  // APNs allows one stream per connection until an answer arrived there: at
  // least one request in flight on each of the 4 connections.
  ASSERT_TRUE(apns.wait_for_requests(4, 20s));
  ASSERT_TRUE(fcm.wait_for_requests(30, 20s));

  router->shutdown();
  for (const auto& r : results(futures)) {
    EXPECT_EQ(r.kind, outcome::retry_after) << r.reason;
    EXPECT_TRUE(r.reason == "Shutdown" || r.reason == "ConnectionLost") << r.reason;
  }
  router.reset();  // joins the providers' threads; nothing left running
}

TEST_F(provider_threads_test, one_thread_keeps_the_providers_on_the_callers_executor) {
  auto probe = std::make_shared<thread_probe>(false);
  provider_router router(caller.io.get_executor(), {app(4)}, options(1, probe));
  std::vector<device_info> ds;
  for (int i = 0; i < 40; ++i) ds.push_back(i % 2 ? google(i) : apple(i));
  auto futures = start_all(router, ds);
  for (const auto& r : results(futures)) EXPECT_EQ(r.kind, outcome::delivered) << r.reason;
  EXPECT_EQ(probe->sent_on(), std::set<std::thread::id>{caller.thread_id});
  EXPECT_EQ(fcm.tokens_issued(), 1u);
  EXPECT_EQ(probe->refreshes("apns"), 1);
}

}  // namespace
}  // namespace herald
