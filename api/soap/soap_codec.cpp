#include "api/soap/soap_codec.hpp"

#include "model/text.hpp"

#include <pugixml.hpp>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "api/pocket/pocket_codec.hpp"

namespace herald {

namespace json = boost::json;

namespace {

constexpr std::string_view soap11_ns = "http://schemas.xmlsoap.org/soap/envelope/";
constexpr std::string_view soap12_ns = "http://www.w3.org/2003/05/soap-envelope";
constexpr std::string_view xsi_ns = "http://www.w3.org/2001/XMLSchema-instance";

bool icontains(std::string_view hay, std::string_view needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         }) != hay.end();
}

api_error xml_error(std::string message) { return api_error{400, "SerializationException", std::move(message)}; }

std::string_view local_name(const pugi::xml_node& n) {
  std::string_view name = n.name();
  auto colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

std::string_view prefix_of(std::string_view qname) {
  auto colon = qname.find(':');
  return colon == std::string_view::npos ? std::string_view{} : qname.substr(0, colon);
}

// The namespace URI bound to `prefix` ("" = default namespace) in scope at `n`.
std::string_view namespace_for(pugi::xml_node n, std::string_view prefix) {
  std::string attr = prefix.empty() ? "xmlns" : "xmlns:" + std::string(prefix);
  for (; n && n.type() == pugi::node_element; n = n.parent())
    if (auto a = n.attribute(attr.c_str())) return a.value();
  return {};
}

std::string_view namespace_of(const pugi::xml_node& n) { return namespace_for(n, prefix_of(n.name())); }

// xsi:nil="true" with any prefix bound to the XML Schema instance namespace.
bool is_nil(const pugi::xml_node& n) {
  for (auto a : n.attributes()) {
    std::string_view name = a.name();
    auto colon = name.find(':');
    if (colon == std::string_view::npos || name.substr(colon + 1) != "nil") continue;
    if (namespace_for(n, name.substr(0, colon)) == xsi_ns && (std::string_view(a.value()) == "true" || std::string_view(a.value()) == "1"))
      return true;
  }
  return false;
}

pugi::xml_node first_element(const pugi::xml_node& n) {
  for (auto c : n.children())
    if (c.type() == pugi::node_element) return c;
  return {};
}

bool has_element_children(const pugi::xml_node& n) { return static_cast<bool>(first_element(n)); }

// Character data of a leaf element (text and CDATA children concatenated).
std::string text_of(const pugi::xml_node& n) {
  std::string out;
  for (auto c : n.children())
    if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) out += c.value();
  return out;
}

// Properties whose XML text is a number/boolean in the JSON the decoders see.
constexpr std::array<std::string_view, 6> integer_properties{"AssociateId", "TimeZoneId", "RecordId",
                                                             "TimeToLive", "ForeignDeviceId", "ForeignAppId"};
constexpr std::array<std::string_view, 1> boolean_properties{"Silent"};
constexpr std::array<std::string_view, 1> integer_arrays{"AssociateIds"};
constexpr std::array<std::string_view, 1> dictionaries{"ExtraValues"};

template <std::size_t N>
bool is_one_of(const std::array<std::string_view, N>& set, std::string_view name) {
  return std::any_of(set.begin(), set.end(), [&](std::string_view s) { return iequals(s, name); });
}

json::value integer_or_text(const std::string& text) {
  auto t = trim(text);
  if (t.empty()) return nullptr;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec == std::errc() && p == t.data() + t.size()) return v;
  return json::value(text);  // the decoder names the property and the problem
}

json::value leaf_value(std::string_view name, const pugi::xml_node& n) {
  std::string text = text_of(n);
  if (is_one_of(integer_properties, name)) return integer_or_text(text);
  if (is_one_of(boolean_properties, name)) {
    auto t = trim(text);
    if (t == "true" || t == "1") return true;
    if (t == "false" || t == "0") return false;
    if (t.empty()) return nullptr;
  }
  return json::value(text);
}

