#include "l10n/localizer.hpp"

#include "l10n/builtin_data.hpp"
#include "model/text.hpp"

#include <unicode/datefmt.h>
#include <unicode/fmtable.h>
#include <unicode/locid.h>
#include <unicode/messagepattern.h>
#include <unicode/msgfmt.h>
#include <unicode/parseerr.h>
#include <unicode/timezone.h>
#include <unicode/ucal.h>
#include <unicode/unistr.h>
#include <unicode/utypes.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <unordered_map>

namespace herald {

// Types shared by the loader and localizer::impl; internal to this file.
namespace l10n_detail {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------
// Message keys. Each is an ICU MessageFormat pattern taking only the named
// arguments listed here (checked at load), so a typo in a catalog is a load
// error instead of a literal "{minuttes}" on a lock screen.

enum class message : std::size_t { title, lead, time, date, body };
constexpr std::size_t message_count = 5;

struct message_spec {
  std::string_view key;
  std::array<std::string_view, 6> args;  // unused slots are empty
};

constexpr std::array<message_spec, message_count> specs{{
    {"alarm.title", {"title", "private"}},
    {"alarm.lead", {"kind", "days", "hours", "minutes"}},
    {"alarm.time", {"start"}},
    {"alarm.date", {"start"}},
    {"alarm.body", {"time", "date", "today", "lead", "location", "has_location"}},
}};

const message_spec& spec(message m) { return specs[static_cast<std::size_t>(m)]; }

std::string utf8(const icu::UnicodeString& s) {
  std::string out;
  s.toUTF8String(out);
  return out;
}

icu::UnicodeString ustr(std::string_view s) {
  return icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), static_cast<std::int32_t>(s.size())));
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

// ---------------------------------------------------------------------------
// Language tags: "nb_NO.UTF-8" -> "nb-no". Catalog names are normalized the same way.

std::string normalize_tag(std::string_view raw) {
  std::string_view s = trim(raw);
  if (auto cut = s.find_first_of(".@"); cut != std::string_view::npos) s = s.substr(0, cut);  // POSIX "nb_NO.UTF-8@euro"
  std::string out;
  out.reserve(s.size());
  for (char c : s) out.push_back(c == '_' ? '-' : lower(c));
  return out;
}

// BCP 47 shape: a 2-8 letter language, then 1-8 character alphanumeric subtags.
bool is_tag(std::string_view tag) {
  std::size_t i = 0;
  bool first = true;
  while (true) {
    const std::size_t end = std::min(tag.find('-', i), tag.size());
    const std::string_view sub = tag.substr(i, end - i);
    if (sub.empty() || sub.size() > 8) return false;
    if (first && (sub.size() < 2 || !std::all_of(sub.begin(), sub.end(), is_alpha))) return false;
    if (!std::all_of(sub.begin(), sub.end(), [](char c) { return is_alpha(c) || is_digit(c); })) return false;
    if (end == tag.size()) return true;
    i = end + 1;
    first = false;
  }
}

std::string_view primary_language(std::string_view tag) { return tag.substr(0, tag.find('-')); }

// Catalog names to try for a normalized tag, most specific first.
std::vector<std::string> language_candidates(std::string tag) {
  std::vector<std::string> out;
  if (tag.empty() || tag == "*" || !is_tag(tag)) return out;
  while (true) {
    out.push_back(tag);
    const auto dash = tag.rfind('-');
    if (dash == std::string::npos) break;
    tag.resize(dash);
  }
  // Norwegian: "no" is the macrolanguage of Bokmål (nb) and Nynorsk (nn);
  // devices and CRM users use all three.
  if (tag == "nb") out.insert(out.end(), {"no"});
  if (tag == "nn") out.insert(out.end(), {"no", "nb"});
  if (tag == "no") out.insert(out.end(), {"nb", "nn"});
  return out;
}

// ---------------------------------------------------------------------------
// Catalogs.

struct raw_catalog {
  std::string name;  // normalized language tag, from the file name
  std::string file;
  std::string fallback;  // another catalog's name, or empty
  std::array<std::optional<std::string>, message_count> patterns;
};

