#include "store/device_registry.hpp"

#include <gtest/gtest.h>

namespace herald {
namespace {

device_info sample() {
  device_info d;
  d.device_identifier = "3F2504E0-4F89-11D3-9A0C-0305E82C3301";
  d.device_name = "Anna's \"work\" phone";
  d.pocket_version = "10.2.1";
  d.language = "nb-NO";
  d.pns_handle = "a1b2c3d4";
  d.platform = notification_platform::google_developer;
  d.os_version = "Android 14";
  d.time_zone_id = -5;
  d.associate_id = 919;
  d.registered_at_ms = 1'732'000'000'123;
  return d;
}

TEST(device_record, round_trips) {
  const auto d = sample();
  auto back = decode_device_record(encode_device_record(d));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, d);
}

TEST(device_record, round_trips_tags_and_subscriptions_apart) {
  auto d = sample();
  d.tags = std::vector<std::string>{"AppointmentAlarm"};
  d.subscriptions = {"Gold", "Silver"};
  const std::string json = encode_device_record(d);
  EXPECT_NE(json.find("\"Tags\":[\"AppointmentAlarm\"]"), std::string::npos) << json;
  EXPECT_NE(json.find("\"Subscriptions\":[\"Gold\",\"Silver\"]"), std::string::npos) << json;
  auto back = decode_device_record(json);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, d);
  EXPECT_EQ(encode_device_record(sample()).find("Subscriptions"), std::string::npos);  // none: no key
}

TEST(device_record, uses_the_pocket_field_names) {
  const std::string json = encode_device_record(sample());
  for (const char* key : {"\"DeviceName\":", "\"DeviceIdentifier\":", "\"PocketVersion\":", "\"Language\":",
                          "\"PNSHandle\":", "\"Platform\":\"GoogleDeveloper\"", "\"OSVersion\":", "\"TimeZoneId\":-5",
                          "\"AssociateId\":919", "\"RegisteredAt\":1732000000123"})
    EXPECT_NE(json.find(key), std::string::npos) << key << " in " << json;
}

TEST(device_record, owner_pattern_cannot_be_spoofed_from_a_text_field) {
  // The Lua scripts find the owner with '"AssociateId":(-?%d+)'; inside a
  // JSON string every quote is escaped, so only the real field matches.
  auto d = sample();
  d.device_name = "\"AssociateId\":1";
  const std::string json = encode_device_record(d);
  const auto first = json.find("\"AssociateId\":");
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(json.compare(first, 17, "\"AssociateId\":919"), 0) << json;
}

TEST(device_record, decodes_minimal_records_with_defaults) {
  auto d = decode_device_record(R"({"DeviceIdentifier":"x","AssociateId":7})");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->device_identifier, "x");
  EXPECT_EQ(d->associate_id, 7);
  EXPECT_EQ(d->platform, notification_platform::apple);
  EXPECT_EQ(d->time_zone_id, 0);
  EXPECT_EQ(d->registered_at_ms, 0);
  auto lower = decode_device_record(R"({"DeviceIdentifier":"x","AssociateId":7,"Platform":"google"})");
  ASSERT_TRUE(lower.has_value());
  EXPECT_EQ(lower->platform, notification_platform::google);
}

TEST(device_record, rejects_bad_records) {
  for (const char* bad : {
           "", "not json", "[]", "{}", R"({"AssociateId":7})",                        // no identifier
           R"({"DeviceIdentifier":"","AssociateId":7})",                               // empty identifier
           R"({"DeviceIdentifier":"x"})",                                              // no owner
           R"({"DeviceIdentifier":"x","AssociateId":"7"})",                            // owner not a number
           R"({"DeviceIdentifier":"x","AssociateId":7.5})",                            // not an integer
           R"({"DeviceIdentifier":"x","AssociateId":7,"Platform":"Nokia"})",           // unknown platform
           R"({"DeviceIdentifier":"x","AssociateId":7,"DeviceName":5})",               // wrong type
           R"({"DeviceIdentifier":"x","AssociateId":7,"TimeZoneId":4294967296})",      // beyond int32
           R"({"DeviceIdentifier":"x","AssociateId":18446744073709551615})",           // beyond int64
       })
    EXPECT_FALSE(decode_device_record(bad).has_value()) << bad;
}

TEST(device_record, enforces_field_size_bounds) {
  auto d = sample();
  d.pns_handle = std::string(max_pns_handle_size, 'a');
  EXPECT_TRUE(decode_device_record(encode_device_record(d)).has_value());
  d.pns_handle.push_back('a');
  EXPECT_FALSE(decode_device_record(encode_device_record(d)).has_value());

  d = sample();
  d.device_identifier = std::string(max_device_identifier_size + 1, 'i');
  EXPECT_FALSE(decode_device_record(encode_device_record(d)).has_value());

  d = sample();
  d.device_name = std::string(max_device_text_size + 1, 'n');
  EXPECT_FALSE(decode_device_record(encode_device_record(d)).has_value());
}

}  // namespace
}  // namespace herald
