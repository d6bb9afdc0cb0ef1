// Black-box tests of the Pocket (tags, SendPushNotification, broker) and
// ForeignSystem agents over REST (JSON and XML) and SOAP 1.1/1.2, with the
// seed envelopes as test vectors: the real daemon, a real redis-server.
#include "tests/api/daemon_fixture.hpp"

#include <gtest/gtest.h>

#include <pugixml.hpp>

#include <boost/json/parse.hpp>

#include "tests/api/seed_envelopes.hpp"

namespace herald::test {
namespace {

namespace json = boost::json;

const std::string crm = "crm-token";        // associate 919: read, write, broker.run, messages.write
const std::string other = "other-token";    // associate 42: read, write
const std::string admin = "admin-token";    // no associate: read, write
const std::string reader = "reader-token";  // associate 919: devices.read only

const std::string ns87 = "http://www.superoffice.net/ws/crm/NetServer/Services87";
const std::string ns88 = "http://www.superoffice.net/ws/crm/NetServer/Services88";
const std::string ns84 = "http://www.superoffice.net/ws/crm/NetServer/Services84";

class agents_test : public herald_daemon_fixture {
 protected:
  std::vector<test_token> tokens() const override {
    return {{"crm", crm, "devices.read, devices.write, broker.run, messages.write", "919"},
            {"other", other, "devices.read, devices.write", "42"},
            {"admin", admin, "devices.read, devices.write", ""},
            {"reader", reader, "devices.read", "919"}};
  }
  std::string extra_config() const override { return "  application_tokens: [\"626f86e5c1e57e6e14a35051feb281c7a0e85b68c84d95b6066421d096e135b2\"]\n"; }

  http_response rest(const std::string& agent, const std::string& method, const std::string& body, const std::string& token,
                     std::map<std::string, std::string> headers = {}) {
    if (!token.empty()) headers["Authorization"] = "Bearer " + token;
    if (!headers.count("Content-Type")) headers["Content-Type"] = "application/json";
    return client().request("POST", "/api/v1/Agents/" + agent + "/" + method, body, headers);
  }
  http_response pocket(const std::string& method, const std::string& body, const std::string& token,
                       std::map<std::string, std::string> headers = {}) {
    return rest("Pocket", method, body, token, std::move(headers));
  }
  http_response foreign(const std::string& method, const std::string& body, const std::string& token,
                        std::map<std::string, std::string> headers = {}) {
    return rest("ForeignSystem", method, body, token, std::move(headers));
  }
  http_response soap(const std::string& path, const std::string& body, const std::string& content_type = "application/soap+xml; charset=utf-8",
                     const std::string& action = "") {
    std::map<std::string, std::string> h{{"Content-Type", content_type}};
    if (!action.empty()) h["SOAPAction"] = action;
    return client().request("POST", path, body, h);
  }
  void register_device(const std::string& id, const std::string& token, const std::string& extra = "") {
    auto r = pocket("RegisterDeviceForPushNotification",
                    R"({"DeviceInfo":{"DeviceName":"Phone","DeviceIdentifier":")" + id + R"(","PocketVersion":"10.2.1","Language":"en-US",
                    "PNSHandle":"tok-)" + id + R"(","Platform":"Apple","OSVersion":"iOS 17.1","TimeZoneId":261})" + extra + "}",
                    token);
    ASSERT_EQ(r.status, 204) << r.body;
  }
  static std::string seed003(const std::string& key, const std::string& table, const std::string& record,
                             const std::string& ticket = crm) {
    auto b = seed003_request;
    for (auto [k, v] : std::vector<std::pair<std::string, std::string>>{{"TICKET", ticket}, {"APPLICATION", "CrmSync"},
                                                                         {"DEVICE_NAME", "Phone"}, {"DEVICE_IDENTIFIER", "fs-dev"},
                                                                         {"KEY_NAME", key}, {"TABLE_NAME", table}, {"RECORD_ID", record}})
      b = replace_all(b, k, v);
    return b;
  }
};

pugi::xml_node at(const pugi::xml_document& doc, const char* path) { return doc.first_element_by_path(path); }

std::string error_type(const http_response& r) {
  try {
    return std::string(json::parse(r.body).at("ErrorType").as_string());
  } catch (const std::exception&) {
    return "<not a WebAPI error: " + r.body + ">";
  }
}