struct resolved_message {
  icu::UnicodeString pattern;  // immutable; copies share the buffer (atomic refcount)
  std::string language;        // the catalog the pattern came from: its plural rules apply
  std::string file;
};

struct catalog {
  std::string name;
  std::array<resolved_message, message_count> messages;
  // Unique per loaded catalog, never reused: keys the per-thread caches, so
  // that a reloaded catalog never meets a formatter or text of an old one.
  std::uint64_t uid = 0;
};

std::uint64_t next_catalog_uid() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

std::string known_keys() {
  std::string out;
  for (const auto& s : specs) out += (out.empty() ? "" : ", ") + std::string(s.key);
  return out + ", fallback";
}

std::string known_args(const message_spec& s) {
  std::string out;
  for (auto a : s.args) {
    if (!a.empty()) out += (out.empty() ? "{" : ", {") + std::string(a) + "}";
  }
  return out;
}

// ICU's error name, with what it usually means in a catalog.
std::string explain(UErrorCode status) {
  std::string out = u_errorName(status);
  switch (status) {
    case U_UNMATCHED_BRACES: return out + " (a { without its })";
    case U_DEFAULT_KEYWORD_MISSING: return out + " (every select and plural needs an `other {...}` case)";
    case U_ILLEGAL_ARGUMENT_ERROR:
    case U_INVALID_FORMAT_ERROR: return out + " (an argument used with the wrong type, e.g. a number format on text)";
    default: return out;
  }
}

// Syntax, argument names, and for alarm.time/alarm.date exactly one top-level
// {start, date|time, ...}: only a top-level subformat's time zone can be set.
void check_pattern(const std::string& file, const message_spec& s, const std::string& text) {
  const std::string where(s.key);
  UParseError pe{};
  UErrorCode status = U_ZERO_ERROR;
  icu::MessagePattern mp(ustr(text), &pe, status);
  if (U_FAILURE(status)) {
    throw l10n_error(file, where + ": not a valid ICU MessageFormat pattern: " + explain(status) + " near " +
                               in_quotes(utf8(icu::UnicodeString(pe.preContext)) + "^" + utf8(icu::UnicodeString(pe.postContext))));
  }
  const bool wants_start = s.args[0] == "start";
  int depth = 0;
  int top_level_starts = 0;
  for (std::int32_t i = 0; i < mp.countParts(); ++i) {
    const auto& part = mp.getPart(i);
    switch (part.getType()) {
      case UMSGPAT_PART_TYPE_MSG_START: ++depth; break;
      case UMSGPAT_PART_TYPE_MSG_LIMIT: --depth; break;
      case UMSGPAT_PART_TYPE_ARG_NUMBER:
        throw l10n_error(file, where + ": numbered argument {" + utf8(mp.getSubstring(part)) + "}; use the names " + known_args(s));
      case UMSGPAT_PART_TYPE_ARG_NAME: {
        const std::string name = utf8(mp.getSubstring(part));
        if (std::find(s.args.begin(), s.args.end(), name) == s.args.end()) {
          throw l10n_error(file, where + ": unknown argument {" + name + "}; " + where + " takes " + known_args(s));
        }
        if (name != "start") break;
        const bool typed = i + 1 < mp.countParts() && mp.getPartType(i + 1) == UMSGPAT_PART_TYPE_ARG_TYPE &&
                           (mp.partSubstringMatches(mp.getPart(i + 1), u"date") ||
                            mp.partSubstringMatches(mp.getPart(i + 1), u"time"));
        if (depth != 1 || !typed) {
          throw l10n_error(file, where + ": {start} must be a top-level {start, time, ...} or {start, date, ...}, "
                                         "not inside a select or plural");
        }
        ++top_level_starts;
        break;
      }
      default: break;
    }
  }
  if (wants_start && top_level_starts != 1) {
    throw l10n_error(file, where + ": must use {start, time, ...} or {start, date, ...} exactly once");
  }
}

