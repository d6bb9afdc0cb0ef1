// The Pocket and ForeignSystem JSON request decoders.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/foreign_system/foreign_system_codec.hpp"
#include "api/pocket/pocket_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)herald::decode_register_device(in);
  (void)herald::decode_associate_request(in);
  (void)herald::decode_device_tags(in);
  (void)herald::decode_user_tags(in);
  (void)herald::decode_device_identifier_request(in);
  (void)herald::decode_send_push(in);
  (void)herald::parse_tags(in);
  (void)herald::decode_foreign_device_request(in);
  (void)herald::decode_foreign_key_request(in);
  (void)herald::decode_save_foreign_key(in);
  (void)herald::decode_application_request(in);
  return 0;
}