std::optional<api_error> children_to_json(const pugi::xml_node& parent, json::object& out) {
  for (auto c : parent.children()) {
    if (c.type() != pugi::node_element) continue;
    std::string name(local_name(c));
    if (out.contains(name)) return xml_error("element <" + name + "> appears more than once");
    if (is_nil(c)) {
      out[name] = nullptr;
    } else if (is_one_of(integer_arrays, name)) {
      json::array items;
      for (auto i : c.children())
        if (i.type() == pugi::node_element) items.push_back(integer_or_text(text_of(i)));
      out[name] = std::move(items);
    } else if (is_one_of(dictionaries, name)) {
      json::object dict;
      for (auto entry : c.children()) {
        if (entry.type() != pugi::node_element) continue;
        std::optional<std::string> key, value;
        for (auto kv : entry.children()) {
          if (kv.type() != pugi::node_element) continue;
          if (iequals(local_name(kv), "Key")) key = text_of(kv);
          else if (iequals(local_name(kv), "Value")) value = text_of(kv);
        }
        if (!key) return xml_error("<" + name + "> entries need a <Key>");
        dict[*key] = value ? json::value(*value) : json::value(nullptr);
      }
      out[name] = std::move(dict);
    } else if (has_element_children(c)) {
      json::object child;
      if (auto e = children_to_json(c, child)) return e;
      out[name] = std::move(child);
    } else {
      out[name] = leaf_value(name, c);
    }
  }
  return std::nullopt;
}

// Parses untrusted XML: no DTDs (checked before and after parsing), bounded
// size, depth and element count.
std::optional<api_error> parse_safely(std::string_view xml, pugi::xml_document& doc) {
  if (xml.size() > max_xml_size)
    return api_error{413, "SerializationException", "XML body larger than " + std::to_string(max_xml_size) + " bytes"};
  if (icontains(xml, "<!DOCTYPE") || icontains(xml, "<!ENTITY"))
    return xml_error("XML with a DOCTYPE or entity declarations is not accepted (DTDs are disabled)");
  unsigned options = (pugi::parse_default | pugi::parse_doctype) & ~pugi::parse_pi;
  auto result = doc.load_buffer(xml.data(), xml.size(), options, pugi::encoding_auto);
  if (!result)
    return xml_error(std::string("malformed XML: ") + result.description() + " at offset " + std::to_string(result.offset));
  // Depth-first walk with an explicit stack (no recursion on attacker-chosen depth).
  std::size_t elements = 0;
  std::vector<std::pair<pugi::xml_node, std::size_t>> stack{{doc, 0}};
  while (!stack.empty()) {
    auto [n, depth] = stack.back();
    stack.pop_back();
    for (auto c : n.children()) {
      if (c.type() == pugi::node_doctype || c.type() == pugi::node_declaration) {
        if (c.type() == pugi::node_doctype) return xml_error("XML with a DOCTYPE is not accepted (DTDs are disabled)");
        continue;
      }
      if (c.type() != pugi::node_element) continue;
      if (++elements > max_xml_elements) return xml_error("XML has more than " + std::to_string(max_xml_elements) + " elements");
      if (depth + 1 > max_xml_depth) return xml_error("XML nested deeper than " + std::to_string(max_xml_depth) + " levels");
      stack.emplace_back(c, depth + 1);
    }
  }
  if (!first_element(doc)) return xml_error("XML has no root element");
  return std::nullopt;
}

std::string operation_from_action(std::string_view action) {
  action = trim(action);
  if (action.size() >= 2 && action.front() == '"' && action.back() == '"') action = action.substr(1, action.size() - 2);
  auto cut = action.find_last_of("/#");
  if (cut != std::string_view::npos) action = action.substr(cut + 1);
  return std::string(trim(action));
}

// The action="..." parameter of a SOAP 1.2 Content-Type.
std::string action_parameter(std::string_view content_type) {
  std::size_t pos = 0;
  while ((pos = content_type.find(';', pos)) != std::string_view::npos) {
    auto param = trim(content_type.substr(pos + 1, content_type.find(';', pos + 1) - pos - 1));
    ++pos;
    if (param.size() > 7 && iequals(param.substr(0, 7), "action=")) return std::string(param.substr(7));
  }
  return {};
}

struct operation_def {
  std::string_view name;
  std::vector<std::pair<std::string_view, std::string_view>> params;  // name, type (xsd:.. or tns:..)
  std::string_view result;                                          // "" = void
};

