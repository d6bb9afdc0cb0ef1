#pragma once
// The shipped message catalogs (config/locales/*.yaml) and time-zone table
// (config/timezones.yaml), compiled into the binary at build time: Herald
// serves localized alarms with no data files installed. The configuration
// keys locales.directory and timezones.table_file replace them.
#include <span>
#include <string_view>

namespace herald {

struct builtin_file {
  std::string_view name;  // file name as shipped, e.g. "en.yaml"
  std::string_view text;  // its YAML text
};

// The catalogs, one per language, in file-name order.
std::span<const builtin_file> builtin_catalogs();
// The time-zone table.
builtin_file builtin_timezone_table();

}  // namespace herald