// Nested maps flatten to dotted keys: `alarm: {title: ...}` is "alarm.title".
void read_messages(const YAML::Node& node, const std::string& key, raw_catalog& out) {
  if (node.IsMap()) {
    for (const auto& kv : node) read_messages(kv.second, key + "." + kv.first.as<std::string>(), out);
    return;
  }
  const auto it = std::find_if(specs.begin(), specs.end(), [&](const message_spec& s) { return s.key == key; });
  if (it == specs.end()) throw l10n_error(out.file, "unknown key " + in_quotes(key) + " (known: " + known_keys() + ")");
  if (!node.IsScalar() || trim(node.Scalar()).empty()) {
    throw l10n_error(out.file, key + ": must be a non-empty string (an ICU MessageFormat pattern)");
  }
  check_pattern(out.file, *it, node.Scalar());
  out.patterns[static_cast<std::size_t>(it - specs.begin())] = node.Scalar();
}

// One YAML document: a file's text (`file` names it in errors) or a built-in one.
struct yaml_source {
  std::string file;
  std::string text;
};

yaml_source read_source(const std::string& file, const char* what) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw l10n_error(file, std::string("cannot read ") + what + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw l10n_error(file, std::string("cannot read ") + what + ": " + std::strerror(errno));
  return {file, text.str()};
}

// "<built-in>/en.yaml": what errors and check-config call compiled-in data.
yaml_source builtin_source(const builtin_file& f) { return {"<built-in>/" + std::string(f.name), std::string(f.text)}; }

