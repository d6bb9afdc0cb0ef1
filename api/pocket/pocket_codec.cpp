#include "api/pocket/pocket_codec.hpp"

#include "model/text.hpp"

#include "api/common/json_lookup.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <limits>

namespace herald {

namespace json = boost::json;

namespace {

constexpr std::size_t max_json_depth = 16;

api_error bad_request(std::string message) { return api_error{400, "ArgumentException", std::move(message)}; }

decoded<json::value> parse_json(std::string_view text) {
  json::parse_options opts;
  opts.max_depth = max_json_depth;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, {}, opts);
  if (ec) return api_error{400, "SerializationException", "malformed JSON: " + ec.message()};
  return v;
}

// Reads an optional string property bounded by `limit`; api_error on a wrong type.
std::optional<api_error> read_string(const json::object& obj, std::string_view name, std::string_view path,
                                     std::size_t limit, std::string& out) {
  const auto* v = find_ci(obj, name);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_string()) return bad_request(std::string(path) + " must be a string");
  const auto& s = v->get_string();
  if (s.size() > limit)
    return bad_request(std::string(path) + " is longer than " + std::to_string(limit) + " characters");
  out.assign(s.data(), s.size());
  return std::nullopt;
}

std::optional<std::int64_t> as_int64(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return static_cast<std::int64_t>(v.get_uint64());
  if (v.is_double()) {
    double d = v.get_double();
    if (d == static_cast<double>(static_cast<std::int64_t>(d)) && std::abs(d) < 9e15) return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

decoded<std::optional<std::int64_t>> read_associate(const json::object& obj) {
  const auto* v = find_ci(obj, "AssociateId");
  if (!v || v->is_null()) return std::optional<std::int64_t>{};
  auto id = as_int64(*v);
  if (!id || *id <= 0 || *id > std::numeric_limits<std::int32_t>::max())
    return bad_request("AssociateId must be a positive 32-bit integer");
  return std::optional<std::int64_t>{*id};
}

std::string display_platform(const device_info& d) { return std::string(to_string(d.platform)); }

}  // namespace

decoded<register_device_request> decode_register_device(std::string_view text) {
  auto parsed = parse_json(text);
  if (auto* e = std::get_if<api_error>(&parsed)) return *e;
  const auto& root = std::get<json::value>(parsed);
  if (!root.is_object()) return bad_request("request body must be a JSON object with DeviceInfo");
  const auto* info_v = find_ci(root.get_object(), "DeviceInfo");
  if (!info_v || info_v->is_null()) return bad_request("DeviceInfo is required");
  if (!info_v->is_object()) return bad_request("DeviceInfo must be an object");
  const auto& info = info_v->get_object();

  register_device_request out;
  auto& d = out.device;
  if (auto e = read_string(info, "DeviceIdentifier", "DeviceInfo.DeviceIdentifier", max_device_identifier_size, d.device_identifier)) return *e;
  if (auto e = read_string(info, "PNSHandle", "DeviceInfo.PNSHandle", max_pns_handle_size, d.pns_handle)) return *e;
  if (auto e = read_string(info, "DeviceName", "DeviceInfo.DeviceName", max_device_text_size, d.device_name)) return *e;
  if (auto e = read_string(info, "PocketVersion", "DeviceInfo.PocketVersion", max_device_text_size, d.pocket_version)) return *e;
  if (auto e = read_string(info, "Language", "DeviceInfo.Language", max_device_text_size, d.language)) return *e;
  if (auto e = read_string(info, "OSVersion", "DeviceInfo.OSVersion", max_device_text_size, d.os_version)) return *e;
  if (d.device_identifier.empty()) return bad_request("DeviceInfo.DeviceIdentifier is required");
  if (d.pns_handle.empty()) return bad_request("DeviceInfo.PNSHandle is required");
  for (char c : d.device_identifier)
    if (static_cast<unsigned char>(c) < 0x20) return bad_request("DeviceInfo.DeviceIdentifier contains control characters");

  std::string platform;
  if (auto e = read_string(info, "Platform", "DeviceInfo.Platform", 64, platform)) return *e;
  if (platform.empty()) return bad_request("DeviceInfo.Platform is required (Apple, Google, Microsoft, AppleDeveloper, AppleAdHoc, GoogleDeveloper, Web)");
  auto p = parse_platform(platform);
  if (!p)
    return bad_request("DeviceInfo.Platform '" + platform +
                       "' is not a NotificationPlatform (Apple, Google, Microsoft, AppleDeveloper, AppleAdHoc, GoogleDeveloper, Web)");
  d.platform = *p;

  if (const auto* tz = find_ci(info, "TimeZoneId"); tz && !tz->is_null()) {
    auto id = as_int64(*tz);
    if (!id || *id < 0 || *id > std::numeric_limits<std::int32_t>::max())
      return bad_request("DeviceInfo.TimeZoneId must be a non-negative 32-bit integer");
    d.time_zone_id = static_cast<std::int32_t>(*id);
  }

  auto assoc = read_associate(root.get_object());
  if (auto* e = std::get_if<api_error>(&assoc)) return *e;
  out.associate_id = std::get<std::optional<std::int64_t>>(assoc);
  return out;
}

decoded<std::optional<std::int64_t>> decode_associate_request(std::string_view text) {
  bool blank = std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isspace(c); });
  if (blank) return std::optional<std::int64_t>{};
  auto parsed = parse_json(text);
  if (auto* e = std::get_if<api_error>(&parsed)) return *e;
  const auto& root = std::get<json::value>(parsed);
  if (auto id = as_int64(root)) {  // a bare number is what some clients send
    if (*id <= 0 || *id > std::numeric_limits<std::int32_t>::max()) return bad_request("AssociateId must be a positive 32-bit integer");
    return std::optional<std::int64_t>{*id};
  }
  if (!root.is_object()) return bad_request("request body must be a JSON object like {\"AssociateId\":919}");
  return read_associate(root.get_object());
}

