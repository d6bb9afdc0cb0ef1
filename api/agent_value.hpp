#pragma once
// A method's result as a small typed tree, so one operation answers REST JSON,
// REST XML (WebAPI style) and SOAP (xsi:typed, namespaced) alike. Pure.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace herald {

struct agent_value {
  enum class kind { string, integer, boolean, date_time, record, list };
  kind type = kind::string;
  std::string text;       // scalars: the lexical form ("919", "true", "2023-03-31T13:19:43Z")
  std::string type_name;  // record: its type (ForeignKey); list: the element type (PocketDeviceInfo)
  std::vector<std::pair<std::string, agent_value>> fields;  // record, in schema order
  std::vector<agent_value> items;                           // list

  static agent_value string(std::string s) { return {kind::string, std::move(s), {}, {}, {}}; }
  static agent_value integer(std::int64_t v) { return {kind::integer, std::to_string(v), {}, {}, {}}; }
  static agent_value boolean(bool v) { return {kind::boolean, v ? "true" : "false", {}, {}, {}}; }
  static agent_value date_time(std::string iso) { return {kind::date_time, std::move(iso), {}, {}, {}}; }
  static agent_value record(std::string type) { return {kind::record, {}, std::move(type), {}, {}}; }
  static agent_value list(std::string element_type) { return {kind::list, {}, std::move(element_type), {}, {}}; }
  agent_value& add(std::string name, agent_value v) {
    fields.emplace_back(std::move(name), std::move(v));
    return *this;
  }
};

// JSON: records are objects, lists arrays, integers/booleans JSON numbers/booleans.
std::string encode_value_json(const agent_value& v);
// WebAPI XML: <ForeignKey><Key>..</Key>..</ForeignKey>, <ArrayOfForeignKey>,
// <string xmlns="http://schemas.microsoft.com/2003/10/Serialization/">.
std::string encode_value_xml(const agent_value& v);

// UTC ISO 8601 ("2023-03-31T13:19:43Z") of milliseconds since the epoch;
// 0 gives .NET's DateTime.MinValue, "0001-01-01T00:00:00Z" (an unset date).
std::string iso8601_utc(std::int64_t unix_ms);

}  // namespace herald
