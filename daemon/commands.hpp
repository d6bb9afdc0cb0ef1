#pragma once
// Herald's subcommands. Each returns the process exit code:
// 0 clean, 1 runtime failure, 2 bad configuration or usage.
#include <boost/asio/awaitable.hpp>

#include <string>
#include <vector>

namespace herald {

class redis_client;

inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_bad_config = 2;

int run_command(const std::vector<std::string>& args);

int command_serve(const std::string& config_path);
int command_check_config(const std::string& config_path);
int command_version();
int command_send(const std::vector<std::string>& args);
int command_broker(const std::vector<std::string>& args);
int command_token(const std::vector<std::string>& args);
int command_deadletter(const std::vector<std::string>& args);
int command_redis(const std::vector<std::string>& args);
int command_webpush(const std::vector<std::string>& args);
int command_trace(const std::vector<std::string>& args);

// For the one-shot commands: starts `redis` and waits up to 5 s for its first
// connection. Runs on the caller's executor; the caller checks connected().
boost::asio::awaitable<void> async_start_redis(redis_client& redis);

}  // namespace herald