const std::vector<operation_def>& operations(soap_agent agent) {
  static const std::vector<operation_def> pocket{
      {"RegisterDeviceForPushNotification", {{"DeviceInfo", "tns:PocketDeviceInfo"}}, ""},
      {"GetRegisteredDevices", {{"AssociateId", "xsd:int"}}, "tns:ArrayOfPocketDeviceInfo"},
      {"SetPushNotificationTagsForDevice", {{"DeviceIdentifier", "xsd:string"}, {"Tags", "xsd:string"}}, ""},
      {"SetPushNotificationTagsForUser", {{"AssociateId", "xsd:int"}, {"Tags", "xsd:string"}}, ""},
      {"GetPushNotificationTagsForDevice", {{"DeviceIdentifier", "xsd:string"}}, "xsd:string"},
      {"SendPushNotification", {{"AssociateIds", "tns:ArrayOfint"}, {"Message", "tns:PocketNotificationMessage"}}, ""},
      {"RunAppointmentAlarmBroker", {}, ""},
  };
  static const std::vector<std::pair<std::string_view, std::string_view>> device{
      {"ApplicationName", "xsd:string"}, {"DeviceName", "xsd:string"}, {"DeviceIdentifier", "xsd:string"}};
  static const auto key_params = [] {
    auto p = device;
    p.insert(p.end(), {{"KeyName", "xsd:string"}, {"TableName", "xsd:string"}, {"RecordId", "xsd:int"}});
    return p;
  }();
  static const auto save_params = [] {
    std::vector<std::pair<std::string_view, std::string_view>> p{{"ForeignKey", "tns:ForeignKey"}};
    p.insert(p.end(), device.begin(), device.end());
    return p;
  }();
  static const std::vector<operation_def> foreign{
      {"GetKeyOnDeviceIdentifier", key_params, "tns:ForeignKey"},
      {"GetKeyValueOnDeviceIdentifier", key_params, "xsd:string"},
      {"SaveForeignKey", save_params, "tns:ForeignKey"},
      {"DeleteForeignKeyOnName", key_params, ""},
      {"GetDeviceKeysOnDeviceIdentifier", device, "tns:ArrayOfForeignKey"},
      {"AddDeviceByIdentifier", device, "tns:ForeignDevice"},
      {"GetDeviceByIdentifier", device, "tns:ForeignDevice"},
      {"DeleteDeviceByIdentifier", device, ""},
      {"GetApplicationDevices", {{"ApplicationName", "xsd:string"}}, "tns:ArrayOfForeignDevice"},
  };
  return agent == soap_agent::pocket ? pocket : foreign;
}

std::string envelope_open(soap_version v, const soap_service& svc) {
  std::string r = std::to_string(svc.release);
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<SOAP-ENV:Envelope\n xmlns:SOAP-ENV=\"";
  out += v == soap_version::soap12 ? soap12_ns : soap11_ns;
  out += "\"\n xmlns:SOAP-ENC=\"";
  out += v == soap_version::soap12 ? "http://www.w3.org/2003/05/soap-encoding" : "http://schemas.xmlsoap.org/soap/encoding/";
  out += "\"\n xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"\n xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"\n";
  // The CRM's declarations: 8.7/8.8 also bind the Arrays namespace, 8.4 does not.
  if (svc.release >= 87) out += " xmlns:NetServerServices" + r + "2=\"http://schemas.microsoft.com/2003/10/Serialization/Arrays\"\n";
  out += " xmlns:NetServerServices" + r + "1=\"http://schemas.microsoft.com/2003/10/Serialization/\"\n";
  out += " xmlns:" + std::string(svc.prefix()) + "=\"" + svc.ns() + "\">\n";
  return out;
}

constexpr std::string_view envelope_close = "</SOAP-ENV:Envelope>\n";

std::string xsi_type(const agent_value& v, std::string_view p) {
  switch (v.type) {
    case agent_value::kind::string: return "xsd:string";
    case agent_value::kind::integer: return "xsd:int";
    case agent_value::kind::boolean: return "xsd:boolean";
    case agent_value::kind::date_time: return "xsd:dateTime";
    case agent_value::kind::record: return std::string(p) + ":" + v.type_name;
    case agent_value::kind::list: return std::string(p) + ":ArrayOf" + v.type_name;
  }
  return "xsd:string";
}

