#pragma once
// redis.url: "redis://[user[:password]@]host[:port][/db]" or
// "redis+unix://[user[:password]@]/path?db=N". Pure parsing and masking.
#include <cstdint>
#include <string>

namespace herald::cfg {

struct redis_address {
  std::string host;         // "" with unix_socket
  std::uint16_t port = 0;   // 0 with unix_socket
  std::string unix_socket;
  int db = 0;
  std::string username;
  std::string password;
};

inline constexpr const char* redis_url_forms =
    "redis://[user[:password]@]host[:port][/db] or redis+unix:///path?db=N";

// Throws config_error(key, ...); the message never repeats the URL (it may hold a password).
redis_address parse_redis_url(const std::string& url, const std::string& key);

// The URL as written, with the password (if any) replaced by ***.
std::string mask_url(const std::string& url);

}  // namespace herald::cfg
