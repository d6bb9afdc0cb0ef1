// broker/redis/schedule against a real redis-server: the claim moves due
// alarms into the work stream and, in the same call, reads them for this
// consumer; a deleted stream (its group gone with it) loses nothing.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "broker/redis/redis_broker_store.hpp"
#include "tests/store/redis_fixture.hpp"

namespace herald {
namespace {

class schedule_store_test : public test::redis_fixture {
 protected:
  void SetUp() override {
    redis_fixture::SetUp();
    me_.emplace(redis_, "d", "me");
    ASSERT_FALSE(run(me_->ensure_group()));
  }
  // An appointment at revision `rev` whose alarm is due at `due_ms`.
  void schedule(const std::string& id, long long due_ms, int rev = 3) {
    server_.cli("HSET d:appt:" + id + " rev " + std::to_string(rev));
    server_.cli("ZADD d:alarms " + std::to_string(due_ms) + " " + id);
  }

  std::optional<redis_broker_store> me_;
};

TEST_F(schedule_store_test, claim_moves_what_is_due_and_reads_it_in_the_same_call) {
  schedule("A1", 1000);
  schedule("A2", 2000);
  schedule("A3", 3000);
  schedule("later", 9000);
  server_.cli("ZADD d:alarms 1500 removed");  // its appointment is gone: dropped unsent

  auto first = run(me_->claim_due_and_read(5000, 10, 2));
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(first->claimed.alarms, 3);
  EXPECT_EQ(first->claimed.retries, 0);
  ASSERT_EQ(first->items.size(), 2u);  // the read count, not the claim count
  EXPECT_EQ(first->items[0].kind, "alarm");
  EXPECT_EQ(first->items[0].field("id"), "A1");
  EXPECT_EQ(first->items[0].field("rev"), "3");
  EXPECT_EQ(first->items[0].field("due"), "1000");
  EXPECT_EQ(first->items[1].field("id"), "A2");
  // Read means owned: both are pending for this consumer.
  EXPECT_NE(cli("XPENDING d:work herald").find("me"), std::string::npos);
  EXPECT_EQ(cli("ZRANGE d:alarms 0 -1"), "later");

  // The third is in the stream, not yet read; the next claim finds nothing
  // new and reads it.
  auto second = run(me_->claim_due_and_read(5000, 10, 2));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->claimed.alarms, 0);
  ASSERT_EQ(second->items.size(), 1u);
  EXPECT_EQ(second->items[0].field("id"), "A3");

  auto third = run(me_->claim_due_and_read(5000, 10, 2));
  ASSERT_TRUE(third);
  EXPECT_EQ(third->claimed.alarms, 0);
  EXPECT_TRUE(third->items.empty());
}

TEST_F(schedule_store_test, deleted_stream_gets_its_group_back_and_keeps_what_was_claimed) {
  server_.cli("DEL d:work");  // FLUSH-like: the group is gone with the stream
  schedule("A1", 1000);

  auto claimed = run(me_->claim_due_and_read(5000, 10, 10));
  ASSERT_TRUE(claimed) << claimed.error().message();
  EXPECT_EQ(claimed->claimed.alarms, 1);
  EXPECT_TRUE(claimed->items.empty());  // the read failed (no group) and made the group

  auto read = run(me_->read_work(10));
  ASSERT_TRUE(read) << read.error().message();
  ASSERT_EQ(read->size(), 1u);
  EXPECT_EQ((*read)[0].field("id"), "A1");
}

}  // namespace
}  // namespace herald
