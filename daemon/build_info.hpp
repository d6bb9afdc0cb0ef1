#pragma once
// What this binary was built from: `herald version` and herald_build_info.
#include <string_view>

namespace herald {

std::string_view build_version();  // the project version, e.g. "0.1.0"
std::string_view build_commit();   // the git commit (12 hex digits), or "unknown"

}  // namespace herald