raw_catalog read_catalog(const yaml_source& source, std::string name) {
  raw_catalog out;
  out.name = std::move(name);
  out.file = source.file;
  YAML::Node root;
  try {
    root = YAML::Load(source.text);
  } catch (const YAML::Exception& e) {
    throw l10n_error(out.file, std::string("cannot read catalog: ") + e.what());
  }
  if (root.IsNull()) return out;  // empty: everything from the fallback / default language
  if (!root.IsMap()) throw l10n_error(out.file, "must be a map of message keys (" + known_keys() + ")");
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    if (key == "fallback") {
      out.fallback = kv.second.IsScalar() ? normalize_tag(kv.second.Scalar()) : std::string();
      if (!is_tag(out.fallback)) throw l10n_error(out.file, "fallback: must be a catalog name such as nb or en");
      continue;
    }
    read_messages(kv.second, key, out);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Time zones.

bool is_code_char(char c) { return is_alpha(c) || is_digit(c) || c == '-' || c == '_'; }

std::string normalize_code(std::string_view raw) {
  std::string out;
  for (char c : trim(raw)) out.push_back(upper(c));
  return out;
}

// Empty if `zone` is an IANA zone ICU knows, else the problem.
std::string check_zone(const std::string& zone) {
  icu::UnicodeString canonical;
  UBool system = false;
  UErrorCode status = U_ZERO_ERROR;
  icu::TimeZone::getCanonicalID(ustr(zone), canonical, system, status);
  if (U_FAILURE(status) || !system || canonical == icu::UnicodeString(u"" UCAL_UNKNOWN_ZONE_ID)) {
    return "unknown IANA time zone " + in_quotes(zone) + " (ICU " + U_ICU_VERSION + ")";
  }
  return {};
}

struct zone_table {
  std::map<std::int32_t, std::string> by_id;
  std::map<std::string, std::string, std::less<>> by_code;  // upper-case codes
};

zone_table read_zone_table(const yaml_source& source) {
  const std::string& file = source.file;
  YAML::Node root;
  try {
    root = YAML::Load(source.text);
  } catch (const YAML::Exception& e) {
    throw l10n_error(file, std::string("cannot read time-zone table: ") + e.what());
  }
  const YAML::Node zones = root.IsMap() ? root["zones"] : YAML::Node();
  if (!zones.IsSequence()) throw l10n_error(file, "must be a map with a list `zones: [{id, code, zone}, ...]`");
  for (const auto& kv : root) {
    if (kv.first.as<std::string>() != "zones") throw l10n_error(file, "unknown key " + in_quotes(kv.first.as<std::string>()) + " (known: zones)");
  }
  zone_table out;
  std::map<std::int32_t, std::string> id_entry;
  std::map<std::string, std::string> code_entry;
  for (std::size_t i = 0; i < zones.size(); ++i) {
    const YAML::Node e = zones[i];
    const std::string where = "zones[" + std::to_string(i) + "] (line " + std::to_string(e.Mark().line + 1) + ")";
    if (!e.IsMap()) throw l10n_error(file, where + ": must be a map {id, code, zone}");
    for (const auto& kv : e) {
      const auto k = kv.first.as<std::string>();
      if (k != "id" && k != "code" && k != "zone") throw l10n_error(file, where + ": unknown key " + in_quotes(k) + " (known: id, code, zone)");
      if (!kv.second.IsScalar()) throw l10n_error(file, where + "." + k + ": must be a scalar");
    }
    std::optional<std::int32_t> id;
    if (e["id"]) {
      const std::string text(trim(e["id"].Scalar()));
      std::int64_t v = 0;
      const bool digits = !text.empty() && text.size() <= 10 && std::all_of(text.begin(), text.end(), is_digit);
      if (digits) v = std::stoll(text);
      if (!digits || v < 1 || v > std::numeric_limits<std::int32_t>::max()) {
        throw l10n_error(file, where + ".id: must be a positive integer (a SuperOffice TZLocation id), got " + in_quotes(text));
      }
      id = static_cast<std::int32_t>(v);
    }
    std::string code;
    if (e["code"]) {
      code = normalize_code(e["code"].Scalar());
      if (code.empty() || code.size() > 32 || !std::all_of(code.begin(), code.end(), is_code_char)) {
        throw l10n_error(file, where + ".code: must be a location code such as NO or US-NY, got " + in_quotes(e["code"].Scalar()));
      }
    }
    if (!id && code.empty()) throw l10n_error(file, where + ": needs an id, a code or both");
    if (!e["zone"]) throw l10n_error(file, where + ": zone is missing (an IANA name such as Europe/Oslo)");
    const std::string zone(trim(e["zone"].Scalar()));
    if (auto problem = check_zone(zone); !problem.empty()) throw l10n_error(file, where + ".zone: " + problem);
    if (id) {
      if (auto [it, fresh] = id_entry.emplace(*id, where); !fresh) {
        throw l10n_error(file, where + ": id " + std::to_string(*id) + " already used by " + it->second);
      }
      out.by_id.emplace(*id, zone);
    }
    if (!code.empty()) {
      if (auto [it, fresh] = code_entry.emplace(code, where); !fresh) {
        throw l10n_error(file, where + ": code " + code + " already used by " + it->second);
      }
      out.by_code.emplace(code, zone);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Formatting.

constexpr std::int32_t minutes_per_day = 24 * 60;

struct lead_parts {
  const char16_t* kind;
  std::int32_t days = 0, hours = 0, minutes = 0;
};

// Rounded to whole minutes; a day or more drops the minutes ("in 1 day 2 hours").
lead_parts split_lead(std::chrono::seconds lead) {
  const std::int64_t secs = lead.count();
  const std::int64_t total = secs <= 0 ? 0 : std::min<std::int64_t>((secs + 30) / 60, std::int64_t{minutes_per_day} * 100'000);
  const auto m = static_cast<std::int32_t>(total);
  if (m == 0) return {u"now"};
  if (m < 60) return {u"minutes", 0, 0, m};
  if (m < minutes_per_day) return {m % 60 == 0 ? u"hours" : u"hours_minutes", 0, m / 60, m % 60};
  const std::int32_t h = (m % minutes_per_day) / 60;
  return {h == 0 ? u"days" : u"days_hours", m / minutes_per_day, h, 0};
}

UDate to_udate(std::chrono::sys_seconds t) { return static_cast<UDate>(t.time_since_epoch().count()) * 1000.0; }

// Days since the epoch on the local calendar of `tz`.
std::int64_t local_day(const icu::TimeZone& tz, UDate t) {
  std::int32_t raw = 0;
  std::int32_t dst = 0;
  UErrorCode status = U_ZERO_ERROR;
  tz.getOffset(t, false, raw, dst, status);
  constexpr double millis_per_day = 86'400'000.0;
  return static_cast<std::int64_t>(std::floor((t + raw + dst) / millis_per_day));
}

// Formats with the device's own locale when it speaks the pattern's language
// (en-GB gets 24-hour times from the en catalog), else the catalog's.
icu::Locale formatting_locale(const std::string& device_tag, const std::string& pattern_language) {
  const std::string& tag = primary_language(device_tag) == primary_language(pattern_language) ? device_tag : pattern_language;
  UErrorCode status = U_ZERO_ERROR;
  icu::Locale loc = icu::Locale::forLanguageTag(tag, status);
  if (U_SUCCESS(status) && !loc.isBogus()) return loc;
  status = U_ZERO_ERROR;
  return icu::Locale::forLanguageTag(pattern_language, status);
}

// Argument names and values of one format call.
template <std::size_t N>
struct arguments {
  std::array<icu::UnicodeString, N> names;
  std::array<icu::Formattable, N> values;
};

// Appends `v`'s bytes to a cache key.
template <typename T>
void append_raw(std::string& key, const T& v) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));
  key.append(bytes, sizeof(T));
}

template <std::size_t N>
icu::UnicodeString format(const catalog& cat, message m, const std::string& device_tag, const icu::TimeZone* zone,
                          const arguments<N>& args) {
  const resolved_message& msg = cat.messages[static_cast<std::size_t>(m)];
  const auto fail = [&](const char* step, UErrorCode status) {
    return l10n_error(msg.file, std::string(spec(m).key) + ": " + step + " failed for catalog " + cat.name + ": " + explain(status));
  };
  UErrorCode status = U_ZERO_ERROR;
  // Building a MessageFormat (and its DateFormat) costs far more than
  // formatting with it: keep built formatters per thread (ICU formatters are
  // not thread-safe), keyed by catalog, message and formatting locale. Bounded.
  thread_local std::unordered_map<std::string, std::unique_ptr<icu::MessageFormat>> formatters;
  const std::string& locale_tag =
      primary_language(device_tag) == primary_language(msg.language) ? device_tag : msg.language;
  std::string cache_key;
  append_raw(cache_key, cat.uid);
  cache_key.push_back(static_cast<char>(m));
  cache_key += locale_tag;
  auto cached = formatters.find(cache_key);
  if (cached == formatters.end()) {
    if (formatters.size() >= 4096) formatters.clear();
    UParseError pe{};
    auto built = std::make_unique<icu::MessageFormat>(msg.pattern, formatting_locale(device_tag, msg.language), pe, status);
    if (U_FAILURE(status)) throw fail("building the formatter", status);
    cached = formatters.emplace(std::move(cache_key), std::move(built)).first;
  }
  icu::MessageFormat& mf = *cached->second;
  if (zone != nullptr) {
    // check_pattern guaranteed exactly one top-level {start, date|time}.
    auto* df = dynamic_cast<icu::DateFormat*>(mf.getFormat(u"start", status));
    if (U_FAILURE(status) || df == nullptr) throw fail("setting the time zone", U_FAILURE(status) ? status : U_INTERNAL_PROGRAM_ERROR);
    df->setTimeZone(*zone);
  }
  icu::UnicodeString out;
  mf.format(args.names.data(), args.values.data(), static_cast<std::int32_t>(N), out, status);
  if (U_FAILURE(status)) throw fail("formatting", status);
  out.trim();  // a pattern's stray edge spaces never reach a lock screen
  return out;
}

struct rendered {
  std::string title;
  std::string body;
  std::string lead;
};

icu::UnicodeString yes_no(bool b) { return b ? u"yes" : u"no"; }

// The parts of an alarm text that depend on neither title nor location: the
// lead time, the start's time and date in the zone, and its local day.
struct alarm_parts {
  icu::UnicodeString lead;
  icu::UnicodeString time;
  icu::UnicodeString date;
  std::int64_t start_day = 0;
};

alarm_parts format_parts(const catalog& cat, const std::string& device_tag, const icu::TimeZone& zone, std::chrono::sys_seconds start,
                         std::chrono::seconds lead_time) {
  const lead_parts lead = split_lead(lead_time);
  alarm_parts out;
  out.lead = format(cat, message::lead, device_tag, nullptr,
                    arguments<4>{{u"kind", u"days", u"hours", u"minutes"},
                                 {icu::Formattable(icu::UnicodeString(lead.kind)), icu::Formattable(lead.days),
                                  icu::Formattable(lead.hours), icu::Formattable(lead.minutes)}});
  const UDate at = to_udate(start);
  const arguments<1> start_arg{{u"start"}, {icu::Formattable(at, icu::Formattable::kIsDate)}};
  out.time = format(cat, message::time, device_tag, &zone, start_arg);
  out.date = format(cat, message::date, device_tag, &zone, start_arg);
  out.start_day = local_day(zone, at);
  return out;
}

// Many alarms share a start time and lead time (meetings start on the hour):
// their parts are formatted once per thread and catalog, device language and
// zone. Bounded.
const alarm_parts& cached_parts(const catalog& cat, const std::string& device_tag, const std::string& zone_name,
                                const icu::TimeZone& zone, std::chrono::sys_seconds start, std::chrono::seconds lead_time) {
  thread_local std::unordered_map<std::string, alarm_parts> parts;
  std::string key;
  key.reserve(24 + zone_name.size() + 1 + device_tag.size());
  append_raw(key, cat.uid);
  append_raw(key, start.time_since_epoch().count());
  append_raw(key, lead_time.count());
  key += zone_name;
  key.push_back('\x1f');
  key += device_tag;
  auto it = parts.find(key);
  if (it == parts.end()) {
    if (parts.size() >= 4096) parts.clear();
    it = parts.emplace(std::move(key), format_parts(cat, device_tag, zone, start, lead_time)).first;
  }
  return it->second;
}

rendered render(const catalog& cat, const std::string& device_tag, const std::string& zone_name, const icu::TimeZone& zone,
                const alarm_message_input& in, std::chrono::sys_seconds now) {
  const std::string_view title = trim(in.title);
  const std::string_view location = in.is_private ? std::string_view() : trim(in.location);
  const alarm_parts& parts = cached_parts(cat, device_tag, zone_name, zone, in.start, in.lead_time);

  rendered out;
  out.title = utf8(format(cat, message::title, device_tag, nullptr,
                          arguments<2>{{u"title", u"private"},
                                       {icu::Formattable(ustr(title)), icu::Formattable(yes_no(in.is_private || title.empty()))}}));
  out.lead = utf8(parts.lead);
  out.body = utf8(format(cat, message::body, device_tag, nullptr,
                         arguments<6>{{u"time", u"date", u"today", u"lead", u"location", u"has_location"},
                                      {icu::Formattable(parts.time), icu::Formattable(parts.date),
                                       icu::Formattable(yes_no(parts.start_day == local_day(zone, to_udate(now)))),
                                       icu::Formattable(parts.lead), icu::Formattable(ustr(location)),
                                       icu::Formattable(yes_no(!location.empty()))}}));
  return out;
}

std::unique_ptr<icu::TimeZone> make_zone(const std::string& name) {
  return std::unique_ptr<icu::TimeZone>(icu::TimeZone::createTimeZone(ustr(name)));
}

// A zone for formatting on this thread, created once per name (bounded).
const icu::TimeZone& cached_zone(const std::string& name) {
  thread_local std::unordered_map<std::string, std::unique_ptr<icu::TimeZone>> zones;
  auto it = zones.find(name);
  if (it == zones.end()) {
    if (zones.size() >= 1024) zones.clear();
    it = zones.emplace(name, make_zone(name)).first;
  }
  return *it->second;
}

// Every pattern of a resolved catalog, through every branch the code can
// select (all lead kinds, today or not, with and without location, private).
void trial_format(const catalog& cat, const std::string& zone_name) {
  const auto zone = make_zone(zone_name);
  using namespace std::chrono;
  const sys_seconds start = sys_days(year{2026} / 11 / 24) + hours(13);
  const std::array<seconds, 7> leads{seconds(0), minutes(1), minutes(15), hours(2), minutes(90), hours(24), hours(26)};
  for (std::size_t i = 0; i < leads.size(); ++i) {
    const bool odd = i % 2 == 1;
    const alarm_message_input in{odd ? "Review" : "", odd ? "Room 4" : "", start, leads[i], i == 3};
    const rendered r = render(cat, cat.name, zone_name, *zone, in, odd ? start : start - hours(48));
    const auto pick = [&](message m) -> const std::string& { return cat.messages[static_cast<std::size_t>(m)].file; };
    if (r.lead.empty()) throw l10n_error(pick(message::lead), "alarm.lead: empty for {kind} " + utf8(icu::UnicodeString(split_lead(leads[i]).kind)));
    if (r.title.empty()) throw l10n_error(pick(message::title), "alarm.title: formats to an empty title");
    if (r.body.empty()) throw l10n_error(pick(message::body), "alarm.body: formats to an empty body");
  }
}

}  // namespace l10n_detail

using namespace l10n_detail;

struct localizer::impl {
  std::map<std::string, catalog, std::less<>> catalogs;
  zone_table zones;
  std::string default_language;
  std::string default_zone;

  std::string resolve(std::string_view requested) const {
    for (const auto& name : language_candidates(normalize_tag(requested))) {
      if (catalogs.count(name) != 0) return name;
    }
    return default_language;
  }
};

localizer localizer::load(const std::string& locales_dir, const std::string& timezones_file,
                          std::string_view default_language, std::string_view default_zone) {
  auto d = std::make_shared<impl>();

  // Time zones first: the trial format needs the default zone.
  d->default_zone = std::string(trim(default_zone));
  if (auto problem = check_zone(d->default_zone); !problem.empty()) throw l10n_error("timezones.default", problem);
  d->zones = read_zone_table(timezones_file.empty() ? builtin_source(builtin_timezone_table())
                                                     : read_source(timezones_file, "time-zone table"));

  // Catalogs: every <lang>.yaml in the directory (or built in), in name order.
  const std::string catalogs_name = locales_dir.empty() ? std::string("<built-in>") : locales_dir;
  std::vector<fs::path> files;
  if (locales_dir.empty()) {
    for (const auto& f : builtin_catalogs()) files.emplace_back(f.name);
  } else {
    std::error_code ec;
    if (!fs::is_directory(locales_dir, ec)) throw l10n_error(locales_dir, "locales directory does not exist");
    for (const auto& entry : fs::directory_iterator(locales_dir, ec)) {
      if (entry.path().extension() == ".yaml") files.push_back(entry.path());
    }
    if (ec) throw l10n_error(locales_dir, "cannot list the locales directory: " + ec.message());
  }
  std::sort(files.begin(), files.end());
  std::map<std::string, raw_catalog, std::less<>> raw;
  for (const auto& path : files) {
    yaml_source source;
    if (locales_dir.empty()) {
      const auto builtin = builtin_catalogs();
      const auto it = std::find_if(builtin.begin(), builtin.end(), [&](const builtin_file& f) { return f.name == path.string(); });
      source = builtin_source(*it);
    } else {
      source.file = path.string();
    }
    const std::string stem = path.stem().string();
    const std::string name = normalize_tag(stem);
    if (name.size() != stem.size() || !is_tag(name)) throw l10n_error(source.file, "file name must be a language tag such as en.yaml or nb-NO.yaml");
    if (raw.count(name) != 0) throw l10n_error(source.file, "a second catalog for " + in_quotes(name) + " (" + raw.at(name).file + ")");
    if (!locales_dir.empty()) source = read_source(source.file, "catalog");
    raw.emplace(name, read_catalog(source, name));
  }
  if (raw.empty()) throw l10n_error(catalogs_name, "no catalogs (<language>.yaml) in the locales directory");

  for (const auto& name : language_candidates(normalize_tag(default_language))) {
    if (raw.count(name) != 0) {
      d->default_language = name;
      break;
    }
  }
  if (d->default_language.empty()) {
    throw l10n_error("locales.default_language", "no catalog for " + in_quotes(default_language) + " in " + catalogs_name);
  }

  // Resolve each catalog: its own keys, then its fallback chain, then the default language's chain.
  const auto chain_of = [&](const raw_catalog& start) {
    std::vector<const raw_catalog*> chain{&start};
    for (const raw_catalog* c = &start; !c->fallback.empty();) {
      const auto it = raw.find(c->fallback);
      if (it == raw.end()) throw l10n_error(c->file, "fallback: no catalog " + in_quotes(c->fallback) + " in " + catalogs_name);
      c = &it->second;
      if (std::find(chain.begin(), chain.end(), c) != chain.end()) {
        std::string cycle;
        for (const auto* x : chain) cycle += x->name + " -> ";
        throw l10n_error(start.file, "fallback cycle: " + cycle + c->name);
      }
      chain.push_back(c);
    }
    return chain;
  };
  const auto default_chain = chain_of(raw.at(d->default_language));
  for (const auto& [name, rc] : raw) {
    auto chain = chain_of(rc);
    for (const auto* c : default_chain) {
      if (std::find(chain.begin(), chain.end(), c) == chain.end()) chain.push_back(c);
    }
    catalog cat;
    cat.name = name;
    cat.uid = next_catalog_uid();
    for (std::size_t k = 0; k < message_count; ++k) {
      const auto it = std::find_if(chain.begin(), chain.end(), [&](const raw_catalog* c) { return c->patterns[k].has_value(); });
      if (it == chain.end()) {
        std::string searched;
        for (const auto* c : chain) searched += (searched.empty() ? "" : ", ") + c->name;
        throw l10n_error(rc.file, std::string(specs[k].key) + ": missing here and in the fallback catalogs (" + searched + ")");
      }
      cat.messages[k] = {ustr(*(*it)->patterns[k]), (*it)->name, (*it)->file};
    }
    trial_format(cat, d->default_zone);
    d->catalogs.emplace(name, std::move(cat));
  }
  return localizer(std::move(d));
}

localized_message localizer::alarm(const alarm_message_input& input, std::string_view device_language,
                                   std::int32_t time_zone_id, std::chrono::sys_seconds now) const {
  localized_message out;
  out.language_used = impl_->resolve(device_language);
  if (auto zone = zone_for(time_zone_id)) {
    out.zone_used = std::move(*zone);
  } else {
    out.zone_used = impl_->default_zone;
    out.zone_fallback = true;
  }
  const icu::TimeZone& zone = cached_zone(out.zone_used);
  std::string device_tag = normalize_tag(device_language);
  if (!is_tag(device_tag)) device_tag = out.language_used;
  rendered r = render(impl_->catalogs.find(out.language_used)->second, device_tag, out.zone_used, zone, input, now);
  out.title = std::move(r.title);
  out.body = std::move(r.body);
  return out;
}

std::string localizer::resolve_language(std::string_view requested) const { return impl_->resolve(requested); }

std::optional<std::string> localizer::zone_for(std::int32_t time_zone_id) const {
  const auto it = impl_->zones.by_id.find(time_zone_id);
  if (it == impl_->zones.by_id.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> localizer::zone_for_code(std::string_view location_code) const {
  const auto it = impl_->zones.by_code.find(normalize_code(location_code));
  if (it == impl_->zones.by_code.end()) return std::nullopt;
  return it->second;
}

const std::string& localizer::default_language() const { return impl_->default_language; }
const std::string& localizer::default_zone() const { return impl_->default_zone; }

std::vector<std::string> localizer::languages() const {
  std::vector<std::string> out;
  for (const auto& [name, cat] : impl_->catalogs) out.push_back(name);
  return out;
}

}  // namespace herald
