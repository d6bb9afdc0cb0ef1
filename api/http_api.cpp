#include "api/http_api.hpp"

#include "api/admin/admin_routes.hpp"
#include "api/appointments/appointment_routes.hpp"
#include "api/foreign_system/foreign_system_agent.hpp"
#include "api/foreign_system/foreign_system_routes.hpp"
#include "api/ibm/ibm_agent.hpp"
#include "api/ibm/ibm_routes.hpp"
#include "api/pocket/pocket_agent.hpp"
#include "api/pocket/pocket_routes.hpp"
#include "api/server/route_module.hpp"
#include "api/soap/soap_routes.hpp"

namespace herald {

http_api::http_api(http_api_dependencies deps)
    : pocket_(std::make_unique<pocket_agent>(
          pocket_agent::dependencies{deps.log, deps.metrics, deps.devices, deps.broker, deps.check_device})),
      foreign_system_(std::make_unique<foreign_system_agent>(deps.log, deps.redis, deps.key_prefix)),
      ibm_(std::make_unique<ibm_agent>(ibm_agent::dependencies{deps.log, deps.metrics, deps.devices, deps.redis,
                                                               deps.key_prefix, deps.broker, deps.check_device})) {
  // The order the service asks them in; each answers only its own paths.
  std::vector<std::unique_ptr<route_module>> modules;
  modules.push_back(make_pocket_routes(deps.auth, *pocket_));
  modules.push_back(make_foreign_system_routes(deps.auth, *foreign_system_));
  modules.push_back(make_soap_routes(deps.auth, deps.log, *pocket_, *foreign_system_));
  modules.push_back(make_appointment_routes(deps.auth, deps.log, deps.broker));
  modules.push_back(make_ibm_routes(deps.auth, *ibm_));
  modules.push_back(make_admin_routes(deps.auth, deps.log, deps.redis, deps.key_prefix));
  service_ = std::make_unique<api_service>(
      api_service::dependencies{deps.log, deps.metrics, deps.auth, deps.redis, deps.key_prefix, deps.devices,
                                std::move(deps.extra_readiness)},
      std::move(modules));
}

http_api::~http_api() = default;

boost::asio::awaitable<api_response> http_api::handle(api_request& req) { return service_->handle(req); }

}  // namespace herald