// A SOAP Fault's ExceptionType (either version), from its Detail.
std::string fault_type(const http_response& r) {
  pugi::xml_document doc;
  if (!doc.load_string(r.body.c_str())) return "<not XML: " + r.body + ">";
  auto fault = doc.first_element_by_path("SOAP-ENV:Envelope/SOAP-ENV:Body/SOAP-ENV:Fault");
  if (!fault) return "<no fault: " + r.body + ">";
  auto detail = fault.child("detail") ? fault.child("detail") : fault.child("SOAP-ENV:Detail");
  auto info = detail.first_child();  // <Pocket:ExceptionInfo> or <ForeignSystem:ExceptionInfo>
  std::string name = info.name();
  std::string prefix = name.substr(0, name.find(':') + 1);
  return info.child_value((prefix + "ExceptionType").c_str());
}

// ---- Seeds as test vectors -------------------------------------------------

TEST_F(agents_test, Seed000RegisterAsWrittenAnswersTheSeedResponse) {
  auto req = replace_all(replace_all(replace_all(seed000_request, "TICKET", crm), "DEVICE_IDENTIFIER", "iPhone-JA-14Pro-A2341"),
                         "PNS_HANDLE", "apns:device-token-abc123xyz789");
  auto r = soap("/Remote/Services87/Pocket.svc", req);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.header("content-type").find("application/soap+xml"), std::string::npos);
  EXPECT_EQ(r.body, seed000_response);
  auto list = pocket("GetRegisteredDevices", R"({"AssociateId":919})", crm);
  ASSERT_EQ(list.status, 200);
  auto d = json::parse(list.body).as_array().at(0).as_object();
  EXPECT_EQ(d.at("DeviceIdentifier").as_string(), "iPhone-JA-14Pro-A2341");
  EXPECT_EQ(d.at("DeviceName").as_string(), "John's iPhone 14 Pro");
  EXPECT_EQ(d.at("PNSHandle").as_string(), "apns:device-token-abc123xyz789");
  EXPECT_EQ(d.at("Platform").as_string(), "Apple");
  EXPECT_EQ(d.at("OSVersion").as_string(), "iOS 17.1");
  EXPECT_EQ(d.at("PocketVersion").as_string(), "10.2.1");
  EXPECT_EQ(d.at("Language").as_string(), "en-US");
}

TEST_F(agents_test, Seed000OverSoap11WithHeaderAndOn88) {
  auto body = soap11_envelope(ns88, crm,
                              "<tns:RegisterDeviceForPushNotification><tns:DeviceInfo><tns:DeviceIdentifier>s11</tns:DeviceIdentifier>"
                              "<tns:PNSHandle>t</tns:PNSHandle><tns:Platform>GoogleDeveloper</tns:Platform><tns:TimeZoneId>261</tns:TimeZoneId>"
                              "</tns:DeviceInfo></tns:RegisterDeviceForPushNotification>");
  auto r = soap("/Remote/Services88/Pocket.svc", body, "text/xml; charset=utf-8", "\"" + ns88 + "/Pocket/RegisterDeviceForPushNotification\"");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.header("content-type").find("text/xml"), std::string::npos);
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(r.body.c_str()));
  EXPECT_STREQ(at(doc, "SOAP-ENV:Envelope").attribute("xmlns:SOAP-ENV").value(), "http://schemas.xmlsoap.org/soap/envelope/");
  EXPECT_STREQ(at(doc, "SOAP-ENV:Envelope").attribute("xmlns:Pocket").value(), ns88.c_str());
  EXPECT_TRUE(at(doc, "SOAP-ENV:Envelope/SOAP-ENV:Body/Pocket:RegisterDeviceForPushNotificationResponse"));

  // GetRegisteredDevices over SOAP: PocketDeviceInfo[] element by element.
  auto list = soap("/Remote/Services88/Pocket.svc",
                   soap11_envelope(ns88, crm, "<tns:GetRegisteredDevices><tns:AssociateId>919</tns:AssociateId></tns:GetRegisteredDevices>"),
                   "text/xml");
  ASSERT_EQ(list.status, 200) << list.body;
  pugi::xml_document ld;
  ASSERT_TRUE(ld.load_string(list.body.c_str()));
  auto resp = at(ld, "SOAP-ENV:Envelope/SOAP-ENV:Body/Pocket:GetRegisteredDevicesResponse/Pocket:Response");
  EXPECT_STREQ(resp.attribute("xsi:type").value(), "Pocket:ArrayOfPocketDeviceInfo");
  auto dev = resp.child("Pocket:PocketDeviceInfo");
  EXPECT_STREQ(dev.attribute("xsi:type").value(), "Pocket:PocketDeviceInfo");
  EXPECT_STREQ(dev.child_value("Pocket:DeviceIdentifier"), "s11");
  EXPECT_STREQ(dev.child("Pocket:DeviceIdentifier").attribute("xsi:type").value(), "xsd:string");
  EXPECT_STREQ(dev.child_value("Pocket:Platform"), "GoogleDeveloper");
  EXPECT_STREQ(dev.child_value("Pocket:TimeZoneId"), "261");
  EXPECT_STREQ(dev.child("Pocket:TimeZoneId").attribute("xsi:type").value(), "xsd:int");
}

