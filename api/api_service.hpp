#pragma once
// Routes every HTTP request: authentication, the Pocket agent, health and
// metrics. Handlers decode with the pure codecs, then carry out the I/O.
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include "api/http_server.hpp"
#include "model/device.hpp"
#include "model/push_message.hpp"

namespace herald {

class authenticator;
class device_registry;
class logger;
class metrics_registry;
class redis_client;
class route_module;
class alarm_broker;
struct api_context;

// Creates a route module; called once when the service is built.
using route_module_factory = std::function<std::unique_ptr<route_module>(api_context&)>;

// One dependency's readiness for /readyz.
struct readiness_check {
  std::string name;  // "redis", "apns:pocket", ...
  bool ok = false;
  std::string reason;  // why not ready ("" when ok)
};

struct api_context {
  logger& log;
  metrics_registry& metrics;
  const authenticator& auth;
  std::shared_ptr<redis_client> redis;
  device_registry& devices;
  // Extra readiness checks (providers); may be empty.
  std::function<std::vector<readiness_check>()> extra_readiness;
  std::string key_prefix;  // redis.key_prefix, for route modules that keep their own records
  // The broker's fan-out: accepts a message for delivery and returns its id
  // (accepted work is persisted before this returns). Null until wired.
  std::function<boost::asio::awaitable<boost::system::result<std::string>>(push_message)> submit_push;
  // One pass of the appointment-alarm broker (RunAppointmentAlarmBroker). Null until wired.
  std::function<boost::asio::awaitable<boost::system::error_code>()> run_alarm_broker;
  // The appointment-alarm broker (appointments API); null when not running.
  alarm_broker* broker = nullptr;
  // Further route modules (appointments, SOAP, IBM, ForeignSystem, ...), asked in order after the Pocket routes.
  std::vector<route_module_factory> extra_routes;
  // Checks a device's PNSHandle for its platform before it is stored (a Web
  // subscription's endpoint and keys, a WNS channel URI): "" when acceptable,
  // else the 400 message naming the field. Null: no check.
  std::function<std::string(const device_info&)> check_device = nullptr;
};

class api_service {
 public:
  explicit api_service(api_context ctx);
  ~api_service();

  boost::asio::awaitable<http_response> handle(http_request& req);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace herald
