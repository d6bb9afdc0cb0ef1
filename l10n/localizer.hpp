#pragma once
// Localized appointment-alarm texts: the device's
// language picks a message catalog (ICU MessageFormat patterns loaded from
// <locales_dir>/<lang>.yaml or built in), the device's SuperOffice TimeZoneId
// picks the IANA zone the start time is shown in (timezones.yaml, or the
// built-in table). Pure: no I/O after
// load(). ICU and yaml-cpp stay in localizer.cpp.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/located_error.hpp"

namespace herald {

// A catalog or time-zone table that cannot be used: `file` names it,
// `problem` says what is wrong (and where: key, entry, argument).
class l10n_error : public located_error {
 public:
  using located_error::located_error;
  const std::string& file() const { return where(); }
};

// What the broker knows about one appointment alarm.
struct alarm_message_input {
  std::string title;                  // appointment title (may be empty)
  std::string location;               // empty: no location line
  std::chrono::sys_seconds start;     // appointment start (UTC)
  std::chrono::seconds lead_time{0};  // shown as "in 15 minutes"; rounded to whole minutes, <= 0 is "now"
  bool is_private = false;            // neutral title ("Appointment") and no location
};

// Texts are UTF-8 exactly as ICU formats them: with ICU 72 (CLDR 42) English
// times carry U+202F NARROW NO-BREAK SPACE before AM/PM ("8:00\u202FAM").
struct localized_message {
  std::string title;          // ready for aps.alert.title / notification.title
  std::string body;
  std::string language_used;  // the catalog used, e.g. "nb" for a device asking for "nb-NO"
  std::string zone_used;      // IANA zone the times are shown in
  bool zone_fallback = false; // true: the TimeZoneId was not in the table, zone_used is the default
};

// Immutable after load(); copies share the loaded data. Every const member
// may be called concurrently from any thread (each call builds its own ICU
// formatters: they are not thread-safe).
class localizer {
 public:
  // Loads every <lang>.yaml in `locales_dir` ("": the built-in catalogs) and
  // the time-zone table `timezones_file` ("": the built-in table), checks
  // every pattern (syntax, argument names, a trial format) and every IANA
  // name, and resolves `default_language` (e.g. "en", "nb-NO") to a catalog.
  // Throws l10n_error naming the file and the problem.
  static localizer load(const std::string& locales_dir, const std::string& timezones_file,
                        std::string_view default_language, std::string_view default_zone);

  // The alarm notification for one device. `device_language` is the
  // device's Language ("nb-NO", "en_US", "" for unset); `time_zone_id` its
  // SuperOffice TimeZoneId (0 or unknown: default zone, zone_fallback set).
  // `now` decides whether the start is "today" in that zone (else the date is shown).
  localized_message alarm(const alarm_message_input& input, std::string_view device_language,
                          std::int32_t time_zone_id, std::chrono::sys_seconds now) const;

  // The catalog for a requested language: case-insensitive, '_' or '-',
  // subtags dropped from the right, Norwegian nb/nn/no stand in for each
  // other ("nb-NO" -> "nb" -> "no"), then the default language.
  std::string resolve_language(std::string_view requested) const;

  // IANA zone for a SuperOffice TimeZoneId (TZLocation id), or for a
  // location code ("NO", "us-ny", as in the SO-TimeZone header); nullopt if
  // the table does not have it.
  std::optional<std::string> zone_for(std::int32_t time_zone_id) const;
  std::optional<std::string> zone_for_code(std::string_view location_code) const;

  const std::string& default_language() const;  // a catalog name
  const std::string& default_zone() const;      // IANA name
  std::vector<std::string> languages() const;   // catalog names, sorted

 private:
  struct impl;
  explicit localizer(std::shared_ptr<const impl> p) : impl_(std::move(p)) {}
  std::shared_ptr<const impl> impl_;
};

}  // namespace herald
