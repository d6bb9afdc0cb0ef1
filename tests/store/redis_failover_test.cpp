// The client through failovers, against real redis-server processes on
// loopback: a master demoted under it (READONLY), a replica refused at the
// handshake, a dataset reset detected, and Sentinel discovery and failover.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <thread>

#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "store/redis_client.hpp"
#include "store/redis_health.hpp"
#include "tests/store/io_wait.hpp"
#include "tests/support/redis_server.hpp"

namespace herald {
namespace {

using namespace std::chrono_literals;
using boost::system::error_code;

struct outcome {
  int calls = 0;
  error_code ec;
  redis_reply reply;
};

class redis_failover_test : public ::testing::Test {
 protected:
  redis_settings settings_for(unsigned short port) const {
    redis_settings s;
    s.host = "127.0.0.1";
    s.port = port;
    s.url = "redis://127.0.0.1:" + std::to_string(port) + "/0";
    s.key_prefix = "f";
    s.connect_timeout = 1000ms;
    s.command_timeout = 2000ms;
    s.reconnect_min = 20ms;
    s.reconnect_max = 200ms;
    return s;
  }

  std::shared_ptr<redis_client> start(redis_settings s) {
    auto c = redis_client::create(ioc_.get_executor(), std::move(s), log_, &metrics_);
    clients_.push_back(c);
    c->start();
    return c;
  }

  outcome call(redis_client& c, std::vector<std::string> args) {
    auto o = std::make_shared<outcome>();
    c.exec(std::move(args), [o](error_code ec, redis_reply r) {
      ++o->calls;
      o->ec = ec;
      o->reply = std::move(r);
    });
    EXPECT_TRUE(test::run_until(ioc_, [&] { return o->calls > 0; }));
    return *o;
  }

  redis_health health(redis_client& c) {
    std::optional<redis_health> h;
    boost::asio::co_spawn(ioc_, check_redis_health(c, "f", 1000ms), [&](std::exception_ptr, redis_health r) { h = r; });
    EXPECT_TRUE(test::run_until(ioc_, [&] { return h.has_value(); }));
    return h.value_or(redis_health{});
  }

  template <typename P>
  bool run_until(P p, std::chrono::milliseconds limit = 10s) {
    return test::run_until(ioc_, p, limit);
  }

  void TearDown() override {
    for (auto& c : clients_) c->stop();
    test::drain(ioc_, 500ms);
    clients_.clear();
    test::drain(ioc_, 200ms);
  }

