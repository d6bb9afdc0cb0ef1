#pragma once
// /imfpush/v1/apps/{applicationId}/{devices,subscriptions,messages}: IBM
// MobileFirst push over REST (docs/IBM-PUSH.md).
#include <memory>

#include "api/server/route_module.hpp"

namespace herald {

class authenticator;
class ibm_agent;

std::unique_ptr<route_module> make_ibm_routes(const authenticator& auth, ibm_agent& agent);

}  // namespace herald
