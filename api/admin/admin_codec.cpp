#include "api/admin/admin_codec.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <stdexcept>

#include "api/ibm/ibm_codec.hpp"
#include "api/common/negotiation.hpp"
#include "config/config.hpp"

namespace herald {

namespace json = boost::json;

namespace {

json::object dead_letter_object(const dead_letter& e) {
  json::object o;
  o["id"] = e.id;
  o["time"] = format_iso8601_utc(stream_id_ms(e.id).value_or(0));
  json::object fields;
  for (const auto& [k, v] : e.fields) fields[k] = v;
  o["fields"] = std::move(fields);
  return o;
}

}  // namespace

std::string encode_delivery_trace(std::string_view subject, const std::vector<delivery_event>& events) {
  json::array list;
  for (const auto& e : events) {
    json::object o;
    o["time"] = format_iso8601_utc(e.at_ms);
    o["at_ms"] = e.at_ms;
    o["kind"] = e.kind;
    o["id"] = e.id;
    o["device"] = e.device;
    o["app"] = e.app;
    o["outcome"] = e.outcome;
    o["action"] = e.action;
    o["status"] = e.status;
    o["reason"] = e.reason;
    o["provider_id"] = e.provider_id;
    list.push_back(std::move(o));
  }
  json::object out;
  out["subject"] = subject;
  out["events"] = std::move(list);
  return json::serialize(out);
}

std::string encode_dead_letter(const dead_letter& e) { return json::serialize(dead_letter_object(e)); }

std::string encode_dead_letters(const std::vector<dead_letter>& entries, std::size_t examined) {
  json::array list;
  for (const auto& e : entries) list.push_back(dead_letter_object(e));
  json::object out;
  out["entries"] = std::move(list);
  out["examined"] = examined;
  return json::serialize(out);
}

std::variant<dead_letter_query, api_error> decode_dead_letter_query(std::string_view target) {
  dead_letter_query q;
  if (auto since = query_parameter(target, "since")) {
    try {
      q.since_age_ms = parse_duration(*since).count();
    } catch (const std::invalid_argument&) {
      return api_error{400, "ArgumentException", "since must be an age such as 30m, 12h or 7d"};
    }
  }
  if (auto reason = query_parameter(target, "reason")) q.filter.reason = *reason;
  if (auto app = query_parameter(target, "app")) q.filter.app = *app;
  if (auto limit = query_parameter(target, "limit")) {
    const bool digits = !limit->empty() && limit->size() <= 4 && std::all_of(limit->begin(), limit->end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || std::stoul(*limit) < 1 || std::stoul(*limit) > 1000) return api_error{400, "ArgumentException", "limit must be 1 to 1000"};
    q.limit = std::stoul(*limit);
  }
  return q;
}

}  // namespace herald
