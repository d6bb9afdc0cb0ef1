#pragma once
// A method's result as a small typed tree, so one operation answers REST JSON,
// REST XML (WebAPI style) and SOAP (xsi:typed, namespaced) alike. Pure.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace herald {

struct agent_field;

struct agent_value {
  enum class kind { string, integer, boolean, date_time, record, list };
  kind type = kind::string;
  std::string text;       // scalars: the lexical form ("919", "true", "2023-03-31T13:19:43Z")
  std::string type_name;  // record: its type (ForeignKey); list: the element type (PocketDeviceInfo)
  std::vector<agent_field> fields;  // record, in schema order
  std::vector<agent_value> items;                           // list

  static agent_value string(std::string s);
  static agent_value integer(std::int64_t v);
  static agent_value boolean(bool v);
  static agent_value date_time(std::string iso);
  static agent_value record(std::string type);
  static agent_value list(std::string element_type);
  agent_value& add(std::string name, agent_value v);
};

struct agent_field {
  std::string name;
  agent_value value;
};

// Defined after the class: agent_value must be complete before the
// containers of it are used (clang with libstdc++ insists).
inline agent_value make_agent_scalar(agent_value::kind k, std::string text) {
  agent_value v;
  v.type = k;
  v.text = std::move(text);
  return v;
}
inline agent_value agent_value::string(std::string s) { return make_agent_scalar(kind::string, std::move(s)); }
inline agent_value agent_value::integer(std::int64_t v) { return make_agent_scalar(kind::integer, std::to_string(v)); }
inline agent_value agent_value::boolean(bool v) { return make_agent_scalar(kind::boolean, v ? "true" : "false"); }
inline agent_value agent_value::date_time(std::string iso) { return make_agent_scalar(kind::date_time, std::move(iso)); }
inline agent_value agent_value::record(std::string type) {
  agent_value v;
  v.type = kind::record;
  v.type_name = std::move(type);
  return v;
}
inline agent_value agent_value::list(std::string element_type) {
  agent_value v;
  v.type = kind::list;
  v.type_name = std::move(element_type);
  return v;
}
inline agent_value& agent_value::add(std::string name, agent_value v) {
  fields.push_back(agent_field{std::move(name), std::move(v)});
  return *this;
}

// JSON: records are objects, lists arrays, integers/booleans JSON numbers/booleans.
std::string encode_value_json(const agent_value& v);
// WebAPI XML: <ForeignKey><Key>..</Key>..</ForeignKey>, <ArrayOfForeignKey>,
// <string xmlns="http://schemas.microsoft.com/2003/10/Serialization/">.
std::string encode_value_xml(const agent_value& v);

// UTC ISO 8601 ("2023-03-31T13:19:43Z") of milliseconds since the epoch;
// 0 gives .NET's DateTime.MinValue, "0001-01-01T00:00:00Z" (an unset date).
std::string iso8601_utc(std::int64_t unix_ms);

}  // namespace herald
