#pragma once
// Herald's HTTP API put together: one agent per surface that has one, every
// surface's routes in the order they are asked, and the service in front.
// Each part gets exactly the dependencies it uses.
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/server/api_service.hpp"
#include "api/server/http_server.hpp"
#include "model/device.hpp"

namespace herald {

class broker_gateway;
class foreign_system_agent;
class ibm_agent;
class pocket_agent;

struct http_api_dependencies {
  logger& log;
  metrics_registry& metrics;
  const authenticator& auth;
  std::shared_ptr<redis_client> redis;
  std::string key_prefix;  // redis.key_prefix
  device_registry& devices;
  // Null: sending, running the broker and the appointments routes answer 503
  // (IBM messages 500, as IBM documents it).
  broker_gateway* broker = nullptr;
  // A device's PNSHandle checked for its platform before it is stored; null: none.
  std::function<std::string(const device_info&)> check_device;
  // Readiness of the providers, added to /readyz; may be empty.
  std::function<std::vector<readiness_check>()> extra_readiness;
};

class http_api {
 public:
  explicit http_api(http_api_dependencies deps);
  ~http_api();
  http_api(const http_api&) = delete;
  http_api& operator=(const http_api&) = delete;

  boost::asio::awaitable<api_response> handle(api_request& req);

 private:
  std::unique_ptr<pocket_agent> pocket_;
  std::unique_ptr<foreign_system_agent> foreign_system_;
  std::unique_ptr<ibm_agent> ibm_;
  std::unique_ptr<api_service> service_;
};

}  // namespace herald