TEST_F(agents_test, Seed003MissingKeyAnswersTheEmptyForeignKey) {
  auto r = soap("/Remote/Services84/ForeignSystem.svc", seed003("crmid", "", "0"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, seed003_empty_response);
}

TEST_F(agents_test, Seed003StoredKeyElementByElement) {
  auto save = foreign("SaveForeignKey",
                      R"({"ApplicationName":"CrmSync","DeviceName":"Phone","DeviceIdentifier":"fs-dev",
                          "ForeignKey":{"Key":"crmid","Value":"4711","TableName":"contact","RecordId":12}})",
                      crm);
  ASSERT_EQ(save.status, 200) << save.body;
  auto r = soap("/Remote/Services84/ForeignSystem.svc", seed003("CRMID", "Contact", "12"));  // names match case-insensitively
  ASSERT_EQ(r.status, 200) << r.body;
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(r.body.c_str()));
  auto k = at(doc, "SOAP-ENV:Envelope/SOAP-ENV:Body/ForeignSystem:GetKeyOnDeviceIdentifierResponse/ForeignSystem:Response");
  EXPECT_STREQ(k.attribute("xsi:type").value(), "ForeignSystem:ForeignKey");
  std::vector<std::string> names;
  for (auto c : k.children()) names.emplace_back(c.name());
  EXPECT_EQ(names, (std::vector<std::string>{"ForeignSystem:Key", "ForeignSystem:Value", "ForeignSystem:RecordId", "ForeignSystem:CreatedDate",
                                             "ForeignSystem:UpdatedDate", "ForeignSystem:UpdatedBy", "ForeignSystem:CreatedBy",
                                             "ForeignSystem:TableName"}));
  EXPECT_STREQ(k.child_value("ForeignSystem:Key"), "crmid");
  EXPECT_STREQ(k.child_value("ForeignSystem:Value"), "4711");
  EXPECT_STREQ(k.child_value("ForeignSystem:RecordId"), "12");
  EXPECT_STREQ(k.child_value("ForeignSystem:TableName"), "contact");
  EXPECT_STREQ(k.child_value("ForeignSystem:CreatedBy"), "crm");
  EXPECT_STREQ(k.child_value("ForeignSystem:UpdatedBy"), "crm");
  std::string created = k.child_value("ForeignSystem:CreatedDate");
  EXPECT_EQ(created.size(), 20u);
  EXPECT_EQ(created.back(), 'Z');
  EXPECT_STREQ(k.child("ForeignSystem:CreatedDate").attribute("xsi:type").value(), "xsd:dateTime");
  // The same over Services88 with SOAP 1.1.
  auto r88 = soap("/Remote/Services88/ForeignSystem.svc",
                  soap11_envelope(ns88, crm,
                                  "<tns:GetKeyValueOnDeviceIdentifier><tns:ApplicationName>CrmSync</tns:ApplicationName><tns:DeviceName>Phone</tns:DeviceName>"
                                  "<tns:DeviceIdentifier>fs-dev</tns:DeviceIdentifier><tns:KeyName>crmid</tns:KeyName><tns:TableName>contact</tns:TableName>"
                                  "<tns:RecordId>12</tns:RecordId></tns:GetKeyValueOnDeviceIdentifier>"),
                  "text/xml");
  ASSERT_EQ(r88.status, 200) << r88.body;
  EXPECT_NE(r88.body.find("<ForeignSystem:Response xsi:type=\"xsd:string\">4711</ForeignSystem:Response>"), std::string::npos) << r88.body;
}