  boost::asio::io_context ioc_;
  logger log_{log_level::debug};
  metrics_registry metrics_;
  std::vector<std::shared_ptr<redis_client>> clients_;
};

TEST_F(redis_failover_test, DemotedMasterAnswersReadonlyThenTheClientWaitsForAMasterAndResumes) {
  test::redis_server a, b;
  auto c = start(settings_for(a.port()));
  ASSERT_TRUE(run_until([&] { return c->connected(); })) << c->last_error();
  EXPECT_TRUE(health(*c).ok);
  ASSERT_FALSE(call(*c, {"SET", "k", "1"}).ec);

  // a becomes a replica of b behind the client's back (what a failover does
  // to the old master); the next write gets READONLY.
  ASSERT_NE(a.cli("REPLICAOF 127.0.0.1 " + std::to_string(b.port())).find("OK"), std::string::npos);
  auto w = call(*c, {"SET", "k", "2"});
  EXPECT_EQ(w.ec, redis_error::unavailable) << w.ec.message();
  EXPECT_EQ(w.reply.str.rfind("READONLY", 0), 0u) << w.reply.str;
  EXPECT_EQ(metrics_.get_counter("herald_redis_command_errors_total", "", {{"reason", "unavailable"}}).value(), 1u);

  // The client drops the link and will not settle on a replica.
  ASSERT_TRUE(run_until([&] { return !c->connected() && c->last_error().find("not a master") != std::string::npos; }))
      << c->last_error();
  auto refused = call(*c, {"GET", "k"});
  EXPECT_EQ(refused.ec, redis_error::not_connected);
  auto h = health(*c);
  EXPECT_FALSE(h.ok);
  EXPECT_NE(h.reason.find("not a master"), std::string::npos) << h.reason;

  // Promoted again: the client comes back by itself.
  a.cli("REPLICAOF NO ONE");
  ASSERT_TRUE(run_until([&] { return c->connected(); })) << c->last_error();
  EXPECT_FALSE(call(*c, {"SET", "k", "3"}).ec);
  EXPECT_TRUE(health(*c).ok);
}

TEST_F(redis_failover_test, OrdinaryErrorRepliesKeepTheConnection) {
  test::redis_server a;
  auto c = start(settings_for(a.port()));
  ASSERT_TRUE(run_until([&] { return c->connected(); }));
  const auto reconnects = metrics_.get_counter("herald_redis_reconnects_total", "").value();
  call(*c, {"SET", "s", "x"});
  auto wrong = call(*c, {"LPUSH", "s", "y"});
  EXPECT_EQ(wrong.ec, redis_error::server_error);
  EXPECT_EQ(wrong.reply.str.rfind("WRONGTYPE", 0), 0u);
  auto noscript = call(*c, {"EVALSHA", "0123456789012345678901234567890123456789", "0"});
  EXPECT_EQ(noscript.ec, redis_error::server_error);
  EXPECT_TRUE(c->connected());
  EXPECT_FALSE(call(*c, {"PING"}).ec);
  EXPECT_EQ(metrics_.get_counter("herald_redis_reconnects_total", "").value(), reconnects);
}

TEST_F(redis_failover_test, DatasetResetIsDetectedOnReconnectCountedAndHeldUntilAcknowledged) {
  test::redis_server a;
  auto s = settings_for(a.port());
  s.check_dataset = true;
  auto c = start(s);
  ASSERT_TRUE(run_until([&] { return c->connected(); }));
  auto epoch = call(*c, {"GET", "f:dataset:epoch"});
  ASSERT_EQ(epoch.reply.type, redis_reply::kind::string) << "the epoch is written on the first connect";
  EXPECT_TRUE(health(*c).ok);
  auto& resets = metrics_.get_counter("herald_redis_data_resets_total", "");
  EXPECT_EQ(resets.value(), 0u);

  // A reconnect with the data intact changes nothing.
  auto& reconnects = metrics_.get_counter("herald_redis_reconnects_total", "");
  const auto before = reconnects.value();
  a.cli("CLIENT KILL TYPE normal");
  ASSERT_TRUE(run_until([&] { return reconnects.value() > before && c->connected(); }));
  EXPECT_EQ(call(*c, {"GET", "f:dataset:epoch"}).reply.str, epoch.reply.str);
  EXPECT_EQ(resets.value(), 0u);

  // The data goes (a restart without persistence does the same).
  a.stop();
  a.start();
  ASSERT_TRUE(run_until([&] { return c->connected() && resets.value() == 1; })) << c->last_error();
  auto h = health(*c);
  EXPECT_FALSE(h.ok);
  EXPECT_EQ(h.reason, "dataset reset");
  auto fresh = call(*c, {"GET", "f:dataset:epoch"});
  EXPECT_NE(fresh.reply.str, epoch.reply.str);
  auto ttl = call(*c, {"PTTL", "f:dataset:reset"});
  EXPECT_GT(ttl.reply.integer, 0) << "the alert ends by itself after redis.dataset_reset_alert";

  // The operator acknowledges (what `herald redis ack-reset` does).
  call(*c, {"DEL", "f:dataset:reset"});
  EXPECT_TRUE(health(*c).ok);
  // Later reconnects to the same dataset do not count again.
  const auto before2 = reconnects.value();
  a.cli("CLIENT KILL TYPE normal");
  ASSERT_TRUE(run_until([&] { return reconnects.value() > before2 && c->connected(); }));
  EXPECT_EQ(resets.value(), 1u);
}

// 1 master, 1 replica, 1 sentinel (quorum 1): the client finds the master
// through the sentinel and follows a forced failover.
TEST_F(redis_failover_test, SentinelNamesTheMasterAndTheClientFollowsAFailover) {
  test::redis_server master, replica;
  replica.cli("REPLICAOF 127.0.0.1 " + std::to_string(master.port()));
  for (int i = 0; i < 500 && replica.cli("INFO replication").find("master_link_status:up") == std::string::npos; ++i)
    std::this_thread::sleep_for(10ms);
  test::redis_sentinel sentinel("herald", master.port(), 1);
  for (int i = 0; i < 1000 && sentinel.cli("SENTINEL replicas herald").find(std::to_string(replica.port())) == std::string::npos; ++i)
    std::this_thread::sleep_for(10ms);

  auto s = settings_for(0);
  s.host.clear();
  s.url.clear();
  s.sentinels = {{"127.0.0.1", test::free_port()}, {"127.0.0.1", sentinel.port()}};  // the first is down
  s.master_name = "herald";
  auto c = start(s);
  ASSERT_TRUE(run_until([&] { return c->connected(); })) << c->last_error();
  ASSERT_FALSE(call(*c, {"SET", "before", "1"}).ec);
  EXPECT_NE(master.cli("GET before").find("1"), std::string::npos);

  // The sentinel can fail over only once it has discovered the replica from
  // the master's INFO (NOGOODSLAVE before that): ask until it accepts (bounded).
  std::string failover;
  for (int i = 0; i < 300 && failover.find("OK") == std::string::npos; ++i) {
    failover = sentinel.cli("SENTINEL FAILOVER herald");
    if (failover.find("OK") == std::string::npos) std::this_thread::sleep_for(100ms);
  }
  ASSERT_NE(failover.find("OK"), std::string::npos) << failover;
  // The writes land on the promoted replica once the client followed.
  bool moved = run_until(
      [&] {
        if (!c->connected()) return false;
        auto o = call(*c, {"SET", "after", "2"});
        return !o.ec && replica.cli("GET after").find("2") != std::string::npos;
      },
      20s);
  ASSERT_TRUE(moved) << c->last_error() << "\n" << sentinel.cli("SENTINEL get-master-addr-by-name herald");
  EXPECT_TRUE(health(*c).ok);
}

}  // namespace
}  // namespace herald
