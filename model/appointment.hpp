#pragma once
// An appointment as the CRM feeds it (docs/API.md) and the pure rules
// around its alarm: when it is due, what counts as a re-arming change, and
// the stored record format.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace herald {

inline constexpr std::size_t max_appointment_associates = 1000;
inline constexpr std::size_t max_appointment_text = 1024;  // Title, Location, Type
inline constexpr std::size_t max_appointment_id = 128;
inline constexpr std::chrono::seconds max_alarm_lead_time = std::chrono::days(366);

struct appointment {
  std::string id;
  std::vector<std::int64_t> associate_ids;
  std::string title;
  std::string location;
  std::string type;
  std::chrono::sys_seconds start{};
  std::optional<std::chrono::sys_seconds> end;
  bool has_alarm = false;
  std::chrono::seconds lead_time{0};
  bool is_private = false;
  std::int64_t revision = 0;  // bumped by every change of the alarm's timing (set by the store)

  bool operator==(const appointment&) const = default;
};

// When the alarm fires (ms since epoch): start minus lead time, if it has one.
std::optional<std::int64_t> alarm_due_ms(const appointment& a);
// Identifies the alarm's timing; a PUT that changes it re-arms the alarm.
std::string alarm_timing(const appointment& a);

// The stored record (JSON with the API's PascalCase names).
std::string encode_appointment(const appointment& a);
std::optional<appointment> decode_appointment_record(std::string_view json);

// ISO 8601 with an offset ("2026-11-24T13:00:00Z", "...+01:00", fractions
// ignored); nullopt when malformed or without an offset.
std::optional<std::chrono::sys_seconds> parse_iso8601(std::string_view text);
std::string format_iso8601(std::chrono::sys_seconds t);  // UTC, "Z"
// .NET TimeSpan "hh:mm:ss" or "d.hh:mm:ss" (non-negative); nullopt when malformed.
std::optional<std::chrono::seconds> parse_timespan(std::string_view text);
std::string format_timespan(std::chrono::seconds s);

}  // namespace herald
