#pragma once
// Routes every HTTP request: health, readiness, metrics and the API
// description here, everything else to the surfaces' route modules.
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include "api/server/http_server.hpp"

namespace herald {

class authenticator;
class device_registry;
class logger;
class metrics_registry;
class redis_client;
class route_module;

// One dependency's readiness for /readyz.
struct readiness_check {
  std::string name;  // "redis", "apns:pocket", ...
  bool ok = false;
  std::string reason;  // why not ready ("" when ok)
};

class api_service {
 public:
  // What the service itself uses: health, readiness, metrics and the
  // credential check of /readyz?verbose. The surfaces come as route modules.
  struct dependencies {
    logger& log;
    metrics_registry& metrics;
    const authenticator& auth;
    std::shared_ptr<redis_client> redis;  // /readyz's round trip
    std::string key_prefix;               // its dataset check
    device_registry& devices;             // herald_registered_devices on /metrics
    // Further readiness checks (providers); may be empty.
    std::function<std::vector<readiness_check>()> extra_readiness;
  };
  // `modules` are asked in order; the first that knows the path answers.
  api_service(dependencies deps, std::vector<std::unique_ptr<route_module>> modules);
  ~api_service();

  boost::asio::awaitable<api_response> handle(api_request& req);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace herald
