#include "model/appointment.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <charconv>
#include <cstdio>

namespace herald {

namespace json = boost::json;
using namespace std::chrono;

namespace {
bool read_int(std::string_view s, std::size_t pos, std::size_t len, int& out) {
  if (pos + len > s.size()) return false;
  for (std::size_t i = pos; i < pos + len; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  auto r = std::from_chars(s.data() + pos, s.data() + pos + len, out);
  return r.ec == std::errc();
}
}  // namespace

std::optional<std::int64_t> alarm_due_ms(const appointment& a) {
  if (!a.has_alarm) return std::nullopt;
  return duration_cast<milliseconds>((a.start - a.lead_time).time_since_epoch()).count();
}

std::string alarm_timing(const appointment& a) {
  if (!a.has_alarm) return "off";
  return std::to_string(a.start.time_since_epoch().count()) + "-" + std::to_string(a.lead_time.count());
}

std::optional<sys_seconds> parse_iso8601(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fff](Z|+hh:mm|-hh:mm)
  int y, mo, d, h, mi, se;
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
    return std::nullopt;
  if (!read_int(s, 0, 4, y) || !read_int(s, 5, 2, mo) || !read_int(s, 8, 2, d) || !read_int(s, 11, 2, h) ||
      !read_int(s, 14, 2, mi) || !read_int(s, 17, 2, se))
    return std::nullopt;
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9' && digits < 9) ++pos, ++digits;
    if (digits == 0) return std::nullopt;
  }
  if (pos >= s.size()) return std::nullopt;  // an offset is required
  int offset_min = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh, om;
    if (pos + 6 != s.size() || s[pos + 3] != ':' || !read_int(s, pos + 1, 2, oh) || !read_int(s, pos + 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset_min = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  auto t = time_point_cast<seconds>(sys_days(ymd) + hours(h) + minutes(mi) + seconds(se) - minutes(offset_min));
  // The instant itself must lie in years 0001..9999 (what format_iso8601 writes
  // and reads back): "0000-01-01T00:30:00+01:00" is year 0 in UTC.
  auto utc_year = year_month_day(floor<days>(t)).year();
  if (utc_year < year{1} || utc_year > year{9999}) return std::nullopt;
  return t;
}

std::string format_iso8601(sys_seconds t) {
  auto days = floor<std::chrono::days>(t);
  year_month_day ymd(days);
  hh_mm_ss hms(t - days);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::optional<seconds> parse_timespan(std::string_view s) {
  long long days = 0;
  auto dot = s.find('.');
  auto colon = s.find(':');
  if (dot != std::string_view::npos && (colon == std::string_view::npos || dot < colon)) {
    auto r = std::from_chars(s.data(), s.data() + dot, days);
    if (r.ec != std::errc() || r.ptr != s.data() + dot || days < 0 || days > 365) return std::nullopt;
    s.remove_prefix(dot + 1);
  }
  int h, m, sec;
  if (s.size() != 8 || s[2] != ':' || s[5] != ':' || !read_int(s, 0, 2, h) || !read_int(s, 3, 2, m) || !read_int(s, 6, 2, sec))
    return std::nullopt;
  if (h > 23 || m > 59 || sec > 59) return std::nullopt;
  return seconds(days * 86400 + h * 3600 + m * 60 + sec);
}

std::string format_timespan(seconds s) {
  long long total = s.count();
  long long d = total / 86400;
  total %= 86400;
  char buf[40];
  if (d > 0)
    std::snprintf(buf, sizeof buf, "%lld.%02lld:%02lld:%02lld", d, total / 3600, (total / 60) % 60, total % 60);
  else
    std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", total / 3600, (total / 60) % 60, total % 60);
  return buf;
}

std::string encode_appointment(const appointment& a) {
  json::object o;
  o["AppointmentId"] = a.id;
  json::array ids;
  for (auto id : a.associate_ids) ids.emplace_back(id);
  o["AssociateIds"] = std::move(ids);
  o["Title"] = a.title;
  o["Location"] = a.location;
  o["StartDate"] = format_iso8601(a.start);
  if (a.end) o["EndDate"] = format_iso8601(*a.end);
  o["HasAlarm"] = a.has_alarm;
  o["AlarmLeadTime"] = format_timespan(a.lead_time);
  o["Type"] = a.type;
  o["Private"] = a.is_private;
  o["Revision"] = a.revision;
  return json::serialize(o);
}

std::optional<appointment> decode_appointment_record(std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  appointment a;
  auto str = [&](const char* k) -> std::string {
    auto* p = o.if_contains(k);
    return p && p->is_string() ? std::string(p->get_string()) : std::string();
  };
  a.id = str("AppointmentId");
  if (auto* ids = o.if_contains("AssociateIds"); ids && ids->is_array())
    for (auto& id : ids->get_array())
      if (id.is_int64()) a.associate_ids.push_back(id.get_int64());
  a.title = str("Title");
  a.location = str("Location");
  a.type = str("Type");
  auto start = parse_iso8601(str("StartDate"));
  if (!start) return std::nullopt;
  a.start = *start;
  if (auto e = parse_iso8601(str("EndDate"))) a.end = *e;
  if (auto* p = o.if_contains("HasAlarm"); p && p->is_bool()) a.has_alarm = p->get_bool();
  if (auto lt = parse_timespan(str("AlarmLeadTime"))) a.lead_time = *lt;
  if (auto* p = o.if_contains("Private"); p && p->is_bool()) a.is_private = p->get_bool();
  if (auto* p = o.if_contains("Revision"); p && p->is_int64()) a.revision = p->get_int64();
  return a;
}

}  // namespace herald
