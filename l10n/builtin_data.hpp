#pragma once
// The shipped message catalogs (config/locales/*.yaml) and time-zone table
// (config/timezones.yaml), compiled into the binary at build time
// (cmake/embed_files.cmake): Herald serves localized alarms with no data
// files installed. The configuration keys locales.directory and
// timezones.table_file replace them.
#include <span>

#include "runtime/embedded_file.hpp"

namespace herald {

using builtin_file = embedded_file;

// The catalogs, one per language, in file-name order.
std::span<const builtin_file> builtin_catalogs();
// The time-zone table.
builtin_file builtin_timezone_table();

}  // namespace herald
