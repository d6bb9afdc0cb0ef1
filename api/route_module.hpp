#pragma once
// One area of the HTTP surface (Pocket REST, appointments, SOAP, IBM, ...).
// api_service asks each module in turn; a module answers only its own paths.
#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/api_service.hpp"
#include "api/http_server.hpp"

namespace herald {

class route_module {
 public:
  virtual ~route_module() = default;
  // nullopt: not this module's path. `path` is the lowercased path without a
  // trailing slash; `route_name` is set to a bounded metrics label.
  virtual boost::asio::awaitable<std::optional<http_response>> handle(http_request& req, const std::string& path,
                                                                      std::string& route_name) = 0;
};

#include <vector>

// Factories of the built-in modules (api/route_modules.cpp lists them in order).
std::vector<route_module_factory> builtin_route_modules();

std::unique_ptr<route_module> make_pocket_routes(api_context& ctx);
std::unique_ptr<route_module> make_foreign_system_routes(api_context& ctx);
std::unique_ptr<route_module> make_soap_routes(api_context& ctx);
std::unique_ptr<route_module> make_appointment_routes(api_context& ctx);
std::unique_ptr<route_module> make_ibm_routes(api_context& ctx);
std::unique_ptr<route_module> make_admin_routes(api_context& ctx);

}  // namespace herald