void soap_value(const agent_value& v, std::string_view p, std::string_view name, std::string& out, int indent) {
  std::string pad(static_cast<std::size_t>(indent), ' ');
  std::string tag = std::string(p) + ":" + std::string(name);
  out += pad + "<" + tag + " xsi:type=\"" + xsi_type(v, p) + "\">";
  if (v.type == agent_value::kind::record) {
    out += "\n";
    for (const auto& [field, f] : v.fields) soap_value(f, p, field, out, indent + 1);
    out += pad;
  } else if (v.type == agent_value::kind::list) {
    out += "\n";
    for (const auto& item : v.items) soap_value(item, p, v.type_name, out, indent + 1);
    out += pad;
  } else {
    out += xml_escape(v.text);
  }
  out += "</" + tag + ">\n";
}

}  // namespace

decoded<std::string> xml_request_to_json(std::string_view xml) {
  pugi::xml_document doc;
  if (auto e = parse_safely(xml, doc)) return *e;
  json::object o;
  if (auto e = children_to_json(first_element(doc), o)) return *e;
  return json::serialize(o);
}

std::string soap_service::ns() const {
  return "http://www.superoffice.net/ws/crm/NetServer/Services" + std::to_string(release);
}
std::string_view soap_service::prefix() const { return agent == soap_agent::pocket ? "Pocket" : "ForeignSystem"; }
std::string soap_service::path() const {
  return "/Remote/Services" + std::to_string(release) + (agent == soap_agent::pocket ? "/Pocket.svc" : "/ForeignSystem.svc");
}

std::optional<soap_service> soap_service_for_path(std::string_view p) {
  if (p == "/remote/services84/foreignsystem.svc") return soap_service{soap_agent::foreign_system, 84};
  if (p == "/remote/services87/pocket.svc") return soap_service{soap_agent::pocket, 87};
  if (p == "/remote/services88/pocket.svc") return soap_service{soap_agent::pocket, 88};
  if (p == "/remote/services88/foreignsystem.svc") return soap_service{soap_agent::foreign_system, 88};
  return std::nullopt;
}

std::optional<std::string> soap_operation(const soap_service& svc, std::string_view name) {
  for (const auto& op : operations(svc.agent))
    if (iequals(op.name, name)) return std::string(op.name);
  return std::nullopt;
}

std::variant<soap_request, soap_decode_failure> decode_soap_request(std::string_view body, std::string_view content_type,
                                                                     std::string_view soap_action) {
  soap_version guess = icontains(content_type, "application/soap+xml") ? soap_version::soap12 : soap_version::soap11;
  auto fail = [](soap_version v, api_error e) { return soap_decode_failure{v, std::move(e)}; };
  pugi::xml_document doc;
  if (auto e = parse_safely(body, doc)) return fail(guess, *e);
  auto envelope = first_element(doc);
  auto env_ns = namespace_of(envelope);
  if (local_name(envelope) != "Envelope" || (env_ns != soap11_ns && env_ns != soap12_ns))
    return fail(guess, xml_error("not a SOAP envelope: the root must be Envelope in " + std::string(soap11_ns) + " (SOAP 1.1) or " +
                                 std::string(soap12_ns) + " (SOAP 1.2)"));
  soap_request req;
  req.version = env_ns == soap12_ns ? soap_version::soap12 : soap_version::soap11;

  pugi::xml_node body_node;
  auto read_header_item = [&req](const pugi::xml_node& n) {
    auto name = local_name(n);
    if (name == "ApplicationToken") req.application_token = std::string(trim(text_of(n)));
    if (name == "Credentials")
      for (auto c : n.children())
        if (c.type() == pugi::node_element && local_name(c) == "Ticket") req.ticket = std::string(trim(text_of(c)));
  };
  for (auto c : envelope.children()) {
    if (c.type() != pugi::node_element) continue;
    auto name = local_name(c);
    bool in_env_ns = namespace_of(c) == env_ns;
    if (name == "Body" && in_env_ns) {
      if (body_node) return fail(req.version, xml_error("the envelope has more than one Body"));
      body_node = c;
    } else if (name == "Header" && in_env_ns) {
      for (auto h : c.children())
        if (h.type() == pugi::node_element) read_header_item(h);
    } else {
      read_header_item(c);  // the CRM's clients put ApplicationToken and Credentials directly under Envelope
    }
  }
  if (!body_node) return fail(req.version, xml_error("the envelope has no Body"));

  std::string action = operation_from_action(soap_action);
  if (action.empty()) action = operation_from_action(action_parameter(content_type));
  auto op = first_element(body_node);
  if (op) {
    req.operation = std::string(local_name(op));
    if (!action.empty() && !iequals(action, req.operation))
      return fail(req.version, xml_error("SOAPAction names '" + action + "' but the Body holds <" + req.operation + ">"));
    json::object params;
    if (auto e = children_to_json(op, params)) return fail(req.version, *e);
    req.parameters_json = json::serialize(params);
  } else {
    if (action.empty()) return fail(req.version, xml_error("the Body is empty and no SOAPAction names an operation"));
    req.operation = action;
    req.parameters_json = "{}";
  }
  return req;
}

