#include "api/foreign_system/foreign_system_codec.hpp"

#include "api/common/json_lookup.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <optional>

#include "model/device.hpp"

namespace herald {

namespace json = boost::json;

namespace {

api_error bad_request(std::string message) { return api_error{400, "ArgumentException", std::move(message)}; }

decoded<json::object> parse_object(std::string_view text) {
  bool blank = std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isspace(c); });
  if (blank) return bad_request("a request body is required, like {\"ApplicationName\":\"..\",\"DeviceName\":\"..\",\"DeviceIdentifier\":\"..\"}");
  json::parse_options opts;
  opts.max_depth = 16;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, {}, opts);
  if (ec) return api_error{400, "SerializationException", "malformed JSON: " + ec.message()};
  if (!v.is_object()) return bad_request("request body must be a JSON object");
  return std::move(v.get_object());
}

std::optional<api_error> read_text(const json::object& o, std::string_view name, std::string_view path, std::size_t limit,
                                   bool required, bool is_name, std::string& out) {
  const auto* v = find_ci(o, name);
  if (v && !v->is_null()) {
    if (!v->is_string()) return bad_request(std::string(path) + " must be a string");
    if (v->get_string().size() > limit)
      return bad_request(std::string(path) + " is longer than " + std::to_string(limit) + " characters");
    out.assign(v->get_string().data(), v->get_string().size());
  }
  if (required && out.empty()) return bad_request(std::string(path) + " is required");
  if (is_name)
    for (char c : out)
      if (static_cast<unsigned char>(c) < 0x20) return bad_request(std::string(path) + " contains control characters");
  return std::nullopt;
}

std::optional<api_error> read_record_id(const json::object& o, std::string_view path, std::int32_t& out) {
  const auto* v = find_ci(o, "RecordId");
  if (!v || v->is_null()) return std::nullopt;
  std::optional<std::int64_t> id;
  if (v->is_int64()) id = v->get_int64();
  else if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max()))
    id = static_cast<std::int64_t>(v->get_uint64());
  else if (v->is_double() && std::abs(v->get_double()) < 3e9 && v->get_double() == std::floor(v->get_double()))
    id = static_cast<std::int64_t>(v->get_double());
  if (!id || *id < 0 || *id > std::numeric_limits<std::int32_t>::max())
    return bad_request(std::string(path) + " must be a non-negative 32-bit integer");
  out = static_cast<std::int32_t>(*id);
  return std::nullopt;
}

std::optional<api_error> read_device(const json::object& o, foreign_device_ref& ref) {
  if (auto e = read_text(o, "ApplicationName", "ApplicationName", max_foreign_name_size, true, true, ref.application)) return e;
  if (auto e = read_text(o, "DeviceName", "DeviceName", max_foreign_name_size, false, true, ref.device_name)) return e;
  if (auto e = read_text(o, "DeviceIdentifier", "DeviceIdentifier", max_device_identifier_size, true, true, ref.device_identifier)) return e;
  return std::nullopt;
}

}  // namespace

decoded<foreign_device_ref> decode_foreign_device_request(std::string_view text) {
  auto o = parse_object(text);
  if (auto* e = std::get_if<api_error>(&o)) return *e;
  foreign_device_ref ref;
  if (auto e = read_device(std::get<json::object>(o), ref)) return *e;
  return ref;
}

decoded<foreign_key_request> decode_foreign_key_request(std::string_view text) {
  auto o = parse_object(text);
  if (auto* e = std::get_if<api_error>(&o)) return *e;
  const auto& obj = std::get<json::object>(o);
  foreign_key_request r;
  if (auto e = read_device(obj, r.device)) return *e;
  if (auto e = read_text(obj, "KeyName", "KeyName", max_foreign_name_size, true, true, r.key_name)) return *e;
  if (auto e = read_text(obj, "TableName", "TableName", max_foreign_name_size, false, true, r.table_name)) return *e;
  if (auto e = read_record_id(obj, "RecordId", r.record_id)) return *e;
  if (r.table_name.empty()) r.record_id = 0;
  return r;
}

decoded<save_foreign_key_request> decode_save_foreign_key(std::string_view text) {
  auto o = parse_object(text);
  if (auto* e = std::get_if<api_error>(&o)) return *e;
  const auto& obj = std::get<json::object>(o);
  save_foreign_key_request r;
  if (auto e = read_device(obj, r.device)) return *e;
  const auto* k = find_ci(obj, "ForeignKey");
  if (!k || k->is_null()) return bad_request("ForeignKey is required: {Key, Value, TableName, RecordId}");
  if (!k->is_object()) return bad_request("ForeignKey must be an object: {Key, Value, TableName, RecordId}");
  const auto& ko = k->get_object();
  if (auto e = read_text(ko, "Key", "ForeignKey.Key", max_foreign_name_size, true, true, r.key.key)) return *e;
  if (auto e = read_text(ko, "Value", "ForeignKey.Value", max_foreign_value_size, false, false, r.key.value)) return *e;
  if (auto e = read_text(ko, "TableName", "ForeignKey.TableName", max_foreign_name_size, false, true, r.key.table_name)) return *e;
  if (auto e = read_record_id(ko, "ForeignKey.RecordId", r.key.record_id)) return *e;
  if (r.key.table_name.empty()) r.key.record_id = 0;
  return r;
}

decoded<std::string> decode_application_request(std::string_view text) {
  auto o = parse_object(text);
  if (auto* e = std::get_if<api_error>(&o)) return *e;
  std::string app;
  if (auto e = read_text(std::get<json::object>(o), "ApplicationName", "ApplicationName", max_foreign_name_size, true, true, app)) return *e;
  return app;
}

namespace {
agent_value date_or_min(const std::string& iso) {
  return agent_value::date_time(iso.empty() ? iso8601_utc(0) : iso);
}
}  // namespace

agent_value foreign_key_value(const foreign_key& k) {
  auto v = agent_value::record("ForeignKey");
  v.add("Key", agent_value::string(k.key))
      .add("Value", agent_value::string(k.value))
      .add("RecordId", agent_value::integer(k.record_id))
      .add("CreatedDate", date_or_min(k.created_date))
      .add("UpdatedDate", date_or_min(k.updated_date))
      .add("UpdatedBy", agent_value::string(k.updated_by))
      .add("CreatedBy", agent_value::string(k.created_by))
      .add("TableName", agent_value::string(k.table_name));
  return v;
}

agent_value foreign_keys_value(const std::vector<foreign_key>& keys) {
  auto list = agent_value::list("ForeignKey");
  for (const auto& k : keys) list.items.push_back(foreign_key_value(k));
  return list;
}

agent_value foreign_device_value(const foreign_device& d) {
  auto v = agent_value::record("ForeignDevice");
  v.add("ForeignDeviceId", agent_value::integer(d.id))
      .add("Name", agent_value::string(d.name))
      .add("CreatedDate", date_or_min(d.created_date))
      .add("UpdatedDate", date_or_min(d.updated_date))
      .add("AssociateFullName", agent_value::string(""))
      .add("CreatedBy", agent_value::string(d.created_by))
      .add("UpdatedBy", agent_value::string(d.updated_by))
      .add("DeviceIdentifier", agent_value::string(d.device_identifier))
      .add("ForeignAppId", agent_value::integer(d.app_id));
  return v;
}

agent_value foreign_devices_value(const std::vector<foreign_device>& devices) {
  auto list = agent_value::list("ForeignDevice");
  for (const auto& d : devices) list.items.push_back(foreign_device_value(d));
  return list;
}

}  // namespace herald