TEST_F(agents_test, Seed004RunsTheBrokerOrFaultsWhenNotWired) {
  auto r = soap("/Remote/Services88/Pocket.svc", replace_all(seed004_request, "TICKET", crm));
  if (r.status == 200) {
    EXPECT_EQ(r.body, seed004_response);
  } else {
    EXPECT_EQ(r.status, 500);
    EXPECT_EQ(fault_type(r), "ServiceUnavailable") << r.body;
  }
  auto rest_r = pocket("RunAppointmentAlarmBroker", "", crm, {{"Content-Type", ""}});
  EXPECT_TRUE(rest_r.status == 204 || rest_r.status == 503) << rest_r.status << rest_r.body;
  // broker.run is required.
  auto denied = soap("/Remote/Services88/Pocket.svc", replace_all(seed004_request, "TICKET", other));
  EXPECT_EQ(fault_type(denied), "SoAccessDeniedException");
  EXPECT_EQ(pocket("RunAppointmentAlarmBroker", "{}", other).status, 403);
}

// ---- SOAP errors ------------------------------------------------------------

TEST_F(agents_test, SoapFaults) {
  struct row {
    const char* name;
    std::string path, body, content_type, action, type;
  };
  auto seed4 = [](const std::string& ticket) { return replace_all(seed004_request, "TICKET", ticket); };
  std::vector<row> rows{
      {"bad ticket", "/Remote/Services88/Pocket.svc", seed4("nope"), "application/soap+xml", "", "SoAuthenticationException"},
      {"no ticket", "/Remote/Services88/Pocket.svc", replace_all(seed4(""), "<Pocket:Ticket></Pocket:Ticket>", ""), "application/soap+xml", "", "SoAuthenticationException"},
      {"bad app token", "/Remote/Services88/Pocket.svc", replace_all(seed4(crm), "1234567-1234-9876", "wrong"), "application/soap+xml", "", "SoAuthenticationException"},
      {"unknown op", "/Remote/Services88/Pocket.svc", soap11_envelope(ns88, crm, "<tns:NotifyUsers/>"), "text/xml", "", "SoNotFoundException"},
      {"op of the other agent", "/Remote/Services84/ForeignSystem.svc", seed4(crm), "application/soap+xml", "", "SoNotFoundException"},
      {"billion laughs", "/Remote/Services88/Pocket.svc", billion_laughs, "application/soap+xml", "", "SerializationException"},
      {"xxe", "/Remote/Services88/Pocket.svc", xxe, "text/xml", "", "SerializationException"},
      {"malformed", "/Remote/Services88/Pocket.svc", "<SOAP-ENV:Envelope", "text/xml", "", "SerializationException"},
      {"action mismatch", "/Remote/Services88/Pocket.svc", seed4(crm), "text/xml", ns88 + "/Pocket/GetRegisteredDevices", "SerializationException"},
      {"content type", "/Remote/Services88/Pocket.svc", seed4(crm), "application/json", "", "UnsupportedMediaType"},
      {"validation", "/Remote/Services87/Pocket.svc", replace_all(replace_all(replace_all(seed000_request, "TICKET", crm), "DEVICE_IDENTIFIER", ""), "PNS_HANDLE", "t"),
       "application/soap+xml", "", "ArgumentException"},
      {"reader cannot write", "/Remote/Services87/Pocket.svc", replace_all(replace_all(replace_all(seed000_request, "TICKET", reader), "DEVICE_IDENTIFIER", "x"), "PNS_HANDLE", "t"),
       "application/soap+xml", "", "SoAccessDeniedException"},
  };
  for (const auto& r : rows) {
    auto res = soap(r.path, r.body, r.content_type, r.action);
    EXPECT_EQ(res.status, 500) << r.name;
    EXPECT_EQ(fault_type(res), r.type) << r.name << ": " << res.body;
    EXPECT_NE(res.body.find("Herald</"), std::string::npos) << r.name;
  }
  // Shapes: 1.2 Code/Reason, 1.1 faultcode/faultstring.
  auto f12 = soap("/Remote/Services88/Pocket.svc", seed4("nope"));
  EXPECT_NE(f12.body.find("<SOAP-ENV:Value>SOAP-ENV:Sender</SOAP-ENV:Value>"), std::string::npos) << f12.body;
  EXPECT_NE(f12.header("content-type").find("application/soap+xml"), std::string::npos);
  auto f11 = soap("/Remote/Services88/Pocket.svc", soap11_envelope(ns88, "nope", "<tns:RunAppointmentAlarmBroker/>"), "text/xml");
  EXPECT_NE(f11.body.find("<faultcode>SOAP-ENV:Client</faultcode>"), std::string::npos) << f11.body;
  EXPECT_NE(f11.header("content-type").find("text/xml"), std::string::npos);
  // Nothing was stored by the refused calls; the daemon is still up.
  EXPECT_EQ(json::parse(pocket("GetRegisteredDevices", "{}", crm).body).as_array().size(), 0u);
}

