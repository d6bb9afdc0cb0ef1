// The admin routes' JSON and dead-letter query (api/admin_codec).
#include "api/admin/admin_codec.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace herald {
namespace {

namespace json = boost::json;

TEST(AdminCodec, DeliveryTrace) {
  delivery_event e{1764500000123, "alarm", "APPT-1", "phone \"1\"", "pocket", "device_gone", "removed", 410, "Unregistered", "apns-1"};
  auto v = json::parse(encode_delivery_trace("alarm:APPT-1", {e}));
  EXPECT_EQ(v.at("subject").as_string(), "alarm:APPT-1");
  const auto& ev = v.at("events").as_array().at(0);
  EXPECT_EQ(ev.at("time").as_string(), "2025-11-30T10:53:20Z");
  EXPECT_EQ(ev.at("at_ms").as_int64(), 1764500000123);
  EXPECT_EQ(ev.at("device").as_string(), "phone \"1\"");
  EXPECT_EQ(ev.at("outcome").as_string(), "device_gone");
  EXPECT_EQ(ev.at("action").as_string(), "removed");
  EXPECT_EQ(ev.at("status").as_int64(), 410);
  EXPECT_EQ(ev.at("reason").as_string(), "Unregistered");
  EXPECT_EQ(ev.at("provider_id").as_string(), "apns-1");
  EXPECT_TRUE(json::parse(encode_delivery_trace("device:x", {})).at("events").as_array().empty());
}

TEST(AdminCodec, DeadLetters) {
  dead_letter e{"1764500000123-0", {{"kind", "message"}, {"reason", "Bad\"Token"}}};
  auto one = json::parse(encode_dead_letter(e));
  EXPECT_EQ(one.at("id").as_string(), "1764500000123-0");
  EXPECT_EQ(one.at("time").as_string(), "2025-11-30T10:53:20Z");
  EXPECT_EQ(one.at("fields").at("reason").as_string(), "Bad\"Token");
  auto list = json::parse(encode_dead_letters({e, e}, 7));
  EXPECT_EQ(list.at("entries").as_array().size(), 2u);
  EXPECT_EQ(list.at("examined").as_int64(), 7);
}

TEST(AdminCodec, DeadLetterQuery) {
  auto q = decode_dead_letter_query("/api/v1/admin/deadletters?since=2h&reason=Bad%20Token&app=crm&limit=5");
  ASSERT_TRUE(std::holds_alternative<dead_letter_query>(q));
  const auto& d = std::get<dead_letter_query>(q);
  EXPECT_EQ(d.since_age_ms, 2 * 3'600'000);
  EXPECT_EQ(d.filter.reason, "Bad Token");
  EXPECT_EQ(d.filter.app, "crm");
  EXPECT_EQ(d.limit, 5u);
  auto none = decode_dead_letter_query("/api/v1/admin/deadletters");
  ASSERT_TRUE(std::holds_alternative<dead_letter_query>(none));
  EXPECT_EQ(std::get<dead_letter_query>(none).limit, 100u);
  EXPECT_FALSE(std::get<dead_letter_query>(none).since_age_ms);
  for (const char* bad : {"?since=soon", "?limit=0", "?limit=1001", "?limit=x", "?limit=99999"}) {
    auto r = decode_dead_letter_query(std::string("/x") + bad);
    ASSERT_TRUE(std::holds_alternative<api_error>(r)) << bad;
    EXPECT_EQ(std::get<api_error>(r).status, 400) << bad;
  }
}

}  // namespace
}  // namespace herald
