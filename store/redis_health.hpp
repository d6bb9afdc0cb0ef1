#pragma once
// Redis's part of /readyz: a live round trip within a deadline, answered by
// a master, with no unacknowledged dataset reset.
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <string>

namespace herald {

class redis_client;

struct redis_health {
  bool ok = false;
  std::string reason;  // why not ("" when ok)
};

// Sends ROLE and GET <prefix>:dataset:reset (pipelined). Not ok when the
// client is not connected, no reply came within `deadline`, the node is not
// a master, or a dataset reset is unacknowledged ("dataset reset").
boost::asio::awaitable<redis_health> check_redis_health(redis_client& redis, std::string key_prefix,
                                                        std::chrono::milliseconds deadline);

}  // namespace herald
