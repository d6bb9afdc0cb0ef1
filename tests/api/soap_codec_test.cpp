#include "api/soap/soap_codec.hpp"

#include <gtest/gtest.h>

#include <pugixml.hpp>

#include <boost/json/parse.hpp>

#include "api/foreign_system/foreign_system_codec.hpp"
#include "api/pocket/pocket_codec.hpp"
#include "tests/api/seed_envelopes.hpp"

namespace herald {
namespace {

using test::replace_all;

soap_request decode_ok(const std::string& body, std::string_view ct = "application/soap+xml", std::string_view action = "") {
  auto r = decode_soap_request(body, ct, action);
  if (auto* f = std::get_if<soap_decode_failure>(&r)) {
    ADD_FAILURE() << f->error.message;
    return {};
  }
  return std::get<soap_request>(r);
}

soap_decode_failure decode_fail(const std::string& body, std::string_view ct = "text/xml", std::string_view action = "") {
  auto r = decode_soap_request(body, ct, action);
  if (std::holds_alternative<soap_request>(r)) {
    ADD_FAILURE() << "accepted: " << body.substr(0, 200);
    return {};
  }
  return std::get<soap_decode_failure>(r);
}

TEST(SoapCodec, Seed000AsWritten) {
  auto body = replace_all(replace_all(replace_all(test::seed000_request, "TICKET", "t0k"), "DEVICE_IDENTIFIER", "dev-1"), "PNS_HANDLE", "tok");
  auto r = decode_ok(body);
  EXPECT_EQ(r.version, soap_version::soap12);
  EXPECT_EQ(r.operation, "RegisterDeviceForPushNotification");
  EXPECT_EQ(r.application_token, "1234567-1234-9876");
  EXPECT_EQ(r.ticket, "t0k");
  auto dev = decode_register_device(r.parameters_json);
  ASSERT_TRUE(std::holds_alternative<register_device_request>(dev)) << r.parameters_json;
  const auto& d = std::get<register_device_request>(dev).device;
  EXPECT_EQ(d.device_name, "John's iPhone 14 Pro");
  EXPECT_EQ(d.device_identifier, "dev-1");
  EXPECT_EQ(d.pocket_version, "10.2.1");
  EXPECT_EQ(d.language, "en-US");
  EXPECT_EQ(d.pns_handle, "tok");
  EXPECT_EQ(d.platform, notification_platform::apple);
  EXPECT_EQ(d.os_version, "iOS 17.1");
}

TEST(SoapCodec, Seed003AndSeed004AsWritten) {
  auto body = test::seed003_request;
  for (auto [k, v] : {std::pair{"TICKET", "t"}, {"APPLICATION", "App"}, {"DEVICE_NAME", "Phone"}, {"DEVICE_IDENTIFIER", "d1"},
                      {"KEY_NAME", "crmid"}, {"TABLE_NAME", "contact"}, {"RECORD_ID", "42"}})
    body = replace_all(body, k, v);
  auto r = decode_ok(body);
  EXPECT_EQ(r.operation, "GetKeyOnDeviceIdentifier");
  auto k = decode_foreign_key_request(r.parameters_json);
  ASSERT_TRUE(std::holds_alternative<foreign_key_request>(k)) << r.parameters_json;
  const auto& kr = std::get<foreign_key_request>(k);
  EXPECT_EQ(kr.device.application, "App");
  EXPECT_EQ(kr.device.device_name, "Phone");
  EXPECT_EQ(kr.device.device_identifier, "d1");
  EXPECT_EQ(kr.key_name, "crmid");
  EXPECT_EQ(kr.table_name, "contact");
  EXPECT_EQ(kr.record_id, 42);

  auto b = decode_ok(replace_all(test::seed004_request, "TICKET", "t"), "application/soap+xml");
  EXPECT_EQ(b.operation, "RunAppointmentAlarmBroker");
  EXPECT_EQ(b.parameters_json, "{}");
}

TEST(SoapCodec, Soap11WithHeaderAndSoapAction) {
  auto body = test::soap11_envelope("http://www.superoffice.net/ws/crm/NetServer/Services88", "tick",
                                    "<tns:GetRegisteredDevices><tns:AssociateId>919</tns:AssociateId></tns:GetRegisteredDevices>");
  auto r = decode_ok(body, "text/xml; charset=utf-8", "\"http://www.superoffice.net/ws/crm/NetServer/Services88/Pocket/GetRegisteredDevices\"");
  EXPECT_EQ(r.version, soap_version::soap11);
  EXPECT_EQ(r.ticket, "tick");
  EXPECT_EQ(r.application_token, "1234567-1234-9876");
  EXPECT_EQ(boost::json::parse(r.parameters_json).at("AssociateId").as_int64(), 919);
  // The operation from SOAPAction when the Body is empty; from action= on SOAP 1.2.
  auto empty = test::soap11_envelope("urn:x", "t", "");
  EXPECT_EQ(decode_ok(empty, "text/xml", "urn:x/Pocket/RunAppointmentAlarmBroker").operation, "RunAppointmentAlarmBroker");
  EXPECT_EQ(decode_ok(empty, "application/soap+xml; action=\"urn:x/Pocket/RunAppointmentAlarmBroker\"").operation,
            "RunAppointmentAlarmBroker");
}

TEST(SoapCodec, RefusedEnvelopes) {
  struct row {
    const char* name;
    std::string body;
    std::string action;
    std::string message;
  };
  std::string deep = std::string("<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://www.w3.org/2003/05/soap-envelope\"><SOAP-ENV:Body>");
  for (int i = 0; i < 40; ++i) deep += "<a>";
  for (int i = 0; i < 40; ++i) deep += "</a>";
  deep += "</SOAP-ENV:Body></SOAP-ENV:Envelope>";
  std::string wide = "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://www.w3.org/2003/05/soap-envelope\"><SOAP-ENV:Body><op>";
  for (int i = 0; i < 10001; ++i) wide += "<x/>";
  wide += "</op></SOAP-ENV:Body></SOAP-ENV:Envelope>";
  std::vector<row> rows{
      {"billion laughs", test::billion_laughs, "", "DOCTYPE"},
      {"xxe", test::xxe, "", "DOCTYPE"},
      {"entity without doctype", "<!ENTITY x 'y'><a/>", "", "DOCTYPE"},
      {"malformed", "<SOAP-ENV:Envelope", "", "malformed XML"},
      {"empty", "", "", "malformed XML"},
      {"not an envelope", "<Envelope/>", "", "not a SOAP envelope"},
      {"no body", "<e:Envelope xmlns:e=\"http://schemas.xmlsoap.org/soap/envelope/\"/>", "", "no Body"},
      {"empty body, no action", test::soap11_envelope("urn:x", "t", ""), "", "no SOAPAction"},
      {"action mismatch", test::soap11_envelope("urn:x", "t", "<GetRegisteredDevices/>"), "urn:x/RunAppointmentAlarmBroker", "SOAPAction names"},
      {"duplicate element", test::soap11_envelope("urn:x", "t", "<Op><A>1</A><A>2</A></Op>"), "", "more than once"},
      {"too deep", deep, "", "deeper than"},
      {"too many elements", wide, "", "more than 10000 elements"},
      {"too large", std::string(max_xml_size + 1, ' '), "", "larger than"},
  };
  for (const auto& r : rows) {
    auto f = decode_fail(r.body, "text/xml", r.action);
    EXPECT_NE(f.error.message.find(r.message), std::string::npos) << r.name << ": " << f.error.message;
    EXPECT_GE(f.error.status, 400) << r.name;
    EXPECT_LT(f.error.status, 500) << r.name;
  }
  // The fault's version follows the envelope, or Content-Type when unparsable.
  EXPECT_EQ(decode_fail("<x", "application/soap+xml").version, soap_version::soap12);
  EXPECT_EQ(decode_fail("<x", "text/xml").version, soap_version::soap11);
}

TEST(SoapCodec, XmlRequestBodiesBecomeJson) {
  auto j = xml_request_to_json(
      "<SendPushNotification xmlns=\"http://schemas.datacontract.org/x\" xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\">"
      "<AssociateIds><int>919</int><int>42</int></AssociateIds><Message><Title>Hi</Title><Silent>true</Silent>"
      "<TimeToLive>60</TimeToLive><Url i:nil=\"true\"/><ExtraValues><KeyValueOfstringstring><Key>k</Key><Value>v</Value>"
      "</KeyValueOfstringstring></ExtraValues></Message></SendPushNotification>");
  ASSERT_TRUE(std::holds_alternative<std::string>(j)) << std::get<api_error>(j).message;
  auto v = boost::json::parse(std::get<std::string>(j));
  EXPECT_EQ(v.at("AssociateIds").as_array().size(), 2u);
  EXPECT_EQ(v.at("AssociateIds").as_array()[1].as_int64(), 42);
  EXPECT_EQ(v.at("Message").at("Title").as_string(), "Hi");
  EXPECT_EQ(v.at("Message").at("Silent").as_bool(), true);
  EXPECT_EQ(v.at("Message").at("TimeToLive").as_int64(), 60);
  EXPECT_TRUE(v.at("Message").at("Url").is_null());
  EXPECT_EQ(v.at("Message").at("ExtraValues").at("k").as_string(), "v");
  auto m = decode_send_push(std::get<std::string>(j));
  ASSERT_TRUE(std::holds_alternative<push_message>(m));
  // A non-numeric AssociateId stays text: the decoder names the property.
  auto bad = xml_request_to_json("<r><AssociateId>abc</AssociateId></r>");
  auto a = decode_associate_request(std::get<std::string>(bad));
  ASSERT_TRUE(std::holds_alternative<api_error>(a));
  EXPECT_NE(std::get<api_error>(a).message.find("AssociateId"), std::string::npos);
  EXPECT_TRUE(std::holds_alternative<api_error>(xml_request_to_json(test::xxe)));
}

TEST(SoapCodec, ResponsesMatchTheSeedsByteForByte) {
  soap_service p87{soap_agent::pocket, 87}, p88{soap_agent::pocket, 88}, f84{soap_agent::foreign_system, 84};
  EXPECT_EQ(encode_soap_response(soap_version::soap12, p87, "RegisterDeviceForPushNotification", nullptr), test::seed000_response);
  EXPECT_EQ(encode_soap_response(soap_version::soap12, p88, "RunAppointmentAlarmBroker", nullptr), test::seed004_response);
  auto empty_key = foreign_key_value(foreign_key{});
  EXPECT_EQ(encode_soap_response(soap_version::soap12, f84, "GetKeyOnDeviceIdentifier", &empty_key), test::seed003_empty_response);
  // SOAP 1.1: same shape, 1.1 namespaces.
  auto r11 = encode_soap_response(soap_version::soap11, p88, "RunAppointmentAlarmBroker", nullptr);
  EXPECT_NE(r11.find("xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\""), std::string::npos);
  EXPECT_NE(r11.find("xmlns:SOAP-ENC=\"http://schemas.xmlsoap.org/soap/encoding/\""), std::string::npos);
  EXPECT_EQ(soap_content_type(soap_version::soap11), "text/xml; charset=utf-8");
  EXPECT_EQ(soap_content_type(soap_version::soap12), "application/soap+xml; charset=utf-8");
}

TEST(SoapCodec, FaultsInBothVersions) {
  soap_service p{soap_agent::pocket, 88};
  auto f11 = encode_soap_fault(soap_version::soap11, p, {401, "SoAuthenticationException", "bad <ticket>"});
  EXPECT_NE(f11.find("<faultcode>SOAP-ENV:Client</faultcode>"), std::string::npos) << f11;
  EXPECT_NE(f11.find("<faultstring>bad &lt;ticket&gt;</faultstring>"), std::string::npos);
  EXPECT_NE(f11.find("<Pocket:ExceptionType>SoAuthenticationException</Pocket:ExceptionType>"), std::string::npos);
  EXPECT_NE(f11.find("<Pocket:Source>Herald</Pocket:Source>"), std::string::npos);
  EXPECT_NE(f11.find("<Pocket:StackTrace></Pocket:StackTrace>"), std::string::npos);
  EXPECT_NE(f11.find("<Pocket:Succeeded>false</Pocket:Succeeded>"), std::string::npos);
  auto f12 = encode_soap_fault(soap_version::soap12, p, {503, "ServiceUnavailable", "not wired"});
  EXPECT_NE(f12.find("<SOAP-ENV:Value>SOAP-ENV:Receiver</SOAP-ENV:Value>"), std::string::npos) << f12;
  EXPECT_NE(f12.find("<SOAP-ENV:Text xml:lang=\"en\">not wired</SOAP-ENV:Text>"), std::string::npos);
  EXPECT_NE(f12.find("<SOAP-ENV:Detail>"), std::string::npos);
  // Faults are well-formed XML the decoder's parser accepts.
  EXPECT_TRUE(std::holds_alternative<std::string>(xml_request_to_json(f11)));
  EXPECT_TRUE(std::holds_alternative<std::string>(xml_request_to_json(f12)));
}

TEST(SoapCodec, WsdlListsEveryOperation) {
  for (auto svc : {soap_service{soap_agent::pocket, 87}, soap_service{soap_agent::pocket, 88},
                   soap_service{soap_agent::foreign_system, 84}, soap_service{soap_agent::foreign_system, 88}}) {
    auto w = generate_wsdl(svc, "http://h" + svc.path());
    pugi::xml_document doc;
    EXPECT_TRUE(doc.load_string(w.c_str())) << "not well-formed";
    EXPECT_NE(w.find("targetNamespace=\"" + svc.ns() + "\""), std::string::npos);
    EXPECT_NE(w.find("location=\"http://h" + svc.path() + "\""), std::string::npos);
    std::vector<std::string> ops = svc.agent == soap_agent::pocket
                                       ? std::vector<std::string>{"RegisterDeviceForPushNotification", "GetRegisteredDevices",
                                                                  "SetPushNotificationTagsForDevice", "SetPushNotificationTagsForUser",
                                                                  "GetPushNotificationTagsForDevice", "SendPushNotification",
                                                                  "RunAppointmentAlarmBroker"}
                                       : std::vector<std::string>{"GetKeyOnDeviceIdentifier", "GetKeyValueOnDeviceIdentifier",
                                                                  "SaveForeignKey", "DeleteForeignKeyOnName",
                                                                  "GetDeviceKeysOnDeviceIdentifier", "AddDeviceByIdentifier",
                                                                  "GetDeviceByIdentifier", "DeleteDeviceByIdentifier",
                                                                  "GetApplicationDevices"};
    for (const auto& op : ops) {
      EXPECT_NE(w.find("<xsd:element name=\"" + op + "\">"), std::string::npos) << op;
      EXPECT_NE(w.find("soapAction=\"" + svc.ns() + "/" + std::string(svc.prefix()) + "/" + op + "\""), std::string::npos) << op;
      EXPECT_EQ(soap_operation(svc, op), op);
    }
  }
  EXPECT_EQ(soap_service_for_path("/remote/services87/pocket.svc")->release, 87);
  EXPECT_FALSE(soap_service_for_path("/remote/services87/foreignsystem.svc"));
  EXPECT_EQ(soap_operation(soap_service{soap_agent::pocket, 88}, "getregistereddevices"), "GetRegisteredDevices");
  EXPECT_FALSE(soap_operation(soap_service{soap_agent::pocket, 88}, "GetKeyOnDeviceIdentifier"));
}

}  // namespace
}  // namespace herald
