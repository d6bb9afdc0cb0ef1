// The stored JSON of foreign-system devices and keys: member order, round
// trips, and records that are not ones.
#include <gtest/gtest.h>

#include "store/foreign_system_store.hpp"

namespace herald {
namespace {

foreign_device sample_device() {
  foreign_device d;
  d.id = 12;
  d.app_id = 3;
  d.name = "Anna's \"phone\"";
  d.device_identifier = "3F2504E0";
  d.application = "Pocket";
  d.associate_id = 919;
  d.created_date = "2026-01-02T03:04:05";
  d.updated_date = "2026-02-03T04:05:06";
  d.created_by = "crm";
  d.updated_by = "admin";
  return d;
}

foreign_key sample_key() {
  foreign_key k;
  k.key = "colour";
  k.value = "blue";
  k.table_name = "contact";
  k.record_id = -7;
  k.created_date = "c";
  k.updated_date = "u";
  k.created_by = "cb";
  k.updated_by = "ub";
  return k;
}

TEST(foreign_record, device_json_has_a_fixed_member_order_and_round_trips) {
  const auto d = sample_device();
  const auto text = encode_foreign_device(d);
  EXPECT_EQ(text,
            R"({"ForeignDeviceId":12,"ForeignAppId":3,"Name":"Anna's \"phone\"","DeviceIdentifier":"3F2504E0",)"
            R"("Application":"Pocket","AssociateId":919,"CreatedDate":"2026-01-02T03:04:05",)"
            R"("UpdatedDate":"2026-02-03T04:05:06","CreatedBy":"crm","UpdatedBy":"admin"})");
  EXPECT_EQ(decode_foreign_device(text), d);
}

TEST(foreign_record, key_json_has_a_fixed_member_order_and_round_trips) {
  const auto k = sample_key();
  const auto text = encode_foreign_key(k);
  EXPECT_EQ(text,
            R"({"Key":"colour","Value":"blue","RecordId":-7,"TableName":"contact","CreatedDate":"c",)"
            R"("UpdatedDate":"u","CreatedBy":"cb","UpdatedBy":"ub"})");
  EXPECT_EQ(decode_foreign_key(text), k);
}

TEST(foreign_record, numbers_are_required_and_strings_default_to_empty) {
  EXPECT_FALSE(decode_foreign_device(R"({"ForeignAppId":3,"AssociateId":1})").has_value());
  EXPECT_FALSE(decode_foreign_device(R"({"ForeignDeviceId":1,"ForeignAppId":"3","AssociateId":1})").has_value());
  const auto bare = decode_foreign_device(R"({"ForeignDeviceId":1,"ForeignAppId":2,"AssociateId":3})");
  ASSERT_TRUE(bare.has_value());
  EXPECT_EQ(bare->name, "");
  EXPECT_EQ(bare->associate_id, 3);
  // cjson may write whole numbers as doubles.
  const auto doubled = decode_foreign_device(R"({"ForeignDeviceId":1.0,"ForeignAppId":2,"AssociateId":3e2})");
  ASSERT_TRUE(doubled.has_value());
  EXPECT_EQ(doubled->associate_id, 300);

  EXPECT_FALSE(decode_foreign_key(R"({"Key":"k"})").has_value());
  EXPECT_FALSE(decode_foreign_key(R"({"Key":"k","RecordId":2147483648})").has_value());
  EXPECT_FALSE(decode_foreign_key(R"({"Key":"k","RecordId":-2147483649})").has_value());
  EXPECT_EQ(decode_foreign_key(R"({"Key":"k","RecordId":-2147483648})")->record_id, -2147483648LL);
  EXPECT_FALSE(decode_foreign_key("[1]").has_value());
  EXPECT_FALSE(decode_foreign_key("not json").has_value());
}

}  // namespace
}  // namespace herald
