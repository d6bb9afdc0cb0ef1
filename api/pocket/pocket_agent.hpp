#pragma once
// The Pocket agent's operations, shared by the REST routes (pocket_routes.cpp)
// and the SOAP endpoints (soap_routes.cpp). Callers authenticate and decode;
// these check scopes and ownership, then do the I/O.
//
// Scopes: devices.write (RegisterDeviceForPushNotification,
// SetPushNotificationTagsFor*), devices.read (GetRegisteredDevices,
// GetPushNotificationTagsForDevice), messages.write (SendPushNotification),
// broker.run (RunAppointmentAlarmBroker). Ownership follows
// api/authorization: a credential bound to an associate reads and changes
// only that associate's devices (another's answers like an unknown one),
// names no other associate (403), moves another's device only with its
// current PNSHandle (409 otherwise) and messages only its own associate
// unless it has messages.any.
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "api/common/agent_value.hpp"
#include "api/common/api_error.hpp"
#include "api/access/auth.hpp"
#include "api/pocket/pocket_codec.hpp"

namespace herald {

class broker_gateway;
class counter;
class device_registry;
class logger;
class metrics_registry;

// A missing scope as the WebAPI reports it (403 SoAccessDeniedException).
std::optional<api_error> require_scope(const principal& who, std::string_view scope);

class pocket_agent {
 public:
  struct dependencies {
    logger& log;
    metrics_registry& metrics;
    device_registry& devices;
    // Null: SendPushNotification and RunAppointmentAlarmBroker answer 503.
    broker_gateway* broker = nullptr;
    // Checks a device's PNSHandle for its platform before it is stored (a Web
    // subscription's endpoint and keys, a WNS channel URI): "" when acceptable,
    // else the 400 message naming the field. Null: no check.
    std::function<std::string(const device_info&)> check_device;
  };
  explicit pocket_agent(dependencies deps);

  boost::asio::awaitable<decoded<done>> register_device(const principal& who, register_device_request req);
  boost::asio::awaitable<decoded<std::vector<device_info>>> registered_devices(const principal& who,
                                                                              std::optional<std::int64_t> associate);
  boost::asio::awaitable<decoded<done>> set_device_tags(const principal& who, const device_tags_request& req);
  boost::asio::awaitable<decoded<done>> set_user_tags(const principal& who, const user_tags_request& req);
  boost::asio::awaitable<decoded<std::string>> device_tags(const principal& who, const std::string& device_identifier);
  // 503 ServiceUnavailable while the broker's fan-out is not wired (no broker).
  boost::asio::awaitable<decoded<done>> send_push(const principal& who, push_message msg);
  // 503 ServiceUnavailable without a broker.
  boost::asio::awaitable<decoded<done>> run_alarm_broker(const principal& who);

  // Decodes `params_json` for `operation` (canonical name) and runs it, with
  // the result as a typed value (nullopt: a void method). For SOAP.
  boost::asio::awaitable<decoded<std::optional<agent_value>>> call(std::string_view operation, const principal& who,
                                                                   const std::string& params_json);

 private:
  dependencies deps_;
  counter& devices_registered_;
  counter& devices_moved_;
  counter& tags_set_;
};

}  // namespace herald