TEST_F(agents_test, WsdlForEveryEndpoint) {
  for (auto [path, ns] : std::vector<std::pair<std::string, std::string>>{{"/Remote/Services84/ForeignSystem.svc", ns84},
                                                                          {"/Remote/Services87/Pocket.svc", ns87},
                                                                          {"/Remote/Services88/Pocket.svc", ns88},
                                                                          {"/Remote/Services88/ForeignSystem.svc", ns88}}) {
    auto r = client().request("GET", path + "?wsdl");
    ASSERT_EQ(r.status, 200) << path;
    pugi::xml_document doc;
    ASSERT_TRUE(doc.load_string(r.body.c_str())) << path;
    EXPECT_STREQ(doc.child("wsdl:definitions").attribute("targetNamespace").value(), ns.c_str());
    EXPECT_NE(r.body.find(path + "\"/></wsdl:port>"), std::string::npos) << r.body.substr(r.body.size() - 400);  // address from Host
  }
  EXPECT_EQ(client().request("GET", "/Remote/Services88/Pocket.svc").status, 405);
}

// ---- Pocket tags over REST -------------------------------------------------

TEST_F(agents_test, TagsSetGetKeptOnReRegistration) {
  register_device("t1", crm);
  auto never = pocket("GetPushNotificationTagsForDevice", R"({"DeviceIdentifier":"t1"})", crm);
  ASSERT_EQ(never.status, 200) << never.body;
  EXPECT_EQ(json::parse(never.body).as_string(), "All");
  ASSERT_EQ(pocket("SetPushNotificationTagsForDevice", R"({"DeviceIdentifier":"t1","Tags":"appointmentalarm, NewTicket"})", crm).status, 204);
  auto got = pocket("GetPushNotificationTagsForDevice", R"({"DeviceIdentifier":"t1"})", reader);
  EXPECT_EQ(json::parse(got.body).as_string(), "AppointmentAlarm,NewTicket");
  register_device("t1", crm);  // a re-registration keeps the tags
  got = pocket("GetPushNotificationTagsForDevice", R"({"DeviceIdentifier":"t1"})", crm, {{"Accept", "application/xml"}});
  EXPECT_EQ(got.body, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<string xmlns=\"http://schemas.microsoft.com/2003/10/Serialization/\">"
                      "AppointmentAlarm,NewTicket</string>");
  // The empty string: no notifications.
  ASSERT_EQ(pocket("SetPushNotificationTagsForDevice", R"({"DeviceIdentifier":"t1","Tags":""})", crm).status, 204);
  EXPECT_EQ(json::parse(pocket("GetPushNotificationTagsForDevice", R"({"DeviceIdentifier":"t1"})", crm).body).as_string(), "");
  // Stored in the device record.
  EXPECT_NE(redis_.cli("GET t" + std::to_string(port_) + ":device:t1").find("\"Tags\":[]"), std::string::npos);
}

TEST_F(agents_test, TagsForUserApplyToEveryDevice) {
  register_device("u1", crm);
  register_device("u2", crm);
  register_device("o1", other);
  ASSERT_EQ(pocket("SetPushNotificationTagsForUser", R"({"AssociateId":919,"Tags":"AppointmentMoved"})", crm).status, 204);
  for (auto id : {"u1", "u2"})
    EXPECT_EQ(json::parse(pocket("GetPushNotificationTagsForDevice", std::string(R"({"DeviceIdentifier":")") + id + "\"}", crm).body).as_string(),
              "AppointmentMoved");
  EXPECT_EQ(json::parse(pocket("GetPushNotificationTagsForDevice", R"({"DeviceIdentifier":"o1"})", other).body).as_string(), "All");
  // Without AssociateId: the credential's own associate; a service credential names one.
  ASSERT_EQ(pocket("SetPushNotificationTagsForUser", R"({"Tags":"All"})", crm).status, 204);
  ASSERT_EQ(pocket("SetPushNotificationTagsForUser", R"({"AssociateId":42,"Tags":"NewTicket"})", admin).status, 204);
  EXPECT_EQ(json::parse(pocket("GetPushNotificationTagsForDevice", R"({"DeviceIdentifier":"o1"})", admin).body).as_string(), "NewTicket");
}

