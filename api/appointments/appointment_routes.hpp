#pragma once
// PUT/GET/DELETE /api/v1/appointments/{id}: the CRM's appointment feed.
#include <memory>

#include "api/server/route_module.hpp"

namespace herald {

class authenticator;
class broker_gateway;
class logger;

// `broker` null: every appointment route answers 503 (no broker in this process).
std::unique_ptr<route_module> make_appointment_routes(const authenticator& auth, logger& log, broker_gateway* broker);

}  // namespace herald
