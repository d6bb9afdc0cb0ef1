// broker/redis/schedule against a real redis-server: the claim moves due
// alarms into the work stream and, in the same call, reads them for this
// consumer; a deleted stream (its group gone with it) loses nothing; an
// acknowledgement removes exactly the entries acknowledged.
#include <gtest/gtest.h>

#include <optional>
#include <sstream>
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

TEST_F(schedule_store_test, ack_removes_only_what_was_acknowledged_in_any_order) {
  for (int i = 1; i <= 6; ++i) schedule("A" + std::to_string(i), 1000 + i);
  auto first = run(me_->claim_due_and_read(5000, 10, 2));  // A1 A2
  ASSERT_TRUE(first);
  ASSERT_EQ(first->items.size(), 2u);
  auto second = run(me_->read_work(2));  // A3 A4; A5 A6 stay unread
  ASSERT_TRUE(second);
  ASSERT_EQ(second->size(), 2u);
  auto ids = [](const std::vector<work_item>& items) {
    std::vector<std::string> out;
    for (const auto& w : items) out.push_back(w.stream_id);
    return out;
  };
  // The appointment ids of the entries still in the stream, in order.
  auto remaining = [&] {
    std::istringstream lines(cli("XRANGE d:work - +"));
    std::string line, out;
    while (std::getline(lines, line))
      if (line == "id" && std::getline(lines, line)) out += line + " ";
    return out;
  };
  server_.cli("HSET d:work:failures " + (*second)[0].stream_id + " 1");

  // The later batch first: the older one is still pending, so only the
  // acknowledged ids go (one by one), with their failure counts.
  ASSERT_FALSE(run(me_->ack_many(ids(*second))));
  EXPECT_EQ(remaining(), "A1 A2 A5 A6 ");
  EXPECT_EQ(cli("HLEN d:work:failures"), "0");
  // Then the older one: the trim takes everything up to the unread entries.
  ASSERT_FALSE(run(me_->ack_many(ids(first->items))));
  EXPECT_EQ(remaining(), "A5 A6 ");
  EXPECT_EQ(cli("XPENDING d:work herald - + 10"), "");

  // Nothing pending, everything read and acknowledged: the stream is empty.
  auto last = run(me_->read_work(10));
  ASSERT_TRUE(last);
  ASSERT_EQ(last->size(), 2u);
  ASSERT_FALSE(run(me_->ack_many({(*last)[1].stream_id})));
  EXPECT_EQ(remaining(), "A5 ");
  ASSERT_FALSE(run(me_->ack_many({(*last)[0].stream_id})));
  EXPECT_EQ(cli("XLEN d:work"), "0");
}

}  // namespace
}  // namespace herald
