// broker/redis/delivery_records against a real redis-server: the claim and
// finish scripts carry out decide_claim and may_finish (broker/delivery_lease)
// for every kind of record, and leave what they may not touch as it was.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "broker/redis/redis_broker_store.hpp"
#include "tests/store/redis_fixture.hpp"

namespace herald {
namespace {

class delivery_records_test : public test::redis_fixture {
 protected:
  void SetUp() override {
    redis_fixture::SetUp();
    me_.emplace(redis_, "d", "me");
  }

  std::string value(const std::string& id) { return cli("GET d:delivery:" + id); }
  long long ttl(const std::string& id) { return std::stoll(cli("TTL d:delivery:" + id)); }
  long long redis_now_ms() {
    auto t = server_.cli("TIME");
    auto nl = t.find('\n');
    return std::stoll(t.substr(0, nl)) * 1000 + std::stoll(t.substr(nl + 1)) / 1000;
  }

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
  EXPECT_EQ((cli("EXISTS d:delivery:absent")), "0");  // never created by a finish

  // Finishing twice (a reply lost and the script run again) changes nothing more.
  auto twice = run(me_->finish_deliveries({"mine"}, "delivered"));
  ASSERT_TRUE(twice);
  EXPECT_EQ(*twice, std::vector<bool>{false});
  EXPECT_EQ(value("mine"), "delivered");
}

}  // namespace
}  // namespace herald
