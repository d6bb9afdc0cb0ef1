// Table-driven validation of the Pocket (tags, SendPushNotification) and
// ForeignSystem request decoders.
#include "api/pocket/pocket_codec.hpp"

#include <gtest/gtest.h>

#include "api/foreign_system/foreign_system_codec.hpp"

namespace herald {
namespace {

template <typename T>
std::string outcome(const decoded<T>& d) {
  if (auto* e = std::get_if<api_error>(&d)) return std::to_string(e->status) + " " + e->message;
  return "ok";
}

struct row {
  const char* body;
  const char* expect;  // "ok" or a fragment of "<status> <message>"
};

void run(const std::vector<row>& rows, const std::function<std::string(std::string_view)>& decode) {
  for (const auto& r : rows) {
    auto got = decode(r.body);
    if (std::string_view(r.expect) == "ok") EXPECT_EQ(got, "ok") << r.body;
    else EXPECT_NE(got.find(r.expect), std::string::npos) << r.body << " -> " << got;
  }
}

TEST(PocketTags, ParseAndCanonicalize) {
  auto t = parse_tags(" appointmentalarm, NEWTICKET,,AppointmentAlarm ,all");
  ASSERT_TRUE(std::holds_alternative<std::vector<std::string>>(t));
  EXPECT_EQ(std::get<std::vector<std::string>>(t), (std::vector<std::string>{"AppointmentAlarm", "NewTicket", "All"}));
  EXPECT_TRUE(std::get<std::vector<std::string>>(parse_tags("")).empty());
  EXPECT_EQ(join_tags(std::nullopt), "All");
  EXPECT_EQ(join_tags(std::vector<std::string>{}), "");
  EXPECT_EQ(join_tags(std::vector<std::string>{"A", "B"}), "A,B");
  for (auto name : accepted_tags()) EXPECT_TRUE(std::holds_alternative<std::vector<std::string>>(parse_tags(name))) << name;
}

TEST(PocketTags, DeviceTagValidation) {
  std::string long_tag(max_tag_size + 1, 'x');
  std::string many;
  for (int i = 0; i < 70; ++i) many += "\"NewTicket\",";
  many.pop_back();
  std::string long_id(max_device_identifier_size + 1, 'd');
  std::vector<std::string> bodies{R"({"DeviceIdentifier":"d","Tags":")" + long_tag + "\"}",
                                  R"({"DeviceIdentifier":")" + long_id + R"(","Tags":""})"};
  run({{R"({"DeviceIdentifier":"d","Tags":"AppointmentAlarm,NewTicket"})", "ok"},
       {R"({"deviceidentifier":"d","tags":["AppointmentAlarm","TicketEscalated"]})", "ok"},
       {R"({"DeviceIdentifier":"d","Tags":""})", "ok"},
       {R"({"DeviceIdentifier":"d","Tags":"Birthday"})", "400 Tags: 'Birthday' is not a notification event"},
       {R"({"DeviceIdentifier":"d","Tags":"Unknown"})", "is not a notification event"},
       {R"({"DeviceIdentifier":"d"})", "400 Tags is required"},
       {R"({"DeviceIdentifier":"d","Tags":5})", "Tags must be a string"},
       {R"({"DeviceIdentifier":"d","Tags":[5]})", "array of strings"},
       {R"({"DeviceIdentifier":"d","Tags":["A,B"]})", "contains a comma"},
       {R"({"Tags":"All"})", "400 DeviceIdentifier is required"},
       {R"({"DeviceIdentifier":"","Tags":"All"})", "DeviceIdentifier is required"},
       {R"({"DeviceIdentifier":"a\u0001","Tags":"All"})", "control characters"},
       {R"({"DeviceIdentifier":7,"Tags":"All"})", "DeviceIdentifier must be a string"},
       {"", "request body is required"},
       {"[1]", "JSON object"},
       {"{", "malformed JSON"}},
      [](std::string_view b) { return outcome(decode_device_tags(b)); });
  EXPECT_NE(outcome(decode_device_tags(bodies[0])).find("longer than 128"), std::string::npos);
  EXPECT_NE(outcome(decode_device_tags(bodies[1])).find("longer than 256"), std::string::npos);
  EXPECT_NE(outcome(decode_device_tags(R"({"DeviceIdentifier":"d","Tags":[)" + many + "]}")).find("more than 64"), std::string::npos);
}

TEST(PocketTags, UserAndGetValidation) {
  run({{R"({"AssociateId":919,"Tags":"All"})", "ok"},
       {R"({"Tags":"All"})", "ok"},
       {R"({"AssociateId":0,"Tags":"All"})", "AssociateId must be a positive"},
       {R"({"AssociateId":"x","Tags":"All"})", "AssociateId must be a positive"},
       {R"({"AssociateId":919})", "Tags is required"},
       {R"({"AssociateId":919,"Tags":"Nope"})", "not a notification event"}},
      [](std::string_view b) { return outcome(decode_user_tags(b)); });
  run({{R"({"DeviceIdentifier":"d"})", "ok"}, {"{}", "DeviceIdentifier is required"}, {"", "request body is required"}},
      [](std::string_view b) { return outcome(decode_device_identifier_request(b)); });
}

TEST(PocketSendPush, Decodes) {
  auto m = decode_send_push(R"({"AssociateIds":[919,42,919],"Message":{"Title":"T","Message":"B","Url":"https://x","Silent":false,
    "Type":"importantmessage","TimeToLive":3600,"RecordId":12,"Date":"2026-11-24T13:00:00Z","Duration":"00:15:00",
    "ExtraValues":{"k":"v"}}})");
  ASSERT_TRUE(std::holds_alternative<push_message>(m)) << outcome(m);
  const auto& p = std::get<push_message>(m);
  EXPECT_EQ(p.associate_ids, (std::vector<std::int64_t>{919, 42}));
  EXPECT_EQ(p.title, "T");
  EXPECT_EQ(p.body, "B");
  EXPECT_EQ(p.url, "https://x");
  EXPECT_EQ(p.event, "ImportantMessage");
  EXPECT_EQ(p.time_to_live_s, 3600);
  auto data = [&](const std::string& k) {
    for (const auto& [key, v] : p.data)
      if (key == k) return v;
    return std::string("<none>");
  };
  EXPECT_EQ(data("Type"), "ImportantMessage");
  EXPECT_EQ(data("RecordId"), "12");
  EXPECT_EQ(data("Date"), "2026-11-24T13:00:00Z");
  EXPECT_EQ(data("Duration"), "00:15:00");
  EXPECT_EQ(data("k"), "v");
}