std::string encode_devices_json(const std::vector<device_info>& devices, const field_selection& select) {
  json::array arr;
  arr.reserve(devices.size());
  auto put = [&](json::object& o, std::string_view name, json::value v) {
    o[name] = select.includes(name) ? std::move(v) : json::value(nullptr);
  };
  for (const auto& d : devices) {
    json::object o;
    put(o, "DeviceName", json::value(d.device_name));
    put(o, "DeviceIdentifier", json::value(d.device_identifier));
    put(o, "PocketVersion", json::value(d.pocket_version));
    put(o, "Language", json::value(d.language));
    put(o, "PNSHandle", json::value(d.pns_handle));
    put(o, "Platform", json::value(display_platform(d)));
    put(o, "OSVersion", json::value(d.os_version));
    put(o, "TimeZoneId", json::value(d.time_zone_id));
    arr.emplace_back(std::move(o));
  }
  return json::serialize(arr);
}

std::string encode_devices_xml(const std::vector<device_info>& devices, const field_selection& select) {
  std::string out =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ArrayOfPocketDeviceInfo "
      "xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\">";
  auto put = [&](std::string_view name, std::string_view value) {
    if (!select.includes(name)) {
      out.append("<").append(name).append(" i:nil=\"true\"/>");
      return;
    }
    out.append("<").append(name).append(">").append(xml_escape(value)).append("</").append(name).append(">");
  };
  for (const auto& d : devices) {
    out += "<PocketDeviceInfo>";
    put("DeviceName", d.device_name);
    put("DeviceIdentifier", d.device_identifier);
    put("PocketVersion", d.pocket_version);
    put("Language", d.language);
    put("PNSHandle", d.pns_handle);
    put("Platform", to_string(d.platform));
    put("OSVersion", d.os_version);
    put("TimeZoneId", std::to_string(d.time_zone_id));
    out += "</PocketDeviceInfo>";
  }
  out += "</ArrayOfPocketDeviceInfo>";
  return out;
}

agent_value devices_value(const std::vector<device_info>& devices) {
  auto list = agent_value::list("PocketDeviceInfo");
  for (const auto& d : devices) {
    auto r = agent_value::record("PocketDeviceInfo");
    r.add("DeviceName", agent_value::string(d.device_name))
        .add("DeviceIdentifier", agent_value::string(d.device_identifier))
        .add("PocketVersion", agent_value::string(d.pocket_version))
        .add("Language", agent_value::string(d.language))
        .add("PNSHandle", agent_value::string(d.pns_handle))
        .add("Platform", agent_value::string(std::string(to_string(d.platform))))
        .add("OSVersion", agent_value::string(d.os_version))
        .add("TimeZoneId", agent_value::integer(d.time_zone_id));
    list.items.push_back(std::move(r));
  }
  return list;
}

