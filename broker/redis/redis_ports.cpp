#include "broker/redis/redis_ports.hpp"

#include "providers/provider.hpp"
#include "store/device_registry.hpp"

namespace herald {

port_result<std::vector<std::vector<device_info>>> registry_devices::list_by_associates(const std::vector<std::int64_t>& associate_ids) {
  return registry_.list_by_associates(associate_ids);
}

port_result<std::optional<device_info>> registry_devices::get(const std::string& device_identifier) {
  return registry_.get(device_identifier);
}

port_result<device_removal> registry_devices::remove_if_token(const std::string& device_identifier, const std::string& pns_handle) {
  auto r = co_await registry_.remove_if_token(device_identifier, pns_handle);
  if (!r) co_return boost::system::result<device_removal>(boost::system::in_place_error, r.error());
  switch (*r) {
    case remove_outcome::removed: co_return device_removal::removed;
    case remove_outcome::not_found: co_return device_removal::already_gone;
    case remove_outcome::token_changed: co_return device_removal::kept_new_token;
  }
  co_return device_removal::kept_new_token;
}

bool router_sender::has_app(std::string_view app_id) const { return router_.has_app(app_id); }

boost::asio::awaitable<delivery_result> router_sender::async_send(std::string_view app_id, const device_info& device, const notification& n) {
  return router_.async_send(app_id, device, n);
}

}  // namespace herald
