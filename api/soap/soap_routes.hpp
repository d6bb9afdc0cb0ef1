#pragma once
// The SOAP 1.1/1.2 endpoints (and ?wsdl) of the Pocket and ForeignSystem
// agents: the same agents as REST, another envelope.
#include <memory>

#include "api/server/route_module.hpp"

namespace herald {

class authenticator;
class foreign_system_agent;
class logger;
class pocket_agent;

std::unique_ptr<route_module> make_soap_routes(const authenticator& auth, logger& log, pocket_agent& pocket,
                                               foreign_system_agent& foreign);

}  // namespace herald
