#pragma once
// The IBM MobileFirst push operations (docs/IBM-PUSH.md): device
// registrations, subscriptions and messages of one application, as a
// credential may see them. Errors are api_error values carrying IBM's codes
// ("NotFound", "BadRequest", "Conflict", "Forbidden", "InternalError");
// ibm_routes turns them and the results into IBM's JSON.
#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/access/auth.hpp"
#include "api/common/api_error.hpp"
#include "api/ibm/ibm_codec.hpp"
#include "model/device.hpp"
#include "store/device_registry.hpp"
#include "store/ibm_store.hpp"

namespace herald {

class broker_gateway;
class counter;
class logger;
class metrics_registry;
class redis_client;

// One page of a listing and the number of matches in all.
template <typename T>
struct ibm_page {
  std::vector<T> items;
  std::size_t total = 0;
};

// The filters of GET .../subscriptions (each optional).
struct ibm_subscription_filter {
  std::optional<std::string> device_id;
  std::optional<std::string> tag;
  std::optional<std::string> user_id;
};

class ibm_agent {
 public:
  struct dependencies {
    logger& log;
    metrics_registry& metrics;
    device_registry& devices;
    std::shared_ptr<redis_client> redis;  // the per-application indexes
    std::string key_prefix;
    // Null: messages answer 500 (no broker in this process).
    broker_gateway* broker = nullptr;
    // As pocket_agent::dependencies::check_device.
    std::function<std::string(const device_info&)> check_device;
  };
  explicit ibm_agent(dependencies deps);

  // POST devices: the stored registration (`existed` says it was there before).
  boost::asio::awaitable<decoded<device_info>> register_device(const std::string& app, const principal& who,
                                                               const ibm_device_registration& reg, bool& existed);
  boost::asio::awaitable<decoded<device_info>> get_device(const std::string& app, const std::string& device_id,
                                                          const principal& who);
  boost::asio::awaitable<decoded<device_info>> update_device(const std::string& app, const std::string& device_id,
                                                             const principal& who, const ibm_device_update& update);
  boost::asio::awaitable<decoded<done>> delete_device(const std::string& app, const std::string& device_id,
                                                      const principal& who);
  boost::asio::awaitable<decoded<ibm_page<device_info>>> list_devices(const std::string& app, const principal& who,
                                                                     const ibm_device_query& query);

  boost::asio::awaitable<decoded<ibm_subscription_view>> subscribe(const std::string& app, const principal& who,
                                                                   const ibm_subscription& s);
  boost::asio::awaitable<decoded<done>> unsubscribe(const std::string& app, const principal& who,
                                                    const std::string& device_id, const std::string& tag);
  boost::asio::awaitable<decoded<ibm_page<ibm_subscription_view>>> list_subscriptions(
      const std::string& app, const principal& who, const ibm_subscription_filter& filter, std::size_t offset,
      std::size_t size);

  // POST messages: the accepted message's id.
  boost::asio::awaitable<decoded<std::string>> send_message(const std::string& app, const principal& who,
                                                            const ibm_message_request& m);

 private:
  template <typename Match>
  boost::asio::awaitable<boost::system::result<ibm_page<device_info>>> read_index(const std::string& key,
                                                                                 std::size_t offset, std::size_t count,
                                                                                 Match match);
  boost::asio::awaitable<boost::system::result<std::optional<device_info>>> find(const std::string& app,
                                                                                 const std::string& device_id,
                                                                                 const principal& who);
  boost::asio::awaitable<std::optional<api_error>> save(const device_info& d, const std::optional<device_info>& previous,
                                                        std::optional<std::int64_t> guard);
  boost::asio::awaitable<std::optional<api_error>> reindex(const device_update& u);
  boost::asio::awaitable<std::optional<api_error>> restrict_to_owner(const principal& who, push_message& msg);
  std::optional<api_error> refused_device(const device_info& d) const;

  dependencies deps_;
  ibm_store store_;
  counter& registrations_;
  counter& messages_;
};

}  // namespace herald