const std::vector<std::string_view>& accepted_tags() {
  static const std::vector<std::string_view> names{
      "NewTicket",          "AppointmentInvitation", "AppointmentMoved",      "AppointmentCancelled",
      "NewTicketMessage",   "TicketActivated",       "TicketEscalated",       "QuoteApprovalRequest",
      "QuoteApprovalApproved", "QuoteApprovalDenied", "AppointmentDeclined", "AppointmentAlarm",
      "All"};
  return names;
}

decoded<std::vector<std::string>> parse_tags(std::string_view text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto comma = text.find(',', pos);
    auto item = trim(text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
    pos = comma == std::string_view::npos ? text.size() + 1 : comma + 1;
    if (item.empty()) continue;
    if (item.size() > max_tag_size)
      return bad_request("Tags: a tag is longer than " + std::to_string(max_tag_size) + " characters");
    const auto& names = accepted_tags();
    auto it = std::find_if(names.begin(), names.end(), [&](std::string_view n) { return iequals(n, item); });
    if (it == names.end()) {
      std::string list;
      for (auto n : names) list += (list.empty() ? "" : ", ") + std::string(n);
      return bad_request("Tags: '" + std::string(item) + "' is not a notification event (accepted: " + list + ")");
    }
    if (std::find(out.begin(), out.end(), *it) != out.end()) continue;
    if (out.size() >= max_device_tags) return bad_request("Tags: more than " + std::to_string(max_device_tags) + " tags");
    out.emplace_back(*it);
  }
  return out;
}

std::string join_tags(const std::optional<std::vector<std::string>>& tags) {
  if (!tags) return "All";
  std::string out;
  for (const auto& t : *tags) out += (out.empty() ? "" : ",") + t;
  return out;
}

namespace {

decoded<json::object> parse_object(std::string_view text, std::string_view example) {
  bool blank = std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isspace(c); });
  if (blank) return bad_request("a request body is required, like " + std::string(example));
  auto parsed = parse_json(text);
  if (auto* e = std::get_if<api_error>(&parsed)) return *e;
  auto& root = std::get<json::value>(parsed);
  if (!root.is_object()) return bad_request("request body must be a JSON object like " + std::string(example));
  return std::move(root.get_object());
}

decoded<std::vector<std::string>> read_tags(const json::object& o) {
  const auto* v = find_ci(o, "Tags");
  if (!v || v->is_null()) return bad_request("Tags is required: comma-separated event names (\"\" for none)");
  if (v->is_string()) {
    if (v->get_string().size() > max_device_tags * (max_tag_size + 2)) return bad_request("Tags is too long");
    return parse_tags(v->get_string());
  }
  if (v->is_array()) {
    std::string joined;
    if (v->get_array().size() > max_device_tags) return bad_request("Tags: more than " + std::to_string(max_device_tags) + " tags");
    for (const auto& t : v->get_array()) {
      if (!t.is_string()) return bad_request("Tags must be a string of comma-separated names or an array of strings");
      if (t.get_string().find(',') != json::string::npos) return bad_request("Tags: an array item contains a comma");
      joined += std::string(t.get_string()) + ",";
    }
    return parse_tags(joined);
  }
  return bad_request("Tags must be a string of comma-separated event names");
}

decoded<std::string> read_device_identifier(const json::object& o) {
  std::string id;
  if (auto e = read_string(o, "DeviceIdentifier", "DeviceIdentifier", max_device_identifier_size, id)) return *e;
  if (id.empty()) return bad_request("DeviceIdentifier is required");
  for (char c : id)
    if (static_cast<unsigned char>(c) < 0x20) return bad_request("DeviceIdentifier contains control characters");
  return id;
}

}  // namespace

