// The built-in route modules, in the order api_service asks them.
// Add a module here when you add its file to api/.
#include "api/route_module.hpp"

namespace herald {

std::vector<route_module_factory> builtin_route_modules() {
  return {
      make_pocket_routes,
      make_foreign_system_routes,
      make_soap_routes,
      make_appointment_routes,
      make_ibm_routes,
      make_admin_routes,
  };
}

}  // namespace herald
