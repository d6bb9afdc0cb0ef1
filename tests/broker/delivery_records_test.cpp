// broker/redis/delivery_records against a real redis-server: the claim and
// finish scripts carry out decide_claim and may_finish (broker/delivery_lease)
// for every kind of record, and leave what they may not touch as it was.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <optional>
#include <string>
#include <vector>

#include "broker/redis/redis_broker_store.hpp"
#include "runtime/log.hpp"
#include "store/redis_client.hpp"
#include "tests/store/io_wait.hpp"
#include "tests/support/redis_server.hpp"

namespace herald {
namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

class delivery_records_test : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_settings s;
    s.url = server_.url();
    s.host = "127.0.0.1";
    s.port = server_.port();
    redis_ = redis_client::create(ioc_.get_executor(), s, log_);
    redis_->start();
    ASSERT_TRUE(test::run_until(ioc_, [&] { return redis_->connected(); })) << redis_->last_error();
    me_.emplace(redis_, "d", "me");
  }
  void TearDown() override {
    redis_->stop();
    test::drain(ioc_);
  }

  template <typename T>
  T run(boost::asio::awaitable<T> op) {
    std::optional<T> out;
    boost::asio::co_spawn(ioc_, std::move(op), [&](std::exception_ptr e, T r) {
      if (e) std::rethrow_exception(e);
      out.emplace(std::move(r));
    });
    EXPECT_TRUE(test::run_until(ioc_, [&] { return out.has_value(); }));
    return std::move(*out);
  }
  std::string value(const std::string& id) { return trimmed(server_.cli("GET d:delivery:" + id)); }
  long long ttl(const std::string& id) { return std::stoll(trimmed(server_.cli("TTL d:delivery:" + id))); }
  long long redis_now_ms() {
    auto t = server_.cli("TIME");
    auto nl = t.find('\n');
    return std::stoll(t.substr(0, nl)) * 1000 + std::stoll(t.substr(nl + 1)) / 1000;
  }

  test::redis_server server_;
  boost::asio::io_context ioc_;
  logger log_{log_level::info};
  std::shared_ptr<redis_client> redis_;
  std::optional<redis_broker_store> me_;
};

TEST_F(delivery_records_test, claim_decides_for_every_kind_of_record) {
  const auto later = std::to_string(redis_now_ms() + 600'000);
  server_.cli("SET d:delivery:held sending:other:" + later + " EX 3600");
  server_.cli("SET d:delivery:expired sending:other:1000 EX 3600");
  server_.cli("SET d:delivery:final delivered EX 100");
  server_.cli("SET d:delivery:retry retry EX 3600");
  const std::vector<std::string> ids{"absent", "held", "expired", "final", "retry"};

  auto first = run(me_->claim_deliveries(ids, false, 30'000));
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, (std::vector<claim_decision>{claim_decision::go, claim_decision::held, claim_decision::go, claim_decision::done,
                                                  claim_decision::done}));
  // Claimed records hold this consumer's lease and the record ttl; the others are untouched.
  for (const auto* id : {"absent", "expired"}) {
    EXPECT_EQ(value(id).rfind("sending:me:", 0), 0u) << id << ": " << value(id);
    EXPECT_GT(ttl(id), 100) << id;
  }
  EXPECT_EQ(value("held"), "sending:other:" + later);
  EXPECT_EQ(value("final"), "delivered");
  EXPECT_LE(ttl("final"), 100);
  EXPECT_EQ(value("retry"), "retry");

  // The retry job may claim a `retry` record; a record this consumer holds is held (its own lease runs).
  auto again = run(me_->claim_deliveries({"retry", "absent"}, true, 30'000));
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, (std::vector<claim_decision>{claim_decision::go, claim_decision::held}));
  EXPECT_EQ(value("retry").rfind("sending:me:", 0), 0u);
}

TEST_F(delivery_records_test, finish_writes_only_what_this_consumer_holds) {
  ASSERT_TRUE(run(me_->claim_deliveries({"mine", "taken"}, false, 30'000)));
  // "taken": its lease was lost and another daemon finished it meanwhile.
  server_.cli("SET d:delivery:taken delivered-elsewhere EX 50");
  server_.cli("SET d:delivery:other sending:other:" + std::to_string(redis_now_ms() + 600'000) + " EX 3600");

  auto done = run(me_->finish_deliveries({"mine", "taken", "other", "absent"}, "delivered"));
  ASSERT_TRUE(done);
  EXPECT_EQ(*done, (std::vector<bool>{true, false, false, false}));
  EXPECT_EQ(value("mine"), "delivered");
  EXPECT_GT(ttl("mine"), 100);
  EXPECT_EQ(value("taken"), "delivered-elsewhere");
  EXPECT_EQ(value("other").rfind("sending:other:", 0), 0u);
  EXPECT_EQ(trimmed(server_.cli("EXISTS d:delivery:absent")), "0");  // never created by a finish

  // Finishing twice (a reply lost and the script run again) changes nothing more.
  auto twice = run(me_->finish_deliveries({"mine"}, "delivered"));
  ASSERT_TRUE(twice);
  EXPECT_EQ(*twice, std::vector<bool>{false});
  EXPECT_EQ(value("mine"), "delivered");
}

}  // namespace
}  // namespace herald