decoded<device_tags_request> decode_device_tags(std::string_view text) {
  auto o = parse_object(text, R"({"DeviceIdentifier":"...","Tags":"AppointmentAlarm,NewTicket"})");
  if (auto* e = std::get_if<api_error>(&o)) return *e;
  const auto& obj = std::get<json::object>(o);
  auto id = read_device_identifier(obj);
  if (auto* e = std::get_if<api_error>(&id)) return *e;
  auto tags = read_tags(obj);
  if (auto* e = std::get_if<api_error>(&tags)) return *e;
  return device_tags_request{std::move(std::get<std::string>(id)), std::move(std::get<std::vector<std::string>>(tags))};
}

decoded<user_tags_request> decode_user_tags(std::string_view text) {
  auto o = parse_object(text, R"({"AssociateId":919,"Tags":"AppointmentAlarm"})");
  if (auto* e = std::get_if<api_error>(&o)) return *e;
  const auto& obj = std::get<json::object>(o);
  auto assoc = read_associate(obj);
  if (auto* e = std::get_if<api_error>(&assoc)) return *e;
  auto tags = read_tags(obj);
  if (auto* e = std::get_if<api_error>(&tags)) return *e;
  return user_tags_request{std::get<std::optional<std::int64_t>>(assoc), std::move(std::get<std::vector<std::string>>(tags))};
}

decoded<std::string> decode_device_identifier_request(std::string_view text) {
  auto o = parse_object(text, R"({"DeviceIdentifier":"..."})");
  if (auto* e = std::get_if<api_error>(&o)) return *e;
  return read_device_identifier(std::get<json::object>(o));
}

