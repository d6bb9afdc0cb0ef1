#include "api/pocket/pocket_codec.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace herald {
namespace {

const char* seed_body = R"({"DeviceInfo":{"DeviceName":"John's iPhone 14 Pro","DeviceIdentifier":"iPhone-JA-14Pro-A2341",
  "PocketVersion":"10.2.1","Language":"en-US","PNSHandle":"apns:device-token-abc123xyz789","Platform":"Apple",
  "OSVersion":"iOS 17.1","TimeZoneId":857}})";

std::string error_of(std::string_view body) {
  auto r = decode_register_device(body);
  if (auto* e = std::get_if<api_error>(&r)) return std::to_string(e->status) + " " + e->message;
  return "ok";
}

TEST(PocketCodec, DecodesSeedDevice) {
  auto r = decode_register_device(seed_body);
  ASSERT_TRUE(std::holds_alternative<register_device_request>(r)) << error_of(seed_body);
  const auto& d = std::get<register_device_request>(r).device;
  EXPECT_EQ(d.device_name, "John's iPhone 14 Pro");
  EXPECT_EQ(d.device_identifier, "iPhone-JA-14Pro-A2341");
  EXPECT_EQ(d.pocket_version, "10.2.1");
  EXPECT_EQ(d.language, "en-US");
  EXPECT_EQ(d.pns_handle, "apns:device-token-abc123xyz789");
  EXPECT_EQ(d.platform, notification_platform::apple);
  EXPECT_EQ(d.os_version, "iOS 17.1");
  EXPECT_EQ(d.time_zone_id, 857);
  EXPECT_FALSE(std::get<register_device_request>(r).associate_id);
}

TEST(PocketCodec, PropertyNamesAreCaseInsensitiveAndAssociateIsRead) {
  auto r = decode_register_device(R"({"deviceinfo":{"deviceidentifier":"d1","pnshandle":"t","platform":"googledeveloper"},"associateid":5})");
  ASSERT_TRUE(std::holds_alternative<register_device_request>(r));
  EXPECT_EQ(std::get<register_device_request>(r).device.platform, notification_platform::google_developer);
  EXPECT_EQ(std::get<register_device_request>(r).associate_id, 5);
}

TEST(PocketCodec, ValidationErrorsNameTheField) {
  EXPECT_EQ(error_of("{").substr(0, 3), "400");
  EXPECT_NE(error_of("{").find("malformed JSON"), std::string::npos);
  EXPECT_NE(error_of("[]").find("JSON object"), std::string::npos);
  EXPECT_NE(error_of("{}").find("DeviceInfo is required"), std::string::npos);
  EXPECT_NE(error_of(R"({"DeviceInfo":{"PNSHandle":"t","Platform":"Apple"}})").find("DeviceIdentifier is required"), std::string::npos);
  EXPECT_NE(error_of(R"({"DeviceInfo":{"DeviceIdentifier":"d","Platform":"Apple"}})").find("PNSHandle is required"), std::string::npos);
  EXPECT_NE(error_of(R"({"DeviceInfo":{"DeviceIdentifier":"d","PNSHandle":"t","Platform":"Nokia"}})").find("'Nokia' is not a NotificationPlatform"), std::string::npos);
  EXPECT_NE(error_of(R"({"DeviceInfo":{"DeviceIdentifier":"d","PNSHandle":"t"}})").find("Platform is required"), std::string::npos);
  EXPECT_NE(error_of(R"({"DeviceInfo":{"DeviceIdentifier":5,"PNSHandle":"t","Platform":"Apple"}})").find("DeviceIdentifier must be a string"), std::string::npos);
  EXPECT_NE(error_of(R"({"DeviceInfo":{"DeviceIdentifier":"d","PNSHandle":"t","Platform":"Apple","TimeZoneId":-1}})").find("TimeZoneId"), std::string::npos);
  EXPECT_NE(error_of(R"({"DeviceInfo":{"DeviceIdentifier":"d","PNSHandle":"t","Platform":"Apple"},"AssociateId":"x"})").find("AssociateId"), std::string::npos);
  std::string long_name(max_device_text_size + 1, 'x');
  EXPECT_NE(error_of(R"({"DeviceInfo":{"DeviceIdentifier":"d","PNSHandle":"t","Platform":"Apple","DeviceName":")" + long_name + "\"}}").find("longer than 256"), std::string::npos);
  std::string deep(100, '[');
  EXPECT_NE(error_of(deep).find("malformed JSON"), std::string::npos);
}

