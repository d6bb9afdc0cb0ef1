#pragma once
// One area of the HTTP surface (Pocket REST, appointments, SOAP, IBM, ...).
// api_service asks each module in turn; a module answers only its own paths.
// Each surface's folder offers a make_*_routes taking exactly what it uses.
#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>

#include "api/server/http_server.hpp"

namespace herald {

class route_module {
 public:
  virtual ~route_module() = default;
  // nullopt: not this module's path. `path` is the lowercased path without a
  // trailing slash; `route_name` is set to a bounded metrics label.
  virtual boost::asio::awaitable<std::optional<api_response>> handle(api_request& req, const std::string& path,
                                                                      std::string& route_name) = 0;
};

}  // namespace herald
