#pragma once
// Routes every HTTP request: authentication, the Pocket agent, health and
// metrics. Handlers decode with the pure codecs, then carry out the I/O.
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/http_server.hpp"

namespace herald {

class authenticator;
class device_registry;
class logger;
class metrics_registry;
class redis_client;

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
