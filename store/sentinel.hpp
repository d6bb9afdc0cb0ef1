#pragma once
// Redis Sentinel, client side: asks the sentinels where the master of
// redis.master_name is (SENTINEL get-master-addr-by-name) and follows their
// +switch-master announcements over a subscription. Each exchange runs over
// its own short TCP connection speaking RESP through hiredis' reply parser
// (a hiredis async context cannot carry a subscription next to commands).
//
// Threading: create() with a strand; every member function and handler runs
// on it.
#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"

namespace herald {

class logger;

struct redis_address {
  std::string host;
  std::uint16_t port = 0;
  std::string to_string() const;
};

// Parses a +switch-master message: "<name> <old-ip> <old-port> <new-ip> <new-port>".
// Returns the new address when the name is `master_name`.
std::optional<redis_address> parse_switch_master(const std::string& message, const std::string& master_name);

// True when an instance event's payload ("master <name> <ip> <port>", the
// form of +try-failover and -failover-abort-*) is about the master `master_name`.
bool is_event_for_master(const std::string& payload, const std::string& master_name);

// What the sentinels announced about our master.
struct sentinel_event {
  enum class kind { switch_master, failover_started, failover_aborted };
  kind what = kind::switch_master;
  redis_address address;  // the new master (switch_master only)
};

class sentinel_client : public std::enable_shared_from_this<sentinel_client> {
 public:
  // address: the master, or nullopt with why no sentinel could tell.
  using discover_handler = std::function<void(std::optional<redis_address> address, std::string why)>;
  using event_handler = std::function<void(const sentinel_event&)>;

  static std::shared_ptr<sentinel_client> create(boost::asio::any_io_executor strand, redis_settings settings,
                                                 logger& log);
  virtual ~sentinel_client() = default;

  // Asks the sentinels in turn (the one that answered last first) until one
  // names the master.
  virtual void discover(discover_handler handler) = 0;
  // Keeps one subscription to +switch-master, +try-failover and
  // -failover-abort-* (moving to the next sentinel, with backoff, when it
  // drops) and calls `on_event` for those about our master name.
  virtual void watch(event_handler on_event) = 0;
  virtual void stop() = 0;
};

}  // namespace herald
