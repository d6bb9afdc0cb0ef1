#include "api/server/openapi_document.hpp"

#include "runtime/embedded_file.hpp"

namespace herald {

// Generated from docs/openapi.yaml (api/CMakeLists.txt).
std::span<const embedded_file> api_embedded_files();

std::string_view openapi_document() { return api_embedded_files().front().text; }

}  // namespace herald
