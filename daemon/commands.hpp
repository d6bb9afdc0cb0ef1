#pragma once
// Herald's subcommands. Each returns the process exit code:
// 0 clean, 1 runtime failure, 2 bad configuration or usage.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace herald {

class logger;
class metrics_registry;
class redis_client;
struct config;

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

// The configuration of a one-shot command; prints "herald: bad configuration:
// ..." and returns nullopt (exit 2) when it does not load.
std::optional<config> load_command_config(const std::string& path);

// Runs a one-shot command against Redis on `ioc` (the caller's, so that what
// it made on it, such as providers, outlives the run): a connection started
// with async_start_redis, then `body`, whose result is the exit code.
// "herald <command>: Redis unavailable: ..." (exit 1) when it does not
// connect; an escaped exception is printed and exits 1.
int run_with_redis(boost::asio::io_context& ioc, const config& cfg, const std::string& command, logger& log, metrics_registry* metrics,
                   std::function<boost::asio::awaitable<int>(std::shared_ptr<redis_client>)> body);

}  // namespace herald