TEST_F(agents_test, TagErrors) {
  register_device("mine", crm);
  register_device("theirs", other);
  struct row {
    const char* method;
    std::string body;
    std::string token;
    int status;
    std::string type;
  };
  std::vector<row> rows{
      // Another associate's device answers like an unknown one.
      {"SetPushNotificationTagsForDevice", R"({"DeviceIdentifier":"theirs","Tags":"All"})", crm, 404, "SoNotFoundException"},
      {"GetPushNotificationTagsForDevice", R"({"DeviceIdentifier":"theirs"})", crm, 404, "SoNotFoundException"},
      {"SetPushNotificationTagsForUser", R"({"AssociateId":42,"Tags":"All"})", crm, 403, "SoAccessDeniedException"},
      {"SetPushNotificationTagsForDevice", R"({"DeviceIdentifier":"mine","Tags":"All"})", reader, 403, "SoAccessDeniedException"},
      {"SetPushNotificationTagsForDevice", R"({"DeviceIdentifier":"ghost","Tags":"All"})", crm, 404, "SoNotFoundException"},
      {"GetPushNotificationTagsForDevice", R"({"DeviceIdentifier":"ghost"})", crm, 404, "SoNotFoundException"},
      {"SetPushNotificationTagsForDevice", R"({"DeviceIdentifier":"mine","Tags":"Lunch"})", crm, 400, "ArgumentException"},
      {"SetPushNotificationTagsForDevice", R"({"DeviceIdentifier":"mine"})", crm, 400, "ArgumentException"},
      {"SetPushNotificationTagsForDevice", R"({"Tags":"All"})", crm, 400, "ArgumentException"},
      {"SetPushNotificationTagsForUser", R"({"Tags":"All"})", admin, 400, "ArgumentException"},
      {"GetPushNotificationTagsForDevice", "{", crm, 400, "SerializationException"},
      {"GetPushNotificationTagsForDevice", R"({"DeviceIdentifier":"mine"})", "", 401, "SoAuthenticationException"},
  };
  for (const auto& r : rows) {
    auto res = pocket(r.method, r.body, r.token);
    EXPECT_EQ(res.status, r.status) << r.method << " " << r.body << " " << res.body;
    EXPECT_EQ(error_type(res), r.type) << r.method << " " << r.body;
  }
  EXPECT_EQ(pocket("SetPushNotificationTagsForDevice", R"({"DeviceIdentifier":"mine","Tags":"All"})", crm, {{"Content-Type", "text/plain"}}).status, 415);
  // Nothing changed.
  EXPECT_EQ(json::parse(pocket("GetPushNotificationTagsForDevice", R"({"DeviceIdentifier":"theirs"})", other).body).as_string(), "All");
}

TEST_F(agents_test, SendPushNotification) {
  auto ok = pocket("SendPushNotification", R"({"AssociateIds":[919],"Message":{"Title":"Hi","Message":"There","Type":"Message"}})", crm);
  EXPECT_TRUE(ok.status == 204 || (ok.status == 503 && error_type(ok) == "ServiceUnavailable")) << ok.status << ok.body;
  auto bad = pocket("SendPushNotification", R"({"AssociateIds":[],"Message":{"Title":"Hi"}})", crm);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(pocket("SendPushNotification", R"({"AssociateIds":[919],"Message":{"Title":"Hi"}})", other).status, 403);  // messages.write
  auto xml = pocket("SendPushNotification",
                    "<SendPushNotification><AssociateIds><int>919</int></AssociateIds><Message><Title>Hi</Title></Message></SendPushNotification>",
                    crm, {{"Content-Type", "application/xml"}});
  EXPECT_TRUE(xml.status == 204 || xml.status == 503) << xml.body;
}

// ---- REST XML bodies --------------------------------------------------------

