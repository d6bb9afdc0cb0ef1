#include "api/common/agent_value.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <ctime>

#include "api/pocket/pocket_codec.hpp"

namespace herald {

namespace json = boost::json;

namespace {

json::value to_json(const agent_value& v) {
  switch (v.type) {
    case agent_value::kind::string:
    case agent_value::kind::date_time: return json::value(v.text);
    case agent_value::kind::integer: return json::value(std::stoll(v.text));
    case agent_value::kind::boolean: return json::value(v.text == "true");
    case agent_value::kind::record: {
      json::object o;
      for (const auto& [name, f] : v.fields) o[name] = to_json(f);
      return o;
    }
    case agent_value::kind::list: {
      json::array a;
      for (const auto& i : v.items) a.push_back(to_json(i));
      return a;
    }
  }
  return nullptr;
}

void to_xml(const agent_value& v, std::string_view name, std::string& out) {
  out.append("<").append(name).append(">");
  switch (v.type) {
    case agent_value::kind::record:
      for (const auto& [field, f] : v.fields) to_xml(f, field, out);
      break;
    case agent_value::kind::list:
      for (const auto& i : v.items) to_xml(i, v.type_name, out);
      break;
    default: out += xml_escape(v.text);
  }
  out.append("</").append(name).append(">");
}

}  // namespace

std::string encode_value_json(const agent_value& v) { return json::serialize(to_json(v)); }

std::string encode_value_xml(const agent_value& v) {
  std::string out = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";
  switch (v.type) {
    case agent_value::kind::record:
    case agent_value::kind::list: {
      std::string root = v.type == agent_value::kind::list ? "ArrayOf" + v.type_name : v.type_name;
      std::string inner;
      to_xml(v, root, inner);
      // The namespace declaration goes on the root element.
      out += "<" + root + " xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\"" + inner.substr(root.size() + 1);
      return out;
    }
    case agent_value::kind::integer: return out + "<int xmlns=\"http://schemas.microsoft.com/2003/10/Serialization/\">" + v.text + "</int>";
    case agent_value::kind::boolean: return out + "<boolean xmlns=\"http://schemas.microsoft.com/2003/10/Serialization/\">" + v.text + "</boolean>";
    case agent_value::kind::date_time: return out + "<dateTime xmlns=\"http://schemas.microsoft.com/2003/10/Serialization/\">" + v.text + "</dateTime>";
    case agent_value::kind::string: break;
  }
  return out + "<string xmlns=\"http://schemas.microsoft.com/2003/10/Serialization/\">" + xml_escape(v.text) + "</string>";
}

std::string iso8601_utc(std::int64_t unix_ms) {
  if (unix_ms <= 0) return "0001-01-01T00:00:00Z";
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace herald