TEST(PocketSendPush, Validation) {
  std::string ids;
  for (int i = 1; i <= 1001; ++i) ids += std::to_string(i) + ",";
  ids.pop_back();
  std::string many_extra;
  for (int i = 0; i < 33; ++i) many_extra += "\"k" + std::to_string(i) + "\":\"v\",";
  many_extra.pop_back();
  run({{R"({"AssociateIds":[1],"Message":{"Title":"t"}})", "ok"},
       {R"({"AssociateIds":[1],"Message":{"Silent":true}})", "ok"},
       {R"({"AssociateIds":[1],"Message":{"Title":"t","ExtraValues":[{"Key":"a","Value":"b"}]}})", "ok"},
       {R"({"Message":{"Title":"t"}})", "400 AssociateIds is required"},
       {R"({"AssociateIds":5,"Message":{"Title":"t"}})", "AssociateIds must be an array"},
       {R"({"AssociateIds":[],"Message":{"Title":"t"}})", "AssociateIds is empty"},
       {R"({"AssociateIds":[-1],"Message":{"Title":"t"}})", "positive 32-bit"},
       {R"({"AssociateIds":["a"],"Message":{"Title":"t"}})", "positive 32-bit"},
       {R"({"AssociateIds":[1]})", "Message is required"},
       {R"({"AssociateIds":[1],"Message":"hi"})", "Message must be an object"},
       {R"({"AssociateIds":[1],"Message":{}})", "Title or Message.Message is required"},
       {R"({"AssociateIds":[1],"Message":{"Title":5}})", "Message.Title must be a string"},
       {R"({"AssociateIds":[1],"Message":{"Title":"t","Silent":"yes"}})", "Silent must be true or false"},
       {R"({"AssociateIds":[1],"Message":{"Title":"t","Type":"Shout"}})", "Message.Type 'Shout'"},
       {R"({"AssociateIds":[1],"Message":{"Title":"t","TimeToLive":-1}})", "TimeToLive must be between"},
       {R"({"AssociateIds":[1],"Message":{"Title":"t","TimeToLive":99999999}})", "TimeToLive must be between"},
       {R"({"AssociateIds":[1],"Message":{"Title":"t","RecordId":-3}})", "RecordId must be"},
       {R"({"AssociateIds":[1],"Message":{"Title":"t","Date":"tomorrow"}})", "Date must be an ISO 8601"},
       {R"({"AssociateIds":[1],"Message":{"Title":"t","Duration":{}}})", "Duration must be"},
       {R"({"AssociateIds":[1],"Message":{"Title":"t","ExtraValues":{"k":1}}})", "values must be strings"},
       {R"({"AssociateIds":[1],"Message":{"Title":"t","ExtraValues":{"":"v"}}})", "keys must be 1 to 128"},
       {R"({"AssociateIds":[1],"Message":{"Title":"t","ExtraValues":"x"}})", "ExtraValues must be an object"},
       {R"({"AssociateIds":[1],"Message":{"Title":"t","ExtraValues":[{"Value":"v"}]}})", "need a string Key"},
       {"", "request body is required"}},
      [](std::string_view b) { return outcome(decode_send_push(b)); });
  EXPECT_NE(outcome(decode_send_push(R"({"AssociateIds":[)" + ids + R"(],"Message":{"Title":"t"}})")).find("more than 1000"), std::string::npos);
  EXPECT_NE(outcome(decode_send_push(R"({"AssociateIds":[1],"Message":{"Title":"t","ExtraValues":{)" + many_extra + "}}}")).find("more than 32"),
            std::string::npos);
  EXPECT_NE(outcome(decode_send_push(R"({"AssociateIds":[1],"Message":{"Title":")" + std::string(513, 't') + "\"}}")).find("longer than 512"),
            std::string::npos);
}

