#pragma once
// docs/openapi.yaml, compiled in at build time (cmake/embed_files.cmake) and
// served at GET /openapi.yaml.
#include <string_view>

namespace herald {

std::string_view openapi_document();

}  // namespace herald
