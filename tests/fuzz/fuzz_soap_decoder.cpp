// SOAP envelope and WebAPI-XML decoding of untrusted bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/pocket/pocket_codec.hpp"
#include "api/soap/soap_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // The first byte picks the Content-Type / SOAPAction variant.
  std::string_view ct = size && (data[0] & 1) ? "application/soap+xml; action=\"urn:x/Pocket/RunAppointmentAlarmBroker\"" : "text/xml";
  std::string_view action = size && (data[0] & 2) ? "\"urn:x/GetRegisteredDevices\"" : "";
  auto r = herald::decode_soap_request(in, ct, action);
  if (auto* req = std::get_if<herald::soap_request>(&r)) {
    (void)herald::decode_register_device(req->parameters_json);
    (void)herald::decode_send_push(req->parameters_json);
  }
  (void)herald::xml_request_to_json(in);
  return 0;
}
