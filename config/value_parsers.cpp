// Pure value parsers of the configuration (see value_parsers.hpp).
#include "config/value_parsers.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <limits>

#include "model/text.hpp"

namespace herald {

millis parse_duration(const std::string& text) {
  // One or more <integer><unit> groups ("90s", "1h30m"); a unit is required so
  // "30" can never mean seconds to one reader and milliseconds to another.
  if (text.empty()) throw std::invalid_argument("empty duration; expected e.g. 250ms, 30s, 15m, 1h, 2d");
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t start = i;
    while (i < text.size() && is_digit(text[i])) ++i;
    auto number = cfg::parse_unsigned(std::string_view(text).substr(start, i - start));
    const std::size_t unit_start = i;
    while (i < text.size() && !is_digit(text[i])) ++i;
    const std::string_view unit = std::string_view(text).substr(unit_start, i - unit_start);
    std::int64_t factor = 0;
    if (unit == "ms") factor = 1;
    else if (unit == "s") factor = 1'000;
    else if (unit == "m") factor = 60'000;
    else if (unit == "h") factor = 3'600'000;
    else if (unit == "d") factor = 86'400'000;
    if (!number || factor == 0) {
      throw std::invalid_argument("bad duration \"" + text + "\"; expected e.g. 250ms, 30s, 15m, 1h, 2d");
    }
    constexpr auto limit = std::numeric_limits<std::int64_t>::max();
    if (*number > static_cast<std::uint64_t>(limit / factor) || total > limit - static_cast<std::int64_t>(*number) * factor) {
      throw std::invalid_argument("duration \"" + text + "\" is too large");
    }
    total += static_cast<std::int64_t>(*number) * factor;
  }
  return millis{total};
}

namespace cfg {

bool all_of(std::string_view text, bool (*pred)(char)) { return std::all_of(text.begin(), text.end(), pred); }

bool is_identifier_char(char c) { return is_alnum(c) || c == '_' || c == '-' || c == '.'; }

std::optional<std::uint64_t> parse_unsigned(std::string_view text) { return parse_integer<std::uint64_t>(text); }

std::optional<std::int64_t> parse_signed(std::string_view text) {
  if (text.starts_with('+')) text.remove_prefix(1);
  return parse_integer<std::int64_t>(text);
}

std::string format_duration(millis d) {
  const auto ms = d.count();
  struct unit {
    std::int64_t factor;
    const char* suffix;
  };
  static constexpr unit units[] = {{86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}};
  if (ms != 0) {
    for (const auto& u : units) {
      if (ms % u.factor == 0) return std::to_string(ms / u.factor) + u.suffix;
    }
  }
  return std::to_string(ms) + "ms";
}

std::string format_size(std::size_t bytes) {
  if (bytes != 0 && bytes % mib == 0) return std::to_string(bytes / mib) + "MiB";
  if (bytes != 0 && bytes % kib == 0) return std::to_string(bytes / kib) + "KiB";
  return std::to_string(bytes);
}

std::optional<std::size_t> parse_size(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && is_digit(text[digits])) ++digits;
  auto number = parse_unsigned(text.substr(0, digits));
  if (!number) return std::nullopt;
  std::string_view suffix = text.substr(digits);
  if (!suffix.empty() && suffix.front() == ' ') suffix.remove_prefix(1);
  std::uint64_t factor = 1;
  if (suffix.empty() || suffix == "B") {
    factor = 1;
  } else if (suffix == "k" || suffix == "K" || suffix == "KB" || suffix == "KiB") {
    factor = kib;
  } else if (suffix == "m" || suffix == "M" || suffix == "MB" || suffix == "MiB") {
    factor = mib;
  } else {
    return std::nullopt;
  }
  if (*number > std::numeric_limits<std::size_t>::max() / factor) return std::nullopt;
  return static_cast<std::size_t>(*number * factor);
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string percent_decode(std::string_view text, const std::string& key) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) throw config_error(key, "bad percent-escape");
    const int hi = hex_value(text[i + 1]);
    const int lo = hex_value(text[i + 2]);
    if (hi < 0 || lo < 0) throw config_error(key, "bad percent-escape");
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::optional<std::array<std::uint8_t, 32>> decode_sha256(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  std::array<std::uint8_t, 32> out{};
  for (std::size_t i = 0; i < 32; ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return out;
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
  auto port = parse_unsigned(text);
  if (!port || *port < 1 || *port > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(*port);
}

bool is_hostname(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  return all_of(host, [](char c) { return is_alnum(c) || c == '-' || c == '.' || c == '_'; });
}

bool is_ipv6(const std::string& host) {
  in6_addr addr{};
  return inet_pton(AF_INET6, host.c_str(), &addr) == 1;
}

host_port parse_host_port(std::string_view text, const std::string& key, const std::string& what) {
  host_port out;
  std::string_view rest;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) throw config_error(key, "missing ']' after IPv6 address; expected " + what);
    out.host = std::string(text.substr(1, close - 1));
    if (!is_ipv6(out.host)) throw config_error(key, in_quotes(out.host) + " is not an IPv6 address");
    rest = text.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) throw config_error(key, "expected " + what);
  } else {
    const auto colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
      throw config_error(key, "IPv6 addresses need brackets, e.g. [::1]:8080");
    }
    out.host = std::string(text.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view{} : text.substr(colon);
    if (out.host.empty()) throw config_error(key, "missing host; expected " + what);
    if (!is_hostname(out.host)) throw config_error(key, in_quotes(out.host) + " is not a valid host name or address");
  }
  if (!rest.empty()) {
    rest.remove_prefix(1);  // ':'
    out.port = parse_port(rest);
    if (!out.port) throw config_error(key, "port must be a number from 1 to 65535, got " + in_quotes(rest));
  }
  return out;
}

