#include "l10n/builtin_data.hpp"

namespace herald {

// Generated from config/ (l10n/CMakeLists.txt): the time-zone table first, then the catalogs.
std::span<const embedded_file> l10n_embedded_files();

std::span<const builtin_file> builtin_catalogs() { return l10n_embedded_files().subspan(1); }

builtin_file builtin_timezone_table() { return l10n_embedded_files().front(); }

}  // namespace herald