TEST_F(agents_test, XmlRequestBodies) {
  auto r = pocket("RegisterDeviceForPushNotification",
                  "<RegisterDeviceForPushNotification><DeviceInfo><DeviceName>Xml phone</DeviceName><DeviceIdentifier>x1</DeviceIdentifier>"
                  "<PNSHandle>tok</PNSHandle><Platform>Google</Platform><TimeZoneId>261</TimeZoneId></DeviceInfo></RegisterDeviceForPushNotification>",
                  crm, {{"Content-Type", "application/xml; charset=utf-8"}});
  ASSERT_EQ(r.status, 204) << r.body;
  auto list = pocket("GetRegisteredDevices", "<GetRegisteredDevices><AssociateId>919</AssociateId></GetRegisteredDevices>", crm,
                     {{"Content-Type", "text/xml"}, {"Accept", "application/xml"}});
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_NE(list.body.find("<DeviceName>Xml phone</DeviceName><DeviceIdentifier>x1</DeviceIdentifier>"), std::string::npos) << list.body;
  auto bad = pocket("GetRegisteredDevices", xxe, crm, {{"Content-Type", "text/xml"}, {"Accept", "application/xml"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("<ErrorType>SerializationException</ErrorType>"), std::string::npos) << bad.body;
  auto fs = foreign("AddDeviceByIdentifier",
                    "<AddDeviceByIdentifier><ApplicationName>A</ApplicationName><DeviceName>P</DeviceName><DeviceIdentifier>d</DeviceIdentifier></AddDeviceByIdentifier>",
                    crm, {{"Content-Type", "text/xml"}, {"Accept", "text/xml"}});
  ASSERT_EQ(fs.status, 200) << fs.body;
  EXPECT_NE(fs.body.find("<ForeignDevice xmlns:i="), std::string::npos) << fs.body;
}

// ---- ForeignSystem over REST ----------------------------------------------

TEST_F(agents_test, ForeignSystemLifecycle) {
  const std::string dev = R"("ApplicationName":"Sync","DeviceName":"Phone","DeviceIdentifier":"D-1")";
  auto empty = foreign("GetDeviceByIdentifier", "{" + dev + "}", crm);
  ASSERT_EQ(empty.status, 200) << empty.body;
  EXPECT_EQ(json::parse(empty.body).at("ForeignDeviceId").as_int64(), 0);
  auto added = foreign("AddDeviceByIdentifier", "{" + dev + "}", crm);
  ASSERT_EQ(added.status, 200) << added.body;
  auto a = json::parse(added.body).as_object();
  EXPECT_GT(a.at("ForeignDeviceId").as_int64(), 0);
  EXPECT_GT(a.at("ForeignAppId").as_int64(), 0);
  EXPECT_EQ(a.at("Name").as_string(), "Phone");
  EXPECT_EQ(a.at("DeviceIdentifier").as_string(), "D-1");
  EXPECT_EQ(a.at("CreatedBy").as_string(), "crm");
  EXPECT_EQ(json::parse(foreign("AddDeviceByIdentifier", "{" + dev + "}", crm).body).at("ForeignDeviceId"), a.at("ForeignDeviceId"));  // idempotent
  EXPECT_EQ(json::parse(foreign("GetDeviceByIdentifier", "{" + dev + "}", crm).body).at("ForeignDeviceId"), a.at("ForeignDeviceId"));

  auto saved = foreign("SaveForeignKey", "{" + dev + R"(,"ForeignKey":{"Key":"k1","Value":"v1","TableName":"","RecordId":99}})", crm);
  ASSERT_EQ(saved.status, 200) << saved.body;
  EXPECT_EQ(json::parse(saved.body).at("RecordId").as_int64(), 0);  // no TableName: RecordId 0
  ASSERT_EQ(foreign("SaveForeignKey", "{" + dev + R"(,"ForeignKey":{"Key":"k2","Value":"v2","TableName":"sale","RecordId":5}})", admin).status, 200);
  auto updated = foreign("SaveForeignKey", "{" + dev + R"(,"ForeignKey":{"Key":"k1","Value":"v1b"}})", admin);
  auto u = json::parse(updated.body).as_object();
  EXPECT_EQ(u.at("Value").as_string(), "v1b");
  EXPECT_EQ(u.at("CreatedBy").as_string(), "crm");  // kept
  EXPECT_EQ(u.at("UpdatedBy").as_string(), "admin");
  auto value = foreign("GetKeyValueOnDeviceIdentifier", "{" + dev + R"(,"KeyName":"K1"})", reader);
  EXPECT_EQ(json::parse(value.body).as_string(), "v1b");
  auto keys = json::parse(foreign("GetDeviceKeysOnDeviceIdentifier", "{" + dev + "}", crm).body).as_array();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].at("Key").as_string(), "k1");
  EXPECT_EQ(keys[1].at("TableName").as_string(), "sale");
  auto apps = json::parse(foreign("GetApplicationDevices", R"({"ApplicationName":"sync"})", crm).body).as_array();
  ASSERT_EQ(apps.size(), 1u);
  EXPECT_EQ(json::parse(foreign("GetApplicationDevices", R"({"ApplicationName":"Sync"})", other).body).as_array().size(), 0u);

  EXPECT_EQ(foreign("DeleteForeignKeyOnName", "{" + dev + R"(,"KeyName":"k2","TableName":"sale","RecordId":5})", crm).status, 204);
  EXPECT_EQ(foreign("DeleteForeignKeyOnName", "{" + dev + R"(,"KeyName":"k2","TableName":"sale","RecordId":5})", crm).status, 204);
  auto gone = json::parse(foreign("GetKeyOnDeviceIdentifier", "{" + dev + R"(,"KeyName":"k2","TableName":"sale","RecordId":5})", crm).body);
  EXPECT_EQ(gone.at("Key").as_string(), "");
  EXPECT_EQ(gone.at("CreatedDate").as_string(), "0001-01-01T00:00:00Z");
  EXPECT_EQ(foreign("DeleteDeviceByIdentifier", "{" + dev + "}", crm).status, 204);
  EXPECT_EQ(json::parse(foreign("GetDeviceKeysOnDeviceIdentifier", "{" + dev + "}", crm).body).as_array().size(), 0u);
  EXPECT_EQ(redis_.cli("--scan --pattern 't" + std::to_string(port_) + ":fs:app:sync:keys:*'"), "");
}