TEST(ForeignSystemCodec, Validation) {
  std::string long_name(256, 'n');
  run({{R"({"ApplicationName":"A","DeviceName":"","DeviceIdentifier":"d","KeyName":"k","TableName":"","RecordId":0})", "ok"},
       {R"({"applicationname":"A","deviceidentifier":"d","keyname":"k","tablename":"contact","recordid":5})", "ok"},
       {R"({"DeviceIdentifier":"d","KeyName":"k"})", "400 ApplicationName is required"},
       {R"({"ApplicationName":"A","KeyName":"k"})", "DeviceIdentifier is required"},
       {R"({"ApplicationName":"A","DeviceIdentifier":"d"})", "KeyName is required"},
       {R"({"ApplicationName":"A","DeviceIdentifier":"d","KeyName":"k","RecordId":-1})", "RecordId must be a non-negative"},
       {R"({"ApplicationName":"A","DeviceIdentifier":"d","KeyName":"k","RecordId":"x"})", "RecordId must be a non-negative"},
       {R"({"ApplicationName":"A","DeviceIdentifier":"d","KeyName":"k","RecordId":4294967296})", "RecordId must be a non-negative"},
       {R"({"ApplicationName":5,"DeviceIdentifier":"d","KeyName":"k"})", "ApplicationName must be a string"},
       {R"({"ApplicationName":"A\n","DeviceIdentifier":"d","KeyName":"k"})", "control characters"},
       {"", "request body is required"},
       {"[]", "JSON object"}},
      [](std::string_view b) { return outcome(decode_foreign_key_request(b)); });
  auto k = decode_foreign_key_request(R"({"ApplicationName":"A","DeviceIdentifier":"d","KeyName":"k","TableName":"","RecordId":7})");
  EXPECT_EQ(std::get<foreign_key_request>(k).record_id, 0);  // empty TableName means RecordId 0
  EXPECT_NE(outcome(decode_foreign_key_request(R"({"ApplicationName":")" + long_name + R"(","DeviceIdentifier":"d","KeyName":"k"})"))
                .find("longer than 255"),
            std::string::npos);
  run({{R"({"ApplicationName":"A","DeviceIdentifier":"d","ForeignKey":{"Key":"k","Value":"v","TableName":"t","RecordId":1}})", "ok"},
       {R"({"ApplicationName":"A","DeviceIdentifier":"d"})", "ForeignKey is required"},
       {R"({"ApplicationName":"A","DeviceIdentifier":"d","ForeignKey":[]})", "ForeignKey must be an object"},
       {R"({"ApplicationName":"A","DeviceIdentifier":"d","ForeignKey":{"Value":"v"}})", "ForeignKey.Key is required"},
       {R"({"ApplicationName":"A","DeviceIdentifier":"d","ForeignKey":{"Key":"k","Value":7}})", "ForeignKey.Value must be a string"}},
      [](std::string_view b) { return outcome(decode_save_foreign_key(b)); });
  EXPECT_NE(outcome(decode_save_foreign_key(R"({"ApplicationName":"A","DeviceIdentifier":"d","ForeignKey":{"Key":"k","Value":")" +
                                            std::string(4097, 'v') + "\"}}"))
                .find("longer than 4096"),
            std::string::npos);
  run({{R"({"ApplicationName":"A","DeviceIdentifier":"d"})", "ok"}, {R"({"ApplicationName":"A"})", "DeviceIdentifier is required"}},
      [](std::string_view b) { return outcome(decode_foreign_device_request(b)); });
  run({{R"({"ApplicationName":"A"})", "ok"}, {"{}", "ApplicationName is required"}},
      [](std::string_view b) { return outcome(decode_application_request(b)); });
}

TEST(AgentValue, JsonAndXml) {
  foreign_key k{"crmid", "4<7", "contact", 5, "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "crm", "crm2"};
  auto v = foreign_key_value(k);
  EXPECT_EQ(encode_value_json(v),
            R"({"Key":"crmid","Value":"4<7","RecordId":5,"CreatedDate":"2026-01-01T00:00:00Z","UpdatedDate":"2026-01-02T00:00:00Z","UpdatedBy":"crm2","CreatedBy":"crm","TableName":"contact"})");
  auto x = encode_value_xml(foreign_keys_value({k}));
  EXPECT_NE(x.find("<ArrayOfForeignKey xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\"><ForeignKey><Key>crmid</Key><Value>4&lt;7</Value>"),
            std::string::npos)
      << x;
  EXPECT_NE(encode_value_xml(agent_value::string("a&b")).find(">a&amp;b</string>"), std::string::npos);
  EXPECT_EQ(encode_value_json(agent_value::string("All")), "\"All\"");
  EXPECT_EQ(iso8601_utc(0), "0001-01-01T00:00:00Z");
  EXPECT_EQ(iso8601_utc(1680268783000), "2023-03-31T13:19:43Z");
}

}  // namespace
}  // namespace herald
