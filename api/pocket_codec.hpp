#pragma once
// Pure decoding/encoding of the Pocket agent's REST bodies (seeds 000, 001).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/api_error.hpp"
#include "api/negotiation.hpp"
#include "model/device.hpp"

namespace herald {

struct register_device_request {
  device_info device;                       // associate_id not yet set
  std::optional<std::int64_t> associate_id;  // "AssociateId" at the top level, if given
};

// `{"DeviceInfo":{DeviceName, DeviceIdentifier, PocketVersion, Language,
// PNSHandle, Platform, OSVersion, TimeZoneId}, "AssociateId"?}`; property
// names are case-insensitive as in the WebAPI.
decoded<register_device_request> decode_register_device(std::string_view json);

// `{"AssociateId":919}`; an empty body gives nullopt.
decoded<std::optional<std::int64_t>> decode_associate_request(std::string_view json);

// PocketDeviceInfo[] with every property outside `select` nulled out.
std::string encode_devices_json(const std::vector<device_info>& devices, const field_selection& select);
std::string encode_devices_xml(const std::vector<device_info>& devices, const field_selection& select);

// The WebAPI error body.
std::string encode_error_json(const api_error& error);
std::string encode_error_xml(const api_error& error);

// Escapes text for XML character data and attribute values.
std::string xml_escape(std::string_view text);

}  // namespace herald