std::string_view soap_content_type(soap_version v) {
  return v == soap_version::soap12 ? "application/soap+xml; charset=utf-8" : "text/xml; charset=utf-8";
}

std::string encode_soap_response(soap_version v, const soap_service& svc, std::string_view operation,
                                 const agent_value* result) {
  std::string p(svc.prefix());
  std::string out = envelope_open(v, svc);
  out += " <SOAP-ENV:Body>\n  <" + p + ":" + std::string(operation) + "Response>\n";
  if (result) soap_value(*result, p, "Response", out, 3);
  out += "  </" + p + ":" + std::string(operation) + "Response>\n </SOAP-ENV:Body>\n";
  out += envelope_close;
  return out;
}

std::string encode_soap_fault(soap_version v, const soap_service& svc, const api_error& error) {
  std::string p(svc.prefix());
  bool client = error.status >= 400 && error.status < 500;
  std::string msg = xml_escape(error.message);
  std::string info = "<" + p + ":ExceptionInfo>\n     <" + p + ":Message>" + msg + "</" + p + ":Message>\n     <" + p +
                     ":StackTrace></" + p + ":StackTrace>\n     <" + p + ":FriendlyText>" + msg + "</" + p +
                     ":FriendlyText>\n     <" + p + ":ExceptionType>" + xml_escape(error.type) + "</" + p +
                     ":ExceptionType>\n     <" + p + ":Source>Herald</" + p + ":Source>\n    </" + p + ":ExceptionInfo>\n";
  std::string out = envelope_open(v, svc);
  out += " <SOAP-ENV:Header>\n  <" + p + ":Succeeded>false</" + p + ":Succeeded>\n  " + info + " </SOAP-ENV:Header>\n";
  out += " <SOAP-ENV:Body>\n  <SOAP-ENV:Fault>\n";
  if (v == soap_version::soap12) {
    out += std::string("   <SOAP-ENV:Code><SOAP-ENV:Value>") + (client ? "SOAP-ENV:Sender" : "SOAP-ENV:Receiver") +
           "</SOAP-ENV:Value></SOAP-ENV:Code>\n";
    out += "   <SOAP-ENV:Reason><SOAP-ENV:Text xml:lang=\"en\">" + msg + "</SOAP-ENV:Text></SOAP-ENV:Reason>\n";
    out += "   <SOAP-ENV:Detail>\n    " + info + "   </SOAP-ENV:Detail>\n";
  } else {
    out += std::string("   <faultcode>") + (client ? "SOAP-ENV:Client" : "SOAP-ENV:Server") + "</faultcode>\n";
    out += "   <faultstring>" + msg + "</faultstring>\n";
    out += "   <detail>\n    " + info + "   </detail>\n";
  }
  out += "  </SOAP-ENV:Fault>\n </SOAP-ENV:Body>\n";
  out += envelope_close;
  return out;
}

