#pragma once
// POST /api/v1/Agents/ForeignSystem/<Method>: the ForeignSystem agent over REST.
#include <memory>

#include "api/server/route_module.hpp"

namespace herald {

class authenticator;
class foreign_system_agent;

std::unique_ptr<route_module> make_foreign_system_routes(const authenticator& auth, foreign_system_agent& agent);

}  // namespace herald
