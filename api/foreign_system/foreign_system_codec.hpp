#pragma once
// Pure decoding/encoding of the ForeignSystem agent's parameters and results
// (docs/API.md). Property names are case-insensitive, as in the WebAPI.
//
// Validation: ApplicationName and DeviceIdentifier are required, DeviceName
// may be empty; names (ApplicationName, DeviceName, KeyName, TableName) at
// most 255 characters, DeviceIdentifier at most 256, Value at most 4096, no
// control characters in names; RecordId a non-negative 32-bit integer, forced
// to 0 when TableName is empty.
#include <string>
#include <string_view>
#include <vector>

#include "api/common/agent_value.hpp"
#include "api/common/api_error.hpp"
#include "store/foreign_system_store.hpp"

namespace herald {

struct foreign_key_request {
  foreign_device_ref device;
  std::string key_name;
  std::string table_name;
  std::int32_t record_id = 0;
};

struct save_foreign_key_request {
  foreign_device_ref device;
  foreign_key key;  // Key, Value, TableName, RecordId (dates and authors are the server's)
};

// {ApplicationName, DeviceName, DeviceIdentifier}
decoded<foreign_device_ref> decode_foreign_device_request(std::string_view json);
// {ApplicationName, DeviceName, DeviceIdentifier, KeyName, TableName, RecordId}
decoded<foreign_key_request> decode_foreign_key_request(std::string_view json);
// {ForeignKey:{Key, Value, RecordId, TableName, ...}, ApplicationName, DeviceName, DeviceIdentifier}
decoded<save_foreign_key_request> decode_save_foreign_key(std::string_view json);
// {ApplicationName}
decoded<std::string> decode_application_request(std::string_view json);

// ForeignKey{Key, Value, RecordId, CreatedDate, UpdatedDate, UpdatedBy, CreatedBy, TableName};
// a default-constructed key gives the CRM's empty ForeignKey (dates 0001-01-01T00:00:00Z).
agent_value foreign_key_value(const foreign_key& key);
agent_value foreign_keys_value(const std::vector<foreign_key>& keys);
// ForeignDevice{ForeignDeviceId, Name, CreatedDate, UpdatedDate, AssociateFullName, CreatedBy, UpdatedBy, DeviceIdentifier, ForeignAppId}
agent_value foreign_device_value(const foreign_device& device);
agent_value foreign_devices_value(const std::vector<foreign_device>& devices);

}  // namespace herald
