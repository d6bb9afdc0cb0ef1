#include "api/appointments/appointment_codec.hpp"

#include "api/common/json_lookup.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <limits>
#include <set>

namespace herald {

namespace json = boost::json;

namespace {
api_error bad(std::string m) { return api_error{400, "ArgumentException", std::move(m)}; }

std::optional<api_error> text(const json::object& o, std::string_view name, std::string& out) {
  const auto* v = find_ci(o, name);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_string()) return bad(std::string(name) + " must be a string");
  if (v->get_string().size() > max_appointment_text)
    return bad(std::string(name) + " is longer than " + std::to_string(max_appointment_text) + " characters");
  out = std::string(v->get_string());
  return std::nullopt;
}
}  // namespace

decoded<appointment> decode_appointment_request(std::string_view body, std::string_view appointment_id) {
  if (appointment_id.empty() || appointment_id.size() > max_appointment_id)
    return bad("AppointmentId must be 1.." + std::to_string(max_appointment_id) + " characters");
  for (char c : appointment_id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      return bad("AppointmentId may only contain letters, digits, '-', '_' and '.'");
  json::parse_options opts;
  opts.max_depth = 8;
  boost::system::error_code ec;
  auto v = json::parse(body, ec, {}, opts);
  if (ec) return api_error{400, "SerializationException", "malformed JSON: " + ec.message()};
  if (!v.is_object()) return bad("request body must be a JSON object");
  const auto& o = v.get_object();
  appointment a;
  a.id = std::string(appointment_id);

  const auto* ids = find_ci(o, "AssociateIds");
  if (!ids || !ids->is_array() || ids->get_array().empty()) return bad("AssociateIds must be a non-empty array of associate ids");
  if (ids->get_array().size() > max_appointment_associates)
    return bad("AssociateIds has more than " + std::to_string(max_appointment_associates) + " entries");
  std::set<std::int64_t> seen;
  for (const auto& id : ids->get_array()) {
    if (!id.is_int64() && !id.is_uint64()) return bad("AssociateIds must contain integers");
    auto n = id.is_int64() ? id.get_int64() : static_cast<std::int64_t>(id.get_uint64());
    if (n <= 0 || n > std::numeric_limits<std::int32_t>::max()) return bad("AssociateIds must be positive 32-bit integers");
    if (seen.insert(n).second) a.associate_ids.push_back(n);
  }
  if (auto e = text(o, "Title", a.title)) return *e;
  if (auto e = text(o, "Location", a.location)) return *e;
  if (auto e = text(o, "Type", a.type)) return *e;

  std::string start, end, lead;
  if (auto e = text(o, "StartDate", start)) return *e;
  if (start.empty()) return bad("StartDate is required (ISO 8601 with offset, e.g. 2026-11-24T13:00:00Z)");
  auto s = parse_iso8601(start);
  if (!s) return bad("StartDate '" + start + "' is not ISO 8601 with an offset in years 0001..9999 (e.g. 2026-11-24T13:00:00Z)");
  a.start = *s;
  if (auto e = text(o, "EndDate", end)) return *e;
  if (!end.empty()) {
    auto en = parse_iso8601(end);
    if (!en) return bad("EndDate '" + end + "' is not ISO 8601 with an offset in years 0001..9999");
    if (*en < a.start) return bad("EndDate is before StartDate");
    a.end = *en;
  }
  if (const auto* h = find_ci(o, "HasAlarm"); h && !h->is_null()) {
    if (!h->is_bool()) return bad("HasAlarm must be true or false");
    a.has_alarm = h->get_bool();
  }
  if (auto e = text(o, "AlarmLeadTime", lead)) return *e;
  if (!lead.empty()) {
    auto l = parse_timespan(lead);
    if (!l) return bad("AlarmLeadTime '" + lead + "' is not a time span hh:mm:ss (or d.hh:mm:ss)");
    if (*l > max_alarm_lead_time) return bad("AlarmLeadTime '" + lead + "' is longer than 366 days");
    a.lead_time = *l;
  } else if (a.has_alarm) {
    return bad("AlarmLeadTime is required when HasAlarm is true");
  }
  if (const auto* p = find_ci(o, "Private"); p && !p->is_null()) {
    if (!p->is_bool()) return bad("Private must be true or false");
    a.is_private = p->get_bool();
  }
  return a;
}

std::string encode_appointment_response(const appointment& a) { return encode_appointment(a); }

}  // namespace herald
