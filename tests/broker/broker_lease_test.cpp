#include "broker/delivery_lease.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "broker/delivery_policy.hpp"

namespace herald {
namespace {

// In-memory delivery records following the same rules as the Lua scripts:
// claim (decide_claim), renew and finish (may_finish). Time is explicit.
class record_store {
 public:
  claim_decision claim(const std::string& id, const std::string& me, std::int64_t now, std::int64_t lease, bool retrying = false) {
    auto d = decide_claim(read(id), me, now, retrying);
    if (d == claim_decision::go) records_[id] = sending_value(me, now + lease);
    return d;
  }
  bool renew(const std::string& id, const std::string& me, std::int64_t now, std::int64_t lease) {
    if (!may_renew(read(id), me)) return false;
    records_[id] = sending_value(me, now + lease);
    return true;
  }
  bool finish(const std::string& id, const std::string& me, const std::string& state) {
    if (!may_finish(read(id), me)) return false;
    records_[id] = state;
    return true;
  }
  std::string value(const std::string& id) const {
    auto it = records_.find(id);
    return it == records_.end() ? "" : it->second;
  }

 private:
  delivery_record read(const std::string& id) const {
    auto it = records_.find(id);
    if (it == records_.end()) return parse_delivery_record(std::nullopt);
    return parse_delivery_record(it->second);
  }
  std::map<std::string, std::string> records_;
};

TEST(DeliveryRecord, Parses) {
  EXPECT_EQ(parse_delivery_record(std::nullopt).kind, delivery_record::state::absent);
  EXPECT_EQ(parse_delivery_record("retry").kind, delivery_record::state::retry);
  EXPECT_EQ(parse_delivery_record("delivered").kind, delivery_record::state::final_state);
  auto r = parse_delivery_record("sending:host-1:4242:1764500000123");
  EXPECT_EQ(r.kind, delivery_record::state::sending);
  EXPECT_EQ(r.owner, "host-1:4242");  // consumer names are hostname:pid
  EXPECT_EQ(r.lease_until_ms, 1764500000123);
  EXPECT_EQ(parse_delivery_record(sending_value("a:1", 99)).owner, "a:1");
  EXPECT_EQ(parse_delivery_record("sending:garbage").lease_until_ms, 0);  // no lease: expired
}

TEST(DeliveryRecord, OnlyTheHolderMayFinishOrRenew) {
  auto r = parse_delivery_record(sending_value("a:1", 1000));
  EXPECT_TRUE(may_finish(r, "a:1"));
  EXPECT_FALSE(may_finish(r, "a:12"));
  EXPECT_FALSE(may_finish(r, "a"));
  EXPECT_FALSE(may_finish(parse_delivery_record("delivered"), "a:1"));
  EXPECT_FALSE(may_finish(parse_delivery_record("retry"), "a:1"));
  EXPECT_FALSE(may_renew(parse_delivery_record(std::nullopt), "a:1"));
}

TEST(DeliveryRecord, ClaimDecisions) {
  const auto me = "b:2";
  EXPECT_EQ(decide_claim(parse_delivery_record(std::nullopt), me, 100, false), claim_decision::go);
  EXPECT_EQ(decide_claim(parse_delivery_record("delivered"), me, 100, true), claim_decision::done);
  EXPECT_EQ(decide_claim(parse_delivery_record("retry"), me, 100, false), claim_decision::done);
  EXPECT_EQ(decide_claim(parse_delivery_record("retry"), me, 100, true), claim_decision::go);
  EXPECT_EQ(decide_claim(parse_delivery_record(sending_value("a:1", 101)), me, 100, false), claim_decision::held);
  EXPECT_EQ(decide_claim(parse_delivery_record(sending_value("a:1", 100)), me, 100, false), claim_decision::go);
  // A lease of this very daemon is held too: one delivery never runs twice at once.
  EXPECT_EQ(decide_claim(parse_delivery_record(sending_value(me, 101)), me, 100, false), claim_decision::held);
}

// Daemon A's send takes 5 s, takeover_after (the lease) is 2 s: A renews its
// lease every 0.6 s (under takeover_after/3), so B, which looks every 100 ms, never gets it, and the
// delivery is sent once and recorded by A.
TEST(Fencing, SendSlowerThanTakeoverIsSentOnce) {
  record_store records;
  const std::int64_t lease = 2000;
  int sends = 0;
  ASSERT_EQ(records.claim("d", "A", 0, lease), claim_decision::go);
  ++sends;
  for (std::int64_t t = 0; t <= 5000; t += 100) {
    if (t > 0 && t % 600 == 0) {
      ASSERT_TRUE(records.renew("d", "A", t, lease));
    }
    auto d = records.claim("d", "B", t, lease);
    ASSERT_NE(d, claim_decision::go) << "B claimed at " << t;
    EXPECT_EQ(d, claim_decision::held);
  }
  ASSERT_TRUE(records.finish("d", "A", "delivered"));
  EXPECT_EQ(records.claim("d", "B", 6000, lease), claim_decision::done);
  EXPECT_EQ(sends, 1);
}

// A dies with the delivery claimed (no more renewals): once its lease has
// run out, B claims it once and finishes it; a third daemon then skips it.
TEST(Fencing, DeadDaemonsDeliveryIsFinishedByAnotherOnce) {
  record_store records;
  ASSERT_EQ(records.claim("d", "A", 0, 2000), claim_decision::go);
  EXPECT_EQ(records.claim("d", "B", 1999, 2000), claim_decision::held);
  ASSERT_EQ(records.claim("d", "B", 2000, 2000), claim_decision::go);
  EXPECT_EQ(records.claim("d", "C", 2001, 2000), claim_decision::held);
  ASSERT_TRUE(records.finish("d", "B", "delivered"));
  EXPECT_EQ(records.claim("d", "C", 9000, 2000), claim_decision::done);
  EXPECT_EQ(records.value("d"), "delivered");
}

// A was cut off (its lease lapsed), B delivered; A's late 503 answer must
// not turn "delivered" into "retry", and A cannot renew what it lost.
TEST(Fencing, LateRetryCannotOverwriteDelivered) {
  record_store records;
  ASSERT_EQ(records.claim("d", "A", 0, 2000), claim_decision::go);
  ASSERT_EQ(records.claim("d", "B", 2500, 2000), claim_decision::go);
  EXPECT_FALSE(records.renew("d", "A", 2600, 2000));
  ASSERT_TRUE(records.finish("d", "B", "delivered"));
  EXPECT_FALSE(records.finish("d", "A", "retry"));
  EXPECT_FALSE(records.finish("d", "A", "dead"));
  EXPECT_EQ(records.value("d"), "delivered");
  // Nor can A's answer overwrite B's lease while B is still sending.
  ASSERT_EQ(records.claim("e", "A", 0, 2000), claim_decision::go);
  ASSERT_EQ(records.claim("e", "B", 2500, 2000), claim_decision::go);
  EXPECT_FALSE(records.finish("e", "A", "delivered"));
  EXPECT_TRUE(records.finish("e", "B", "retry"));
  EXPECT_EQ(records.value("e"), "retry");
}

// One appointment for 5,000 associates with 2 devices each: 10,000
// deliveries are claimed in scripts of at most 512 keys, each once.
TEST(Fencing, FiveThousandAssociateAppointmentIsClaimedInBoundedScripts) {
  const std::size_t deliveries = 5000 * 2;
  auto chunks = key_chunks(deliveries, 512);
  ASSERT_EQ(chunks.size(), 20u);
  std::size_t covered = 0, expected_begin = 0;
  for (auto [b, e] : chunks) {
    EXPECT_EQ(b, expected_begin);
    EXPECT_GT(e, b);
    EXPECT_LE(e - b, 512u);
    covered += e - b;
    expected_begin = e;
  }
  EXPECT_EQ(covered, deliveries);
  // Every delivery is claimed once across the chunks (no overlap).
  record_store records;
  std::size_t sent = 0;
  for (auto [b, e] : chunks)
    for (auto i = b; i < e; ++i) sent += records.claim("d" + std::to_string(i), "A", 0, 2000) == claim_decision::go;
  EXPECT_EQ(sent, deliveries);
  EXPECT_TRUE(key_chunks(0, 512).empty());
  EXPECT_EQ(key_chunks(3, 0).size(), 3u);  // a zero bound still makes progress
}

// Two daemons with different local clocks (one 30 s fast) sample the same
// Redis TIME: both see the same "now", so the alarm due at T fires at T on
// both and a message submitted at T is not late for either.
TEST(Fencing, SkewedClocksDecideOnRedisTime) {
  const std::int64_t server_at_sample = 1'764'500'000'000;
  redis_clock correct, fast;
  // Different steady bases (boot times), round trips of 2 ms and 10 ms.
  correct.sample(server_at_sample + 1, 5'000, 5'002);
  fast.sample(server_at_sample + 5, 90'000, 90'010);
  ASSERT_TRUE(correct.synced() && fast.synced());
  const std::int64_t wall_fast = server_at_sample + 30'000;  // what the fast daemon's own clock says
  auto correct_now = correct.now_ms(5'002 + 1'000, server_at_sample + 1'000);
  auto fast_now = fast.now_ms(90'010 + 1'000, wall_fast + 1'000);
  EXPECT_LE(std::abs(correct_now - fast_now), 10);
  const std::int64_t due = server_at_sample + 20'000;  // between Redis now and the fast clock
  EXPECT_LT(fast_now, due) << "the fast daemon would fire 20 s early on its own clock";
  const std::int64_t max_lateness = 10'000;
  const std::int64_t submitted = correct_now;  // a message queued by the correct daemon
  EXPECT_FALSE(is_late(submitted, fast_now, max_lateness));
  EXPECT_TRUE(is_late(submitted, wall_fast + 1'000, max_lateness)) << "on its own clock it would drop it";
  // Before any sample, the fallback (local wall clock) is used; a sample is due.
  redis_clock fresh;
  EXPECT_EQ(fresh.now_ms(1, 42), 42);
  EXPECT_TRUE(fresh.stale(0, 10'000));
  EXPECT_FALSE(correct.stale(5'002 + 9'999, 10'000));
  EXPECT_TRUE(correct.stale(5'002 + 10'000, 10'000));
}

TEST(Fencing, RedisTimeReply) {
  EXPECT_EQ(redis_time_ms("1764500000", "123456"), 1764500000123);
  EXPECT_FALSE(redis_time_ms("x", "1"));
  EXPECT_FALSE(redis_time_ms("1", "1000000"));
}

}  // namespace
}  // namespace herald
