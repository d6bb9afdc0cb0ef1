#include "api/pocket_codec.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

namespace herald {

namespace json = boost::json;

namespace {

constexpr std::size_t max_json_depth = 16;

api_error bad_request(std::string message) { return api_error{400, "ArgumentException", std::move(message)}; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Case-insensitive property lookup (WebAPI model binding is case-insensitive).
const json::value* find_ci(const json::object& obj, std::string_view name) {
  for (const auto& kv : obj)
    if (iequals(kv.key(), name)) return &kv.value();
  return nullptr;
}

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
  if (platform.empty()) return bad_request("DeviceInfo.Platform is required (Apple, Google, Microsoft, AppleDeveloper, AppleAdHoc, GoogleDeveloper)");
  auto p = parse_platform(platform);
  if (!p)
    return bad_request("DeviceInfo.Platform '" + platform +
                       "' is not a NotificationPlatform (Apple, Google, Microsoft, AppleDeveloper, AppleAdHoc, GoogleDeveloper)");
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

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 forbids most control characters even escaped.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') out += "&#xFFFD;";
        else out.push_back(c);
    }
  }
  return out;
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
