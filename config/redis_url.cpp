// Parsing and masking redis.url (see redis_url.hpp).
#include "config/redis_url.hpp"

#include <string_view>

#include "config/value_parsers.hpp"
#include "model/text.hpp"

namespace herald::cfg {
namespace {

void parse_userinfo(std::string_view userinfo, const std::string& key, redis_address& out) {
  const auto colon = userinfo.find(':');
  out.username = percent_decode(userinfo.substr(0, colon), key);
  if (colon != std::string_view::npos) out.password = percent_decode(userinfo.substr(colon + 1), key);
}

int parse_db(std::string_view text, const std::string& key) {
  auto db = parse_unsigned(text);
  if (!db || *db > 65535) throw config_error(key, "database must be a number from 0 to 65535, got " + in_quotes(text));
  return static_cast<int>(*db);
}

redis_address parse_tcp(std::string_view rest, const std::string& key) {
  redis_address out;
  const auto slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  std::string_view tail = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    parse_userinfo(authority.substr(0, at), key, out);
    authority.remove_prefix(at + 1);
  }
  if (authority.empty()) throw config_error(key, "missing host; expected " + std::string(redis_url_forms));
  auto hp = parse_host_port(authority, key, redis_url_forms);
  out.host = hp.host;
  out.port = hp.port.value_or(6379);
  if (!tail.empty()) {
    if (tail.front() != '/') throw config_error(key, "unexpected " + in_quotes(tail) + "; expected " + redis_url_forms);
    tail.remove_prefix(1);
    if (!tail.empty()) out.db = parse_db(tail, key);
  }
  return out;
}

redis_address parse_unix(std::string_view rest, const std::string& key) {
  redis_address out;
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) throw config_error(key, "missing socket path; expected " + std::string(redis_url_forms));
  std::string_view authority = rest.substr(0, slash);
  if (!authority.empty()) {
    if (!authority.ends_with('@')) throw config_error(key, "a unix socket URL has no host; expected " + std::string(redis_url_forms));
    authority.remove_suffix(1);
    parse_userinfo(authority, key, out);
  }
  std::string_view path = rest.substr(slash);
  std::string_view query;
  if (const auto q = path.find('?'); q != std::string_view::npos) {
    query = path.substr(q + 1);
    path = path.substr(0, q);
  }
  if (path.size() < 2) throw config_error(key, "missing socket path; expected " + std::string(redis_url_forms));
  out.unix_socket = percent_decode(path, key);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (param.starts_with("db=")) {
      out.db = parse_db(param.substr(3), key);
    } else if (!param.empty()) {
      throw config_error(key, "unknown URL parameter " + in_quotes(param) + "; only db=N is supported");
    }
  }
  return out;
}

}  // namespace

redis_address parse_redis_url(const std::string& url, const std::string& key) {
  std::string_view rest(url);
  if (rest.starts_with("redis://")) return parse_tcp(rest.substr(8), key);
  if (rest.starts_with("redis+unix://")) return parse_unix(rest.substr(13), key);
  if (rest.starts_with("rediss://")) throw config_error(key, "TLS (rediss://) is not supported; use " + std::string(redis_url_forms));
  // The URL itself is not repeated: it may hold a password.
  throw config_error(key, "unknown scheme; expected " + std::string(redis_url_forms));
}

std::string mask_url(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  const auto authority_begin = scheme_end + 3;
  const auto authority_end = url.find_first_of("/?#", authority_begin);
  const auto at = url.rfind('@', authority_end == std::string::npos ? std::string::npos : authority_end);
  if (at == std::string::npos || at < authority_begin) return url;
  const auto colon = url.find(':', authority_begin);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

}  // namespace herald::cfg