decoded<push_message> decode_send_push(std::string_view text) {
  auto o = parse_object(text, R"({"AssociateIds":[919],"Message":{"Title":"..","Message":".."}})");
  if (auto* e = std::get_if<api_error>(&o)) return *e;
  const auto& root = std::get<json::object>(o);
  push_message m;

  const auto* ids = find_ci(root, "AssociateIds");
  if (!ids || ids->is_null()) return bad_request("AssociateIds is required: an array of associate ids");
  if (!ids->is_array()) return bad_request("AssociateIds must be an array of associate ids");
  if (ids->get_array().empty()) return bad_request("AssociateIds is empty");
  if (ids->get_array().size() > max_push_associates)
    return bad_request("AssociateIds has more than " + std::to_string(max_push_associates) + " ids");
  for (const auto& v : ids->get_array()) {
    auto id = as_int64(v);
    if (!id || *id <= 0 || *id > std::numeric_limits<std::int32_t>::max())
      return bad_request("AssociateIds must hold positive 32-bit integers");
    if (std::find(m.associate_ids.begin(), m.associate_ids.end(), *id) == m.associate_ids.end()) m.associate_ids.push_back(*id);
  }

  const auto* msg_v = find_ci(root, "Message");
  if (!msg_v || msg_v->is_null()) return bad_request("Message is required (a PocketNotificationMessage)");
  if (!msg_v->is_object()) return bad_request("Message must be an object (a PocketNotificationMessage)");
  const auto& msg = msg_v->get_object();
  if (auto e = read_string(msg, "Title", "Message.Title", max_push_title_size, m.title)) return *e;
  if (auto e = read_string(msg, "Message", "Message.Message", max_push_body_size, m.body)) return *e;
  if (auto e = read_string(msg, "Url", "Message.Url", max_push_url_size, m.url)) return *e;
  if (const auto* s = find_ci(msg, "Silent"); s && !s->is_null()) {
    if (!s->is_bool()) return bad_request("Message.Silent must be true or false");
    m.silent = s->get_bool();
  }
  std::string type;
  if (auto e = read_string(msg, "Type", "Message.Type", 64, type)) return *e;
  static constexpr std::array<std::string_view, 5> types{"Message", "ImportantMessage", "RemoteAction", "YesNoQuestion", "ShowWebPage"};
  m.event = "Message";
  if (!type.empty()) {
    auto it = std::find_if(types.begin(), types.end(), [&](std::string_view t) { return iequals(t, type); });
    if (it == types.end())
      return bad_request("Message.Type '" + type + "' is not one of Message, ImportantMessage, RemoteAction, YesNoQuestion, ShowWebPage");
    m.event = std::string(*it);
  }
  if (const auto* t = find_ci(msg, "TimeToLive"); t && !t->is_null()) {
    auto ttl = as_int64(*t);
    if (!ttl || *ttl < 0 || *ttl > max_push_time_to_live_s)
      return bad_request("Message.TimeToLive must be between 0 and " + std::to_string(max_push_time_to_live_s) + " seconds");
    m.time_to_live_s = static_cast<int>(*ttl);
  }
  m.data.emplace_back("Type", m.event);
  if (const auto* r = find_ci(msg, "RecordId"); r && !r->is_null()) {
    auto id = as_int64(*r);
    if (!id || *id < 0 || *id > std::numeric_limits<std::int32_t>::max()) return bad_request("Message.RecordId must be a non-negative 32-bit integer");
    m.data.emplace_back("RecordId", std::to_string(*id));
  }
  std::string date;
  if (auto e = read_string(msg, "Date", "Message.Date", 64, date)) return *e;
  if (!date.empty()) {
    // yyyy-mm-dd, optionally followed by a time (the xsd:dateTime lexical form).
    bool ok = date.size() >= 10 && date[4] == '-' && date[7] == '-' &&
              std::all_of(date.begin(), date.begin() + 4, [](unsigned char c) { return std::isdigit(c); });
    if (!ok) return bad_request("Message.Date must be an ISO 8601 date-time like 2026-11-24T13:00:00Z");
    m.data.emplace_back("Date", date);
  }
  if (const auto* d = find_ci(msg, "Duration"); d && !d->is_null()) {
    if (d->is_string() && d->get_string().size() <= 64) m.data.emplace_back("Duration", std::string(d->get_string()));
    else if (auto n = as_int64(*d)) m.data.emplace_back("Duration", std::to_string(*n));
    else return bad_request("Message.Duration must be a time span like \"00:15:00\"");
  }
  if (const auto* x = find_ci(msg, "ExtraValues"); x && !x->is_null()) {
    auto put = [&](std::string_view key, const json::value& value) -> std::optional<api_error> {
      if (key.empty() || key.size() > 128) return bad_request("Message.ExtraValues keys must be 1 to 128 characters");
      if (!value.is_string() && !value.is_null()) return bad_request("Message.ExtraValues values must be strings");
      std::string v = value.is_string() ? std::string(value.get_string()) : std::string();
      if (v.size() > 1024) return bad_request("Message.ExtraValues values must be at most 1024 characters");
      for (auto& [k, existing] : m.data)
        if (k == key) {
          existing = std::move(v);
          return std::nullopt;
        }
      m.data.emplace_back(std::string(key), std::move(v));
      return std::nullopt;
    };
    std::size_t count = 0;
    if (x->is_object()) {
      count = x->get_object().size();
      if (count > max_push_extra_values) return bad_request("Message.ExtraValues has more than " + std::to_string(max_push_extra_values) + " entries");
      for (const auto& kv : x->get_object())
        if (auto e = put(kv.key(), kv.value())) return *e;
    } else if (x->is_array()) {  // [{"Key":"k","Value":"v"}], the DataContract shape
      count = x->get_array().size();
      if (count > max_push_extra_values) return bad_request("Message.ExtraValues has more than " + std::to_string(max_push_extra_values) + " entries");
      for (const auto& item : x->get_array()) {
        const auto* k = item.is_object() ? find_ci(item.get_object(), "Key") : nullptr;
        if (!k || !k->is_string()) return bad_request("Message.ExtraValues items need a string Key");
        const auto* v = find_ci(item.get_object(), "Value");
        if (auto e = put(k->get_string(), v ? *v : json::value(nullptr))) return *e;
      }
    } else {
      return bad_request("Message.ExtraValues must be an object of strings");
    }
  }
  if (!m.silent && m.title.empty() && m.body.empty()) return bad_request("Message.Title or Message.Message is required (unless Silent)");
  return m;
}

std::string encode_error_json(const api_error& error) {
  json::object o;
  o["Error"] = true;
  o["ErrorType"] = error.type;
  o["ErrorMessage"] = error.message;
  o["ErrorSource"] = "Herald";
  return json::serialize(o);
}

std::string encode_error_xml(const api_error& error) {
  return "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Error><Error>true</Error><ErrorType>" + xml_escape(error.type) +
         "</ErrorType><ErrorMessage>" + xml_escape(error.message) + "</ErrorMessage><ErrorSource>Herald</ErrorSource></Error>";
}

}  // namespace herald
