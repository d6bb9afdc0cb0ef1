#pragma once
// POST /api/v1/Agents/Pocket/<Method>: the Pocket agent over REST.
#include <memory>

#include "api/server/route_module.hpp"

namespace herald {

class authenticator;
class pocket_agent;

std::unique_ptr<route_module> make_pocket_routes(const authenticator& auth, pocket_agent& agent);

}  // namespace herald
