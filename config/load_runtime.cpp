// The small sections: broker, providers, trace, log, locales, timezones.
#include "config/sections.hpp"
#include "config/value_parsers.hpp"
#include "model/text.hpp"

namespace herald::cfg {

broker_settings load_broker(const YAML::Node& node) {
  const section s(node, "broker", {"interval", "max_lateness", "takeover_after", "max_deliveries"});
  broker_settings out;
  read_tunables(s, out, tunables::broker);
  return out;
}

providers_settings load_providers(const YAML::Node& node) {
  const section s(node, "providers", {"threads"});
  providers_settings out;
  read_tunables(s, out, tunables::providers);
  return out;
}

trace_settings load_trace(const YAML::Node& node) {
  const section s(node, "trace", {"max_events", "max_age"});
  trace_settings out;
  read_tunables(s, out, tunables::trace);
  return out;
}

log_settings load_log(const YAML::Node& node) {
  const section s(node, "log", {"level", "format"});
  log_settings out;
  s.read_choice("format", out.format, {"text", "json"}, "must be text or json, got ");
  s.read_choice("level", out.level, {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"},
                "must be one of emerg, alert, crit, err, warning, notice, info, debug; got ");
  return out;
}

locale_settings load_locales(const YAML::Node& node, const fs::path& base_dir) {
  const section s(node, "locales", {"default_language", "directory"});
  locale_settings out;
  if (auto v = s.get("default_language")) {
    out.default_language = scalar(*v, s.path("default_language"));
    if (!is_language_tag(out.default_language)) {
      throw config_error(s.path("default_language"), "must be a language tag like en or nb-NO, got " + in_quotes(out.default_language));
    }
  }
  // Unset: the catalogs compiled into the binary.
  s.read_path("directory", out.directory, base_dir);
  return out;
}

timezone_settings load_timezones(const YAML::Node& node, const fs::path& base_dir) {
  const section s(node, "timezones", {"default", "table_file"});
  timezone_settings out;
  if (s.read_string("default", out.default_zone) && !is_zone_name(out.default_zone)) {
    throw config_error(s.path("default"), "must be an IANA zone name like Europe/Oslo or UTC, got " + in_quotes(out.default_zone));
  }
  // Unset: the table compiled into the binary. Existence is the loader's check.
  s.read_path("table_file", out.table_file, base_dir);
  return out;
}

}  // namespace herald::cfg
