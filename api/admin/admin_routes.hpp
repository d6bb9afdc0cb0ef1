#pragma once
// /api/v1/admin/...: delivery traces of a device or an appointment, and the
// dead letters (list, show, replay, purge). Scopes admin.read / admin.write.
// The records are read and written by store/delivery_trace and
// broker/redis/dead_letters, which `herald trace` and `herald deadletter`
// use too: the admin surface has no agent of its own.
#include <memory>
#include <string>

#include "api/server/route_module.hpp"

namespace herald {

class authenticator;
class logger;
class redis_client;

std::unique_ptr<route_module> make_admin_routes(const authenticator& auth, logger& log, std::shared_ptr<redis_client> redis,
                                                std::string key_prefix);

}  // namespace herald
