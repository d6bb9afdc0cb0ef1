#pragma once
// Every port of the broker on Redis and the providers, in one object the
// daemon builds: the broker's own keys (redis_broker_store), the device
// registry and the provider router.
#include <memory>
#include <string>

#include "broker/ports.hpp"
#include "broker/redis/redis_broker_store.hpp"

namespace herald {

class device_registry;
class provider_router;

// The device registry as the broker's device_port.
class registry_devices final : public device_port {
 public:
  explicit registry_devices(device_registry& registry) : registry_(registry) {}
  port_result<std::vector<std::vector<device_info>>> list_by_associates(const std::vector<std::int64_t>& associate_ids) override;
  port_result<std::optional<device_info>> get(const std::string& device_identifier) override;
  port_result<device_removal> remove_if_token(const std::string& device_identifier, const std::string& pns_handle) override;

 private:
  device_registry& registry_;
};

// The provider router as the broker's sender_port.
class router_sender final : public sender_port {
 public:
  explicit router_sender(provider_router& router) : router_(router) {}
  bool has_app(std::string_view app_id) const override;
  boost::asio::awaitable<delivery_result> async_send(std::string_view app_id, const device_info& device, const notification& n) override;

 private:
  provider_router& router_;
};

class redis_broker_ports {
 public:
  redis_broker_ports(std::shared_ptr<redis_client> redis, std::string key_prefix, std::string consumer, device_registry& devices,
                     provider_router& providers)
      : store_(std::move(redis), std::move(key_prefix), std::move(consumer)), devices_(devices), sender_(providers) {}
  redis_broker_ports(const redis_broker_ports&) = delete;
  redis_broker_ports& operator=(const redis_broker_ports&) = delete;

  broker_ports ports() { return {store_, store_, store_, store_, store_, devices_, sender_}; }
  redis_broker_store& store() { return store_; }

 private:
  redis_broker_store store_;
  registry_devices devices_;
  router_sender sender_;
};

}  // namespace herald
