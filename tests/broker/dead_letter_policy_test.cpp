// The dead-letter rules (broker/dead_letter_policy): stream ids, filters,
// purge bounds and the replay decision, one table each.
#include "broker/dead_letter_policy.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace herald {
namespace {

dead_letter delivery_entry(std::string id, std::string kind, std::string item, std::int64_t rev, std::string device, std::string app = "") {
  dead_letter e;
  e.id = std::move(id);
  e.fields = {{"delivery", kind + ":" + item + ":" + std::to_string(rev) + ":" + device},
              {"kind", kind},
              {"id", item},
              {"device", device},
              {"platform", "Apple"},
              {"reason", "BadDeviceToken"},
              {"status", "400"}};
  if (!app.empty()) e.fields.emplace_back("app", app);
  return e;
}

TEST(DeadLetterPolicy, StreamIds) {
  EXPECT_TRUE(is_stream_id("1764500000000-0"));
  EXPECT_TRUE(is_stream_id("1764500000000"));
  for (const char* bad : {"", "-", "1-", "-1", "a-1", "1-a", "1-2-3", "12 34", "99999999999999999999999-0"}) EXPECT_FALSE(is_stream_id(bad)) << bad;
  EXPECT_EQ(stream_id_ms("1764500000123-7"), 1764500000123);
  EXPECT_FALSE(stream_id_ms("x"));
}

TEST(DeadLetterPolicy, Filters) {
  const auto e = delivery_entry("1000-0", "alarm", "A-1", 2, "phone", "crm");
  const auto default_app = delivery_entry("1000-1", "alarm", "A-1", 2, "phone");
  struct row {
    dead_letter_filter f;
    bool crm, deflt;
  };
  const std::vector<row> rows = {
      {{}, true, true},
      {{std::optional<std::int64_t>(1000), "", ""}, true, true},
      {{std::optional<std::int64_t>(1001), "", ""}, false, false},
      {{std::nullopt, "DeviceToken", ""}, true, true},
      {{std::nullopt, "Unregistered", ""}, false, false},
      {{std::nullopt, "", "crm"}, true, false},
      {{std::nullopt, "", "default"}, false, true},
      {{std::nullopt, "", "other"}, false, false},
      {{std::optional<std::int64_t>(999), "Bad", "crm"}, true, false},
  };
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(matches(e, rows[i].f), rows[i].crm) << "row " << i;
    EXPECT_EQ(matches(default_app, rows[i].f), rows[i].deflt) << "row " << i;
  }
}

TEST(DeadLetterPolicy, PurgeBound) {
  EXPECT_EQ(purge_min_id("1764500000000-3", 0), "1764500000000-3");
  EXPECT_EQ(purge_min_id("7d", 7LL * 86'400'000 + 5), "5-0");
  EXPECT_EQ(purge_min_id("1h", 1000), "0-0");  // never negative
  EXPECT_FALSE(purge_min_id("yesterday", 0));
  EXPECT_FALSE(purge_min_id("", 0));
}

TEST(DeadLetterPolicy, ReplayDecision) {
  const auto alarm = delivery_entry("1000-0", "alarm", "APPT:1", 3, "dev:9");  // ids may hold ':'
  auto plan = decide_replay(alarm, false, true);
  ASSERT_TRUE(std::holds_alternative<replay_plan>(plan));
  const auto& p = std::get<replay_plan>(plan);
  EXPECT_EQ(p.delivery_id, "alarm:APPT:1:3:dev:9");
  EXPECT_EQ(p.device, "dev:9");
  EXPECT_EQ(p.work, (retry_work{"alarm", "APPT:1", 3, 0, "dev:9", 1, ""}));
  const auto message = delivery_entry("1000-1", "message", "m-1", 0, "phone", "crm");
  ASSERT_TRUE(std::holds_alternative<replay_plan>(decide_replay(message, false, true)));
  EXPECT_EQ(std::get<replay_plan>(decide_replay(message, false, true)).work.app, "crm");

  dead_letter whole;  // a work entry that failed processing (broker bury)
  whole.id = "1000-2";
  whole.fields = {{"stream_id", "999-0"}, {"kind", "alarm"}, {"id", "A"}, {"device", ""}, {"reason", "processing failed 10 times"}};
  auto broken = alarm;
  broken.fields[0].second = "alarm:OTHER:3:dev:9";
  auto no_rev = alarm;
  no_rev.fields[0].second = "alarm:APPT:1:x:dev:9";
  auto bad_kind = alarm;
  bad_kind.fields[1].second = "retry";
  struct row {
    std::optional<dead_letter> entry;
    bool replayed, registered;
    replay_refusal refusal;
  };
  const std::vector<row> rows = {
      {std::nullopt, false, true, replay_refusal::not_found},
      {std::nullopt, true, true, replay_refusal::already_replayed},
      {alarm, true, true, replay_refusal::already_replayed},  // a marker wins: never twice
      {whole, false, true, replay_refusal::not_a_delivery},
      {broken, false, true, replay_refusal::malformed},
      {no_rev, false, true, replay_refusal::malformed},
      {bad_kind, false, true, replay_refusal::malformed},
      {alarm, false, false, replay_refusal::device_gone},
  };
  for (std::size_t i = 0; i < rows.size(); ++i) {
    auto d = decide_replay(rows[i].entry, rows[i].replayed, rows[i].registered);
    ASSERT_TRUE(std::holds_alternative<replay_refusal>(d)) << "row " << i;
    EXPECT_EQ(std::get<replay_refusal>(d), rows[i].refusal) << "row " << i << ": " << to_string(std::get<replay_refusal>(d));
  }
  EXPECT_EQ(to_string(replay_refusal::device_gone), "device_gone");
}

}  // namespace
}  // namespace herald
