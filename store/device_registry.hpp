#pragma once
// The device registry in Redis (data model: docs/DATA-MODEL.md).
// Upserts keep the associate index consistent atomically (one Lua script):
// a device re-registered by another associate leaves the old one's list.
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/device.hpp"
#include "store/redis_client.hpp"

namespace herald {

enum class set_tags_outcome { updated, not_found, not_owner };
enum class remove_outcome { removed, not_found, token_changed };

// What an update callback decides for the record it was given.
enum class update_step {
  write,  // store the changed record
  keep,   // nothing to change
  abort,  // refuse (the caller knows why)
};

// The outcome of device_registry::update.
struct device_update {
  std::optional<device_info> before;  // nullopt: no such device
  std::optional<device_info> after;   // the record as changed by the callback (written only when step == write)
  update_step step = update_step::keep;
};

class device_registry {
 public:
  device_registry(std::shared_ptr<redis_client> redis, std::string key_prefix);

  // Insert or replace by device_identifier; moves the device to
  // device.associate_id's index. Returns the previous owner (if any).
  // A device whose `tags` is nullopt keeps the tags stored for it (a
  // re-registration does not reset the user's choices); set tags to a vector
  // (possibly empty) to replace them. The stored IBM subscriptions are
  // always kept (device.subscriptions is ignored; see update()).
  // A device that breaks the field bounds of model/device.hpp (or has an
  // empty identifier) is refused with errc::invalid_argument.
  // `required_owner` (a bound credential's registration): a device stored
  // for another owner is moved only when its stored PNSHandle equals
  // device.pns_handle (proof of possession), checked atomically with the
  // write; otherwise nothing changes and errc::operation_not_permitted is
  // returned.
  boost::asio::awaitable<boost::system::result<std::optional<std::int64_t>>> upsert(
      const device_info& device, std::optional<std::int64_t> required_owner = std::nullopt);
  boost::asio::awaitable<boost::system::result<std::vector<device_info>>> list_by_associate(std::int64_t associate_id);
  // The devices of many associates in one round trip (one script): one list
  // per id, in the order of `associate_ids`, each sorted as list_by_associate.
  boost::asio::awaitable<boost::system::result<std::vector<std::vector<device_info>>>> list_by_associates(
      const std::vector<std::int64_t>& associate_ids);
  boost::asio::awaitable<boost::system::result<std::optional<device_info>>> get(const std::string& device_identifier);
  // Replaces the device's tags, atomically with respect to concurrent
  // upserts (compare-and-set of the record in the device key and the owner's
  // hash together). `required_owner`: refuse (not_owner) a device that
  // belongs to another associate. Tags beyond the model bounds are refused
  // with errc::invalid_argument.
  boost::asio::awaitable<boost::system::result<set_tags_outcome>> set_tags(const std::string& device_identifier,
                                                                           std::vector<std::string> tags,
                                                                           std::optional<std::int64_t> required_owner = std::nullopt);
  // Changes one device record atomically with respect to concurrent upserts
  // and updates (compare-and-set of the device key and the owner's hash
  // together, retried on a conflict): `change` is called with the record as
  // stored (again after a conflict) and decides. It may change anything but
  // the identifier and the owner. A changed record that breaks the field
  // bounds is refused with errc::invalid_argument.
  boost::asio::awaitable<boost::system::result<device_update>> update(const std::string& device_identifier,
                                                                      std::function<update_step(device_info&)> change);

  // Returns whether it existed.
  boost::asio::awaitable<boost::system::result<bool>> remove(const std::string& device_identifier);
  // Removes the device only while its stored PNSHandle is still `pns_handle`
  // (atomically): a provider said that token is gone, and a registration
  // with a new token that raced the send must survive (token_changed).
  boost::asio::awaitable<boost::system::result<remove_outcome>> remove_if_token(const std::string& device_identifier,
                                                                                const std::string& pns_handle);
  // Number of registered devices.
  boost::asio::awaitable<boost::system::result<std::int64_t>> count();

  // Key names (exposed for docs/tests).
  std::string device_key(const std::string& device_identifier) const;
  std::string associate_key(std::int64_t associate_id) const;
  std::string devices_key() const;  // SET of every registered DeviceIdentifier

 private:
  std::shared_ptr<redis_client> redis_;
  std::string prefix_;
};

// Serialization of a device record as stored (JSON); pure, unit-tested.
std::string encode_device_record(const device_info& device);
std::optional<device_info> decode_device_record(const std::string& json);

}  // namespace herald