host_port parse_host_and_port(std::string_view text, const std::string& key, const std::string& missing_port) {
  auto hp = parse_host_port(text, key, "host:port or [v6]:port");
  if (!hp.port) throw config_error(key, missing_port);
  return hp;
}

std::string parse_https_endpoint(const std::string& url, const std::string& key) {
  std::string_view rest(url);
  if (!rest.starts_with("https://")) throw config_error(key, "must be an https:// URL like https://host:443, got " + in_quotes(url));
  rest.remove_prefix(8);
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.find_first_of("/?#@") != std::string_view::npos) {
    throw config_error(key, "must be https://host[:port] without path, query or credentials");
  }
  if (rest.empty()) throw config_error(key, "missing host");
  parse_host_port(rest, key, "https://host[:port]");
  return "https://" + std::string(rest);
}

std::string parse_https_url_with_path(const std::string& url, const std::string& key) {
  std::string_view rest(url);
  if (!rest.starts_with("https://")) throw config_error(key, "must be an https:// URL, got " + in_quotes(url));
  rest.remove_prefix(8);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty() || authority.find('@') != std::string_view::npos)
    throw config_error(key, "must be https://host[:port]/path without credentials");
  if (!all_of(url, [](char c) { return static_cast<unsigned char>(c) > 0x20 && c != 0x7f; }))
    throw config_error(key, "must not contain spaces or control characters");
  parse_host_port(authority, key, "https://host[:port]/path");
  return url;
}

std::vector<std::string> parse_host_patterns(std::vector<std::string> hosts, const std::string& key) {
  if (hosts.empty()) throw config_error(key, "must list at least one host (leave it out for the defaults)");
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    auto& h = hosts[i];
    h = to_lower(h);
    std::string_view name(h);
    if (name.starts_with("*.")) name.remove_prefix(2);
    if (name.empty() || !all_of(name, [](char c) { return is_alnum(c) || c == '.' || c == '-' || c == ':'; }))
      throw config_error(key + "[" + std::to_string(i) + "]", "must be a host name, *.domain or an IP address, got " + in_quotes(h));
  }
  return hosts;
}

bool is_language_tag(std::string_view tag) {
  std::size_t start = 0;
  bool first = true;
  while (true) {
    const auto dash = tag.find('-', start);
    const auto part = tag.substr(start, dash == std::string_view::npos ? std::string_view::npos : dash - start);
    if (first) {
      if (part.size() < 2 || part.size() > 3 || !all_of(part, [](char c) { return c >= 'a' && c <= 'z'; })) return false;
    } else if (part.empty() || part.size() > 8 || !all_of(part, is_alnum)) {
      return false;
    }
    first = false;
    if (dash == std::string_view::npos) return true;
    start = dash + 1;
  }
}

bool is_zone_name(std::string_view zone) {
  return !zone.empty() && zone.size() <= 64 && !zone.starts_with('/') && zone.find("..") == std::string_view::npos &&
         all_of(zone, [](char c) { return is_alnum(c) || c == '/' || c == '_' || c == '-' || c == '+'; });
}

bool is_apple_id(std::string_view text) { return text.size() == 10 && all_of(text, is_alnum); }

}  // namespace cfg
}  // namespace herald
