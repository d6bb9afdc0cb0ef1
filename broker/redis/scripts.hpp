#pragma once
// The broker's Lua scripts (broker/redis/lua/*.lua, compiled in) and the
// helpers the Redis adapters share. Internal to broker/redis/.
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/ports.hpp"
#include "store/lua_script.hpp"

namespace herald::broker_redis {

constexpr const char* group_name = "herald";
constexpr int delivery_ttl_s = 7 * 24 * 3600;  // records outlive any retry window
constexpr int message_ttl_s = 2 * 24 * 3600;
constexpr int deadletter_maxlen = 100000;

// The script built from the named files of broker/redis/lua/, joined in
// order (a prelude first); one instance per name list for the process.
const lua_script& script(std::string_view name);
const lua_script& script(std::string_view prelude, std::string_view name);
const lua_script& script(std::string_view prelude1, std::string_view prelude2, std::string_view name);

template <typename T>
boost::system::result<T> fail(boost::system::error_code ec) {
  return boost::system::result<T>(boost::system::in_place_error, ec);
}
boost::system::error_code unexpected();

// A Redis integer reply or score ("1.7e12" and fractions included).
std::optional<std::int64_t> reply_int(const std::string& s);

// XREADGROUP / XCLAIM entries.
std::vector<work_item> parse_stream_entries(const redis_reply& entries);

}  // namespace herald::broker_redis
