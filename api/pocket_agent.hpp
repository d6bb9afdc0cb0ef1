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

#include <string>
#include <variant>
#include <vector>

#include "api/agent_value.hpp"
#include "api/api_error.hpp"
#include "api/auth.hpp"
#include "api/pocket_codec.hpp"

namespace herald {

struct api_context;
class counter;

// The outcome of an operation without a result.
using done = std::monostate;

// A missing scope as the WebAPI reports it (403 SoAccessDeniedException).
std::optional<api_error> require_scope(const principal& who, std::string_view scope);

class pocket_agent {
 public:
  explicit pocket_agent(api_context& ctx);

  boost::asio::awaitable<decoded<done>> register_device(const principal& who, register_device_request req);
  boost::asio::awaitable<decoded<std::vector<device_info>>> registered_devices(const principal& who,
                                                                              std::optional<std::int64_t> associate);
  boost::asio::awaitable<decoded<done>> set_device_tags(const principal& who, const device_tags_request& req);
  boost::asio::awaitable<decoded<done>> set_user_tags(const principal& who, const user_tags_request& req);
  boost::asio::awaitable<decoded<std::string>> device_tags(const principal& who, const std::string& device_identifier);
  // 503 ServiceUnavailable while the broker's fan-out is not wired (api_context::submit_push null).
  boost::asio::awaitable<decoded<done>> send_push(const principal& who, push_message msg);
  // 503 ServiceUnavailable while api_context::run_alarm_broker is null.
  boost::asio::awaitable<decoded<done>> run_alarm_broker(const principal& who);

  // Decodes `params_json` for `operation` (canonical name) and runs it, with
  // the result as a typed value (nullopt: a void method). For SOAP.
  boost::asio::awaitable<decoded<std::optional<agent_value>>> call(std::string_view operation, const principal& who,
                                                                   const std::string& params_json);

 private:
  api_context& ctx_;
  counter& devices_registered_;
  counter& devices_moved_;
  counter& tags_set_;
};

}  // namespace herald
