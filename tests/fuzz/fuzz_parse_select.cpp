// $select parsing and the query-string reader.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/common/negotiation.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto sel = herald::parse_select(in);
  (void)sel.includes("DeviceName");
  (void)herald::query_parameter("/x?" + std::string(in), "$select");
  (void)herald::negotiate_accept(in);
  (void)herald::request_media_type(in);
  return 0;
}