TEST_F(agents_test, ForeignSystemErrors) {
  const std::string dev = R"("ApplicationName":"Sync","DeviceName":"Phone","DeviceIdentifier":"owned")";
  ASSERT_EQ(foreign("AddDeviceByIdentifier", "{" + dev + "}", crm).status, 200);
  struct row {
    const char* method;
    std::string body;
    std::string token;
    int status;
    std::string type;
  };
  std::vector<row> rows{
      // Writing another associate's device identifier is a conflict.
      {"SaveForeignKey", "{" + dev + R"(,"ForeignKey":{"Key":"k"}})", other, 409, "SoConflictException"},
      {"AddDeviceByIdentifier", "{" + dev + "}", other, 409, "SoConflictException"},
      {"SaveForeignKey", "{" + dev + R"(,"ForeignKey":{"Key":"k"}})", reader, 403, "SoAccessDeniedException"},
      {"GetKeyOnDeviceIdentifier", "{" + dev + "}", crm, 400, "ArgumentException"},
      {"GetKeyOnDeviceIdentifier", R"({"DeviceIdentifier":"x","KeyName":"k"})", crm, 400, "ArgumentException"},
      {"SaveForeignKey", "{" + dev + "}", crm, 400, "ArgumentException"},
      {"SaveForeignKey", "{" + dev + R"(,"ForeignKey":{"Key":"k","RecordId":-1,"TableName":"t"}})", crm, 400, "ArgumentException"},
      {"GetApplicationDevices", "{}", crm, 400, "ArgumentException"},
      {"GetDeviceByIdentifier", "[", crm, 400, "SerializationException"},
      {"GetDeviceByIdentifier", "{" + dev + "}", "", 401, "SoAuthenticationException"},
  };
  for (const auto& r : rows) {
    auto res = foreign(r.method, r.body, r.token);
    EXPECT_EQ(res.status, r.status) << r.method << " " << r.body << " " << res.body;
    EXPECT_EQ(error_type(res), r.type) << r.method << " " << r.body;
  }
  EXPECT_EQ(client().request("GET", "/api/v1/Agents/ForeignSystem/GetDeviceByIdentifier").status, 405);
  EXPECT_EQ(foreign("NoSuchMethod", "{}", crm).status, 404);
  // Reads and deletes of another associate's device answer like an unknown device's.
  const std::string ghost = R"("ApplicationName":"Sync","DeviceName":"Phone","DeviceIdentifier":"ghost")";
  for (const char* method : {"GetKeyOnDeviceIdentifier", "GetDeviceKeysOnDeviceIdentifier", "GetDeviceByIdentifier",
                             "DeleteDeviceByIdentifier", "DeleteForeignKeyOnName"}) {
    auto theirs = foreign(method, "{" + dev + R"(,"KeyName":"k"})", other);
    auto unknown = foreign(method, "{" + ghost + R"(,"KeyName":"k"})", other);
    EXPECT_EQ(theirs.status, unknown.status) << method << " " << theirs.body;
    EXPECT_EQ(replace_all(theirs.body, "owned", "ID"), replace_all(unknown.body, "ghost", "ID")) << method;
  }
  // ... and changed nothing: the service credential still reaches the device.
  auto kept = foreign("GetDeviceByIdentifier", "{" + dev + "}", admin);
  EXPECT_EQ(kept.status, 200);
  EXPECT_NE(kept.body.find("owned"), std::string::npos) << kept.body;
}

}  // namespace
}  // namespace herald::test
