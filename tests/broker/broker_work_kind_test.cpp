#include "broker/work_kind.hpp"

#include <gtest/gtest.h>

namespace herald {
namespace {

std::map<std::string, std::string> as_map(const stream_fields& f) { return {f.begin(), f.end()}; }

TEST(WorkKind, RoundTrips) {
  const work kinds[] = {alarm_work{"A-1", 3, 1764500000000}, message_work{"18c-00ff", 1764500000001},
                        retry_work{"alarm", "A-1", 3, 1764500000000, "iPhone-1", 2, "crm"}};
  for (const auto& w : kinds) {
    auto fields = encode_work(w);
    ASSERT_FALSE(fields.empty());
    EXPECT_EQ(fields.front().first, "kind");
    auto back = decode_work(as_map(fields));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, w);
  }
}

TEST(WorkKind, TheFieldsTheScriptsWrite) {
  // The claim script writes alarms as kind id rev due; the retry claim
  // script writes kind=retry plus the job hash.
  auto a = decode_work({{"kind", "alarm"}, {"id", "X"}, {"rev", "7"}, {"due", "100"}});
  ASSERT_TRUE(a && std::holds_alternative<alarm_work>(*a));
  EXPECT_EQ(std::get<alarm_work>(*a).revision, 7);
  auto r = decode_work({{"kind", "retry"}, {"job_kind", "message"}, {"id", "M"}, {"rev", "0"}, {"due", "5"}, {"device", "d"}});
  ASSERT_TRUE(r && std::holds_alternative<retry_work>(*r));
  EXPECT_EQ(std::get<retry_work>(*r).attempt, 1);  // absent: the first retry
  EXPECT_EQ(std::get<retry_work>(*r).app, "");
}

TEST(WorkKind, RejectsWhatCannotBeProcessed) {
  EXPECT_FALSE(decode_work({{"kind", "alarm"}, {"id", "X"}, {"rev", "7"}}));                   // no due
  EXPECT_FALSE(decode_work({{"kind", "alarm"}, {"id", "X"}, {"rev", "x"}, {"due", "1"}}));     // rev not a number
  EXPECT_FALSE(decode_work({{"kind", "alarm"}, {"rev", "1"}, {"due", "1"}}));                  // no id
  EXPECT_FALSE(decode_work({{"kind", "webhook"}, {"id", "X"}, {"due", "1"}}));                 // unknown kind
  EXPECT_FALSE(decode_work({{"kind", "retry"}, {"job_kind", "alarm"}, {"id", "X"}, {"rev", "1"}, {"due", "1"}}));  // no device
  EXPECT_FALSE(decode_work({{"kind", "retry"}, {"job_kind", "retry"}, {"id", "X"}, {"rev", "1"}, {"due", "1"}, {"device", "d"}}));
  EXPECT_FALSE(decode_work({{"kind", "message"}, {"id", "M"}, {"due", "12a"}}));
}

}  // namespace
}  // namespace herald
