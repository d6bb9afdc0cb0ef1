#pragma once
// ForeignSystem agent records in Redis (data model: docs/DATA-MODEL.md,
// "ForeignSystem keys"): application (by name) -> device (by name and
// identifier, owned by an associate) -> keys (KeyName, optionally bound to
// TableName + RecordId). Application, device and key names and table names
// match case-insensitively (as the CRM's database does); DeviceIdentifier
// matches exactly. Dates are UTC ISO 8601 strings supplied by the caller.
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/redis_client.hpp"

namespace herald {

inline constexpr std::size_t max_foreign_name_size = 255;    // ApplicationName, DeviceName, KeyName, TableName
inline constexpr std::size_t max_foreign_value_size = 4096;  // Value
inline constexpr std::size_t max_foreign_keys_per_device = 1000;
inline constexpr std::size_t max_foreign_devices_per_app = 10000;

struct foreign_device_ref {
  std::string application;
  std::string device_name;
  std::string device_identifier;
};

struct foreign_device {
  std::int64_t id = 0;  // ForeignDeviceId (0: none)
  std::int64_t app_id = 0;
  std::string name;
  std::string device_identifier;
  std::string application;
  std::int64_t associate_id = 0;  // owner; 0 = created by a service credential
  std::string created_date, updated_date, created_by, updated_by;
  bool operator==(const foreign_device&) const = default;
};

struct foreign_key {
  std::string key;
  std::string value;
  std::string table_name;  // "" = not bound to a record (RecordId 0)
  std::int32_t record_id = 0;
  std::string created_date, updated_date, created_by, updated_by;
  bool operator==(const foreign_key&) const = default;
};

// Outcome of a write that needs an existing device owned by the caller.
enum class foreign_write { done, no_device, not_owner, full };

template <typename T>
struct foreign_write_result {
  foreign_write outcome = foreign_write::done;
  T value{};
};

class foreign_system_store {
 public:
  foreign_system_store(std::shared_ptr<redis_client> redis, std::string key_prefix);

  // Get-or-create (creating the application too); an existing device is
  // returned unchanged (check its owner). `full` beyond max_foreign_devices_per_app.
  boost::asio::awaitable<boost::system::result<foreign_write_result<foreign_device>>> add_device(
      const foreign_device_ref& ref, std::int64_t associate_id, const std::string& by, const std::string& now);
  boost::asio::awaitable<boost::system::result<std::optional<foreign_device>>> get_device(const foreign_device_ref& ref);
  // Removes the device and its keys. `owner`: refuse a device of another associate.
  boost::asio::awaitable<boost::system::result<foreign_write>> delete_device(const foreign_device_ref& ref,
                                                                             std::optional<std::int64_t> owner);
  // Sorted by ForeignDeviceId.
  boost::asio::awaitable<boost::system::result<std::vector<foreign_device>>> application_devices(const std::string& application);

  boost::asio::awaitable<boost::system::result<std::optional<foreign_key>>> get_key(const foreign_device_ref& ref,
                                                                                   const std::string& key_name,
                                                                                   const std::string& table_name,
                                                                                   std::int32_t record_id);
  // Sorted by TableName, RecordId, Key.
  boost::asio::awaitable<boost::system::result<std::vector<foreign_key>>> device_keys(const foreign_device_ref& ref);
  // Insert or update (CreatedDate/CreatedBy of an existing key are kept);
  // returns the stored key. The device must exist (no_device) and belong to `owner` if given.
  boost::asio::awaitable<boost::system::result<foreign_write_result<foreign_key>>> save_key(const foreign_device_ref& ref,
                                                                                            const foreign_key& key,
                                                                                            std::optional<std::int64_t> owner);
  // done also when the key did not exist.
  boost::asio::awaitable<boost::system::result<foreign_write>> delete_key(const foreign_device_ref& ref, const std::string& key_name,
                                                                          const std::string& table_name, std::int32_t record_id,
                                                                          std::optional<std::int64_t> owner);

  // Key names (docs/tests).
  std::string apps_key() const;
  std::string devices_key(const std::string& application) const;
  std::string keys_key(const foreign_device_ref& ref) const;
  static std::string device_field(const foreign_device_ref& ref);
  static std::string key_field(const std::string& key_name, const std::string& table_name, std::int32_t record_id);

 private:
  std::shared_ptr<redis_client> redis_;
  std::string prefix_;
};

// Stored JSON records; pure, unit-tested.
std::string encode_foreign_device(const foreign_device& d);
std::optional<foreign_device> decode_foreign_device(const std::string& json);
std::string encode_foreign_key(const foreign_key& k);
std::optional<foreign_key> decode_foreign_key(const std::string& json);

}  // namespace herald
