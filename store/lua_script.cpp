#include "store/lua_script.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "runtime/digest.hpp"

namespace herald {

namespace asio = boost::asio;

lua_script::lua_script(std::string text) : text_(std::move(text)), sha_(sha1_hex(text_)) {}

asio::awaitable<std::pair<boost::system::error_code, redis_reply>> redis_command(redis_client& redis, std::vector<std::string> args) {
  auto [ec, reply] = co_await redis.async_exec(std::move(args), asio::as_tuple(asio::use_awaitable));
  co_return std::pair{ec, std::move(reply)};
}

asio::awaitable<std::pair<boost::system::error_code, redis_reply>> lua_script::run(redis_client& redis, std::vector<std::string> keys,
                                                                                    std::vector<std::string> args) const {
  std::vector<std::string> cmd;
  cmd.reserve(3 + keys.size() + args.size());
  cmd.push_back("EVALSHA");
  cmd.push_back(sha_);
  cmd.push_back(std::to_string(keys.size()));
  for (auto& k : keys) cmd.push_back(k);
  for (auto& a : args) cmd.push_back(a);
  auto r = co_await redis_command(redis, cmd);
  if (r.first == redis_error::server_error && r.second.str.starts_with("NOSCRIPT")) {
    cmd[0] = "EVAL";
    cmd[1] = text_;
    r = co_await redis_command(redis, std::move(cmd));
  }
  co_return r;
}

}  // namespace herald