std::string generate_wsdl(const soap_service& svc, std::string_view endpoint_url) {
  const auto& ops = operations(svc.agent);
  std::string ns = svc.ns();
  std::string agent = svc.agent == soap_agent::pocket ? "Pocket" : "ForeignSystem";
  std::string out =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<wsdl:definitions name=\"" + agent + "\" targetNamespace=\"" + ns + "\" xmlns:tns=\"" + ns +
      "\" xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\" xmlns:soap=\"http://schemas.xmlsoap.org/wsdl/soap/\""
      " xmlns:soap12=\"http://schemas.xmlsoap.org/wsdl/soap12/\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">\n"
      " <wsdl:types>\n  <xsd:schema elementFormDefault=\"qualified\" targetNamespace=\"" + ns + "\">\n";
  auto seq_type = [&out](std::string_view name, std::vector<std::pair<std::string_view, std::string_view>> fields) {
    out += "   <xsd:complexType name=\"" + std::string(name) + "\"><xsd:sequence>\n";
    for (auto [f, t] : fields)
      out += "    <xsd:element minOccurs=\"0\" name=\"" + std::string(f) + "\" nillable=\"true\" type=\"" + std::string(t) + "\"/>\n";
    out += "   </xsd:sequence></xsd:complexType>\n";
  };
  auto array_type = [&out](std::string_view element, std::string_view type) {
    out += "   <xsd:complexType name=\"ArrayOf" + std::string(element) + "\"><xsd:sequence>\n    <xsd:element minOccurs=\"0\" maxOccurs=\"unbounded\" name=\"" +
           std::string(element) + "\" nillable=\"true\" type=\"" + std::string(type) + "\"/>\n   </xsd:sequence></xsd:complexType>\n";
  };
  if (svc.agent == soap_agent::pocket) {
    out += "   <xsd:simpleType name=\"NotificationPlatform\"><xsd:restriction base=\"xsd:string\">";
    for (auto v : {"Apple", "Google", "Microsoft", "AppleDeveloper", "AppleAdHoc", "GoogleDeveloper"})
      out += std::string("<xsd:enumeration value=\"") + v + "\"/>";
    out += "</xsd:restriction></xsd:simpleType>\n";
    seq_type("PocketDeviceInfo", {{"DeviceName", "xsd:string"}, {"DeviceIdentifier", "xsd:string"}, {"PocketVersion", "xsd:string"},
                                  {"Language", "xsd:string"}, {"PNSHandle", "xsd:string"}, {"Platform", "tns:NotificationPlatform"},
                                  {"OSVersion", "xsd:string"}, {"TimeZoneId", "xsd:int"}});
    array_type("PocketDeviceInfo", "tns:PocketDeviceInfo");
    array_type("int", "xsd:int");
    seq_type("KeyValueOfstringstring", {{"Key", "xsd:string"}, {"Value", "xsd:string"}});
    array_type("KeyValueOfstringstring", "tns:KeyValueOfstringstring");
    seq_type("PocketNotificationMessage",
             {{"Title", "xsd:string"}, {"Message", "xsd:string"}, {"Url", "xsd:string"}, {"Silent", "xsd:boolean"},
              {"Type", "xsd:string"}, {"TimeToLive", "xsd:int"}, {"RecordId", "xsd:int"}, {"Date", "xsd:dateTime"},
              {"Duration", "xsd:string"}, {"ExtraValues", "tns:ArrayOfKeyValueOfstringstring"}});
  } else {
    seq_type("ForeignKey", {{"Key", "xsd:string"}, {"Value", "xsd:string"}, {"RecordId", "xsd:int"}, {"CreatedDate", "xsd:dateTime"},
                            {"UpdatedDate", "xsd:dateTime"}, {"UpdatedBy", "xsd:string"}, {"CreatedBy", "xsd:string"},
                            {"TableName", "xsd:string"}});
    array_type("ForeignKey", "tns:ForeignKey");
    seq_type("ForeignDevice", {{"ForeignDeviceId", "xsd:int"}, {"Name", "xsd:string"}, {"CreatedDate", "xsd:dateTime"},
                               {"UpdatedDate", "xsd:dateTime"}, {"AssociateFullName", "xsd:string"}, {"CreatedBy", "xsd:string"},
                               {"UpdatedBy", "xsd:string"}, {"DeviceIdentifier", "xsd:string"}, {"ForeignAppId", "xsd:int"}});
    array_type("ForeignDevice", "tns:ForeignDevice");
  }
  // Request headers (sent under soap:Header or, as the CRM's clients do, under Envelope).
  out += "   <xsd:element name=\"ApplicationToken\" type=\"xsd:string\"/>\n";
  out += "   <xsd:complexType name=\"SoCredentials\"><xsd:sequence><xsd:element minOccurs=\"0\" name=\"Ticket\" type=\"xsd:string\"/></xsd:sequence></xsd:complexType>\n";
  out += "   <xsd:element name=\"Credentials\" type=\"tns:SoCredentials\"/>\n";
  for (const auto& op : ops) {
    out += "   <xsd:element name=\"" + std::string(op.name) + "\"><xsd:complexType><xsd:sequence>\n";
    for (auto [f, t] : op.params)
      out += "    <xsd:element minOccurs=\"0\" name=\"" + std::string(f) + "\" nillable=\"true\" type=\"" + std::string(t) + "\"/>\n";
    out += "   </xsd:sequence></xsd:complexType></xsd:element>\n";
    out += "   <xsd:element name=\"" + std::string(op.name) + "Response\"><xsd:complexType><xsd:sequence>\n";
    if (!op.result.empty())
      out += "    <xsd:element minOccurs=\"0\" name=\"Response\" nillable=\"true\" type=\"" + std::string(op.result) + "\"/>\n";
    out += "   </xsd:sequence></xsd:complexType></xsd:element>\n";
  }
  out += "  </xsd:schema>\n </wsdl:types>\n";
  out += " <wsdl:message name=\"ApplicationTokenHeader\"><wsdl:part name=\"ApplicationToken\" element=\"tns:ApplicationToken\"/></wsdl:message>\n";
  out += " <wsdl:message name=\"CredentialsHeader\"><wsdl:part name=\"Credentials\" element=\"tns:Credentials\"/></wsdl:message>\n";
  for (const auto& op : ops) {
    std::string n(op.name);
    out += " <wsdl:message name=\"" + n + "Request\"><wsdl:part name=\"parameters\" element=\"tns:" + n + "\"/></wsdl:message>\n";
    out += " <wsdl:message name=\"" + n + "ResponseMessage\"><wsdl:part name=\"parameters\" element=\"tns:" + n + "Response\"/></wsdl:message>\n";
  }
  out += " <wsdl:portType name=\"" + agent + "\">\n";
  for (const auto& op : ops) {
    std::string n(op.name);
    out += "  <wsdl:operation name=\"" + n + "\"><wsdl:input message=\"tns:" + n + "Request\"/><wsdl:output message=\"tns:" + n +
           "ResponseMessage\"/></wsdl:operation>\n";
  }
  out += " </wsdl:portType>\n";
  for (std::string_view binding_ns : {"soap", "soap12"}) {
    std::string b(binding_ns);
    std::string binding_name = agent + (b == "soap" ? "Soap" : "Soap12");
    out += " <wsdl:binding name=\"" + binding_name + "\" type=\"tns:" + agent + "\">\n";
    out += "  <" + b + ":binding transport=\"http://schemas.xmlsoap.org/soap/http\" style=\"document\"/>\n";
    for (const auto& op : ops) {
      std::string n(op.name);
      out += "  <wsdl:operation name=\"" + n + "\">\n   <" + b + ":operation soapAction=\"" + ns + "/" + agent + "/" + n +
             "\" style=\"document\"/>\n";
      out += "   <wsdl:input><" + b + ":header message=\"tns:ApplicationTokenHeader\" part=\"ApplicationToken\" use=\"literal\"/><" + b +
             ":header message=\"tns:CredentialsHeader\" part=\"Credentials\" use=\"literal\"/><" + b +
             ":body use=\"literal\"/></wsdl:input>\n";
      out += "   <wsdl:output><" + b + ":body use=\"literal\"/></wsdl:output>\n  </wsdl:operation>\n";
    }
    out += " </wsdl:binding>\n";
  }
  out += " <wsdl:service name=\"" + agent + "Service\">\n";
  out += "  <wsdl:port name=\"" + agent + "Soap\" binding=\"tns:" + agent + "Soap\"><soap:address location=\"" + xml_escape(endpoint_url) +
         "\"/></wsdl:port>\n";
  out += "  <wsdl:port name=\"" + agent + "Soap12\" binding=\"tns:" + agent + "Soap12\"><soap12:address location=\"" +
         xml_escape(endpoint_url) + "\"/></wsdl:port>\n";
  out += " </wsdl:service>\n</wsdl:definitions>\n";
  return out;
}

}  // namespace herald
