// broker/redis/dead_letters against a real redis-server: a replay queues one retry
// work entry and sets the delivery record for it, removes the entry and
// refuses a second replay; an entry whose device is gone is refused and
// stays; list filters and purge.
#include "broker/redis/dead_letters.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "tests/store/redis_fixture.hpp"

namespace herald {
namespace {

class dead_letters_test : public test::redis_fixture {
 protected:
  void SetUp() override {
    redis_fixture::SetUp();
    store_.emplace(redis_, "d");
  }

  // A dead letter as the broker writes it for a delivery.
  std::string add(const std::string& item, const std::string& device, const std::string& reason, const std::string& app = "") {
    return (cli("XADD d:deadletter '*' delivery message:" + item + ":0:" + device + " kind message id " + item + " device " +
                               device + " platform Apple reason " + reason + " status 400" + (app.empty() ? "" : " app " + app)));
  }

  std::optional<dead_letter_store> store_;
};

TEST_F(dead_letters_test, replay_queues_one_retry_and_refuses_a_second) {
  server_.cli("SET d:device:phone-1 x");
  server_.cli("SET d:delivery:message:m-1:0:phone-1 dead");
  const auto id = add("m-1", "phone-1", "BadDeviceToken");
  ASSERT_EQ((cli("XLEN d:deadletter")), "1");

  auto first = run(store_->replay(id));
  ASSERT_TRUE(first);
  EXPECT_FALSE(first->refused) << to_string(*first->refused);
  ASSERT_FALSE(first->work_id.empty());
  // The retry work entry, as the broker reads it, due now (Redis time).
  const auto work = server_.cli("XRANGE d:work - +");
  EXPECT_NE(work.find("retry"), std::string::npos) << work;
  EXPECT_NE(work.find("m-1"), std::string::npos) << work;
  EXPECT_NE(work.find("phone-1"), std::string::npos) << work;
  EXPECT_EQ((cli("XLEN d:work")), "1");
  EXPECT_EQ((cli("GET d:delivery:message:m-1:0:phone-1")), "retry");
  EXPECT_EQ((cli("XLEN d:deadletter")), "0");
  EXPECT_EQ((cli("GET d:deadletter:replayed:" + id)), first->work_id);
  EXPECT_EQ((cli("XLEN d:alarms:changes")), "1");  // the daemons wake up

  auto second = run(store_->replay(id));
  ASSERT_TRUE(second);
  ASSERT_TRUE(second->refused);
  EXPECT_EQ(*second->refused, replay_refusal::already_replayed);
  EXPECT_EQ(second->work_id, first->work_id);
  EXPECT_EQ((cli("XLEN d:work")), "1");  // nothing queued twice

  auto unknown = run(store_->replay("1-0"));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->refused, replay_refusal::not_found);
  EXPECT_EQ(run(store_->replay("not-an-id"))->refused, replay_refusal::not_found);
}

TEST_F(dead_letters_test, replay_refuses_a_gone_device_and_a_whole_entry) {
  const auto gone = add("m-2", "phone-gone", "Unregistered");
  auto r = run(store_->replay(gone));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->refused, replay_refusal::device_gone);
  EXPECT_EQ((cli("XLEN d:deadletter")), "1");  // stays, can be replayed after re-registration
  EXPECT_EQ((cli("EXISTS d:work")), "0");

  const auto whole = (cli("XADD d:deadletter '*' stream_id 5-0 kind alarm id A device \"\" reason processing"));
  EXPECT_EQ(run(store_->replay(whole))->refused, replay_refusal::not_a_delivery);

  server_.cli("SET d:device:phone-gone x");  // registered again
  EXPECT_FALSE(run(store_->replay(gone))->refused);
}

TEST_F(dead_letters_test, list_filters_newest_first_and_purge) {
  const auto a = add("m-a", "p1", "BadDeviceToken", "crm");
  const auto b = add("m-b", "p2", "Unregistered");
  const auto c = add("m-c", "p3", "BadDeviceToken");
  auto all = run(store_->list({}, 10));
  ASSERT_TRUE(all);
  ASSERT_EQ(all->entries.size(), 3u);
  EXPECT_EQ(all->entries[0].id, c);
  EXPECT_EQ(all->entries[2].id, a);
  auto bad = run(store_->list({std::nullopt, "BadDevice", ""}, 10));
  ASSERT_EQ(bad->entries.size(), 2u);
  auto crm = run(store_->list({std::nullopt, "", "crm"}, 10));
  ASSERT_EQ(crm->entries.size(), 1u);
  EXPECT_EQ(crm->entries[0].field("id"), "m-a");
  auto dflt = run(store_->list({std::nullopt, "", "default"}, 10));
  EXPECT_EQ(dflt->entries.size(), 2u);
  EXPECT_EQ(run(store_->list({}, 1))->entries.size(), 1u);
  auto shown = run(store_->get(b));
  ASSERT_TRUE(shown && *shown);
  EXPECT_EQ((*shown)->field("reason"), "Unregistered");
  EXPECT_FALSE(*run(store_->get("1-1")));

  auto purged = run(store_->purge(b));  // older than b: a
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 1);
  EXPECT_EQ(run(store_->list({}, 10))->entries.size(), 2u);
}

}  // namespace
}  // namespace herald
