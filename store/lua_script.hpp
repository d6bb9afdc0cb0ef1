#pragma once
// A Lua script run with EVALSHA, falling back to EVAL when Redis lost its
// script cache (restart, SCRIPT FLUSH).
#include <boost/asio/awaitable.hpp>

#include <string>
#include <utility>
#include <vector>

#include "store/redis_client.hpp"

namespace herald {

class lua_script {
 public:
  explicit lua_script(std::string text);
  const std::string& sha() const { return sha_; }
  const std::string& text() const { return text_; }

  boost::asio::awaitable<std::pair<boost::system::error_code, redis_reply>> run(redis_client& redis, std::vector<std::string> keys,
                                                                                 std::vector<std::string> args) const;

 private:
  std::string text_;
  std::string sha_;
};

// A command's (or script's) arguments as strings: redis_args("GET", key).
// Use it instead of a braced list inside a co_await expression (GCC 12
// miscompiles initializer lists there).
template <typename... T>
std::vector<std::string> redis_args(T&&... values) {
  std::vector<std::string> out;
  out.reserve(sizeof...(T));
  (out.emplace_back(std::forward<T>(values)), ...);
  return out;
}

// Runs one command: `auto [ec, reply] = co_await redis_command(redis, {"GET", key});`
boost::asio::awaitable<std::pair<boost::system::error_code, redis_reply>> redis_command(redis_client& redis,
                                                                                         std::vector<std::string> args);

}  // namespace herald
