#pragma once
// IBM MobileFirst push indexes in Redis (docs/DATA-MODEL.md, "IBM indexes").
// The device records themselves live in device_registry: an IBM registration
// and a Pocket registration of the same deviceId are one device. This store
// keeps per-application sorted sets (all scores 0, so members are in
// lexicographic order and pages are stable):
//   <prefix>:ibm:app:<app>:devices           every deviceId registered through <app>
//   <prefix>:ibm:app:<app>:user:<userId>     the devices of one userId
//   <prefix>:ibm:app:<app>:platform:<A|G|W>  the devices of one platform
//   <prefix>:ibm:app:<app>:tag:<tagName>     the devices subscribed to a tag
// The indexes are hints: readers check every member against the device
// record (app, userId, platform, tags) and drop members that no longer match
// (a device removed or changed elsewhere, e.g. by the broker after an APNs
// 410), so a stale member is never answered and heals on the next read.
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model/device.hpp"
#include "store/redis_client.hpp"

namespace herald {

class device_registry;

class ibm_store {
 public:
  // `devices` names the record keys; it must outlive the store.
  ibm_store(std::shared_ptr<redis_client> redis, std::string key_prefix, const device_registry& devices);

  std::string app_key(const std::string& app) const;
  std::string user_key(const std::string& app, const std::string& user_id) const;
  std::string platform_key(const std::string& app, char letter) const;
  std::string tag_key(const std::string& app, const std::string& tag) const;

  // Adds `device` (as it is now stored) to its app's indexes and removes it
  // from those of `previous` that no longer apply. One script: atomic.
  boost::asio::awaitable<boost::system::result<void>> index(const device_info& device,
                                                            const std::optional<device_info>& previous);
  // Removes `device` from every index of its app.
  boost::asio::awaitable<boost::system::result<void>> unindex(const device_info& device);

  struct page {
    std::vector<std::string> ids;  // members [offset, offset + count)
    std::size_t total = 0;         // members in the index
  };
  boost::asio::awaitable<boost::system::result<page>> range(const std::string& key, std::size_t offset,
                                                            std::size_t count);
  // The records of `ids`, in order; nullopt where a record is missing.
  boost::asio::awaitable<boost::system::result<std::vector<std::optional<device_info>>>> fetch(
      const std::vector<std::string>& ids);
  // Drops stale members from one index.
  boost::asio::awaitable<boost::system::result<void>> forget(const std::string& key, const std::vector<std::string>& ids);

 private:
  std::shared_ptr<redis_client> redis_;
  std::string prefix_;
  const device_registry& devices_;
};

}  // namespace herald
