#pragma once
// The ForeignSystem agent's operations, shared by REST
// (foreign_system_routes.cpp) and SOAP (soap_routes.cpp).
//
// Scopes: devices.read for the Get* methods, devices.write for Add/Save/Delete.
// A credential bound to an associate sees and changes only devices it owns:
// another associate's device reads and deletes like an unknown one, and
// adding or saving a key on it is 409 (GetApplicationDevices lists only its
// own); a service credential (no associate) reaches every device, and
// devices it creates are owned by associate 0 (api/authorization). Missing keys and devices are not errors: Get* answer
// the CRM's empty ForeignKey / an empty ForeignDevice (ForeignDeviceId 0) / ""
// / [], Delete* succeed.
#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/common/agent_value.hpp"
#include "api/common/api_error.hpp"
#include "api/access/auth.hpp"
#include "store/foreign_system_store.hpp"

namespace herald {

class logger;
class redis_client;

class foreign_system_agent {
 public:
  foreign_system_agent(logger& log, std::shared_ptr<redis_client> redis, std::string key_prefix);

  // Decodes `params_json` for `operation` (canonical name, see soap_operation)
  // and runs it. nullopt result: a void method. 404 for an unknown operation.
  boost::asio::awaitable<decoded<std::optional<agent_value>>> call(std::string_view operation, const principal& who,
                                                                   const std::string& params_json);

 private:
  logger& log_;
  foreign_system_store store_;
};

}  // namespace herald