TEST(PocketCodec, AssociateRequest) {
  auto r = decode_associate_request(R"({"AssociateId":919})");
  ASSERT_TRUE(std::holds_alternative<std::optional<std::int64_t>>(r));
  EXPECT_EQ(std::get<std::optional<std::int64_t>>(r), 919);
  EXPECT_EQ(std::get<std::optional<std::int64_t>>(decode_associate_request("  ")), std::nullopt);
  EXPECT_EQ(std::get<std::optional<std::int64_t>>(decode_associate_request("919")), 919);
  EXPECT_TRUE(std::holds_alternative<api_error>(decode_associate_request(R"({"AssociateId":0})")));
  EXPECT_TRUE(std::holds_alternative<api_error>(decode_associate_request(R"({"AssociateId":1e30})")));
}

device_info sample_device() {
  device_info d;
  d.device_identifier = "id<1>";
  d.device_name = "Bob & Co";
  d.pns_handle = "tok";
  d.platform = notification_platform::apple_ad_hoc;
  d.language = "nb-NO";
  d.time_zone_id = 261;
  return d;
}

TEST(PocketCodec, EncodesJsonWithSelect) {
  auto all = boost::json::parse(encode_devices_json({sample_device()}, {}));
  ASSERT_EQ(all.as_array().size(), 1u);
  const auto& o = all.as_array()[0].as_object();
  EXPECT_EQ(o.at("Platform").as_string(), "AppleAdHoc");
  EXPECT_EQ(o.at("TimeZoneId").as_int64(), 261);
  EXPECT_EQ(o.size(), 8u);

  auto sel = boost::json::parse(encode_devices_json({sample_device()}, parse_select("deviceidentifier,Language")));
  const auto& s = sel.as_array()[0].as_object();
  EXPECT_EQ(s.at("DeviceIdentifier").as_string(), "id<1>");
  EXPECT_EQ(s.at("Language").as_string(), "nb-NO");
  EXPECT_TRUE(s.at("DeviceName").is_null());
  EXPECT_TRUE(s.at("TimeZoneId").is_null());
}

TEST(PocketCodec, EncodesXmlEscapedWithNils) {
  auto xml = encode_devices_xml({sample_device()}, parse_select("DeviceName,DeviceIdentifier"));
  EXPECT_NE(xml.find("<DeviceName>Bob &amp; Co</DeviceName>"), std::string::npos);
  EXPECT_NE(xml.find("<DeviceIdentifier>id&lt;1&gt;</DeviceIdentifier>"), std::string::npos);
  EXPECT_NE(xml.find("<PNSHandle i:nil=\"true\"/>"), std::string::npos);
  EXPECT_NE(xml.find("<ArrayOfPocketDeviceInfo"), std::string::npos);
}

TEST(PocketCodec, ErrorBodies) {
  auto j = boost::json::parse(encode_error_json({400, "ArgumentException", "bad \"x\""}));
  EXPECT_EQ(j.at("Error").as_bool(), true);
  EXPECT_EQ(j.at("ErrorType").as_string(), "ArgumentException");
  EXPECT_EQ(j.at("ErrorMessage").as_string(), "bad \"x\"");
  EXPECT_EQ(j.at("ErrorSource").as_string(), "Herald");
  EXPECT_NE(encode_error_xml({400, "A", "x<y"}).find("<ErrorMessage>x&lt;y</ErrorMessage>"), std::string::npos);
}

}  // namespace
}  // namespace herald
