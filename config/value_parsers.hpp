#pragma once
// The configuration's value parsers: durations, sizes, ports, host:port,
// https endpoints, host patterns, SHA-256 hex, names. Pure functions over
// text (no YAML, no files); `key` only names the value in a config_error.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace herald::cfg {

inline constexpr std::size_t kib = 1024;
inline constexpr std::size_t mib = 1024 * kib;

// Decimal, no sign / an optional sign; nullopt when not the whole text or out of range.
std::optional<std::uint64_t> parse_unsigned(std::string_view text);
std::optional<std::int64_t> parse_signed(std::string_view text);

// "1048576", "512KiB", "1MiB" (also k/K/KB and m/M/MB, all powers of 1024).
std::optional<std::size_t> parse_size(std::string_view text);
// The shortest exact form: 90000ms -> "90s", 0 -> "0ms"; 2 MiB -> "2MiB".
std::string format_duration(millis d);
std::string format_size(std::size_t bytes);

// 1..65535.
std::optional<std::uint16_t> parse_port(std::string_view text);
bool is_hostname(std::string_view host);
bool is_ipv6(const std::string& host);

struct host_port {
  std::string host;
  std::optional<std::uint16_t> port;
};

// "host", "host:port", "[v6]", "[v6]:port". `what` names the expected form
// in messages. Throws config_error(key, ...).
host_port parse_host_port(std::string_view text, const std::string& key, const std::string& what);
// "host:port" with the port required; `missing_port` is the problem when it is absent.
host_port parse_host_and_port(std::string_view text, const std::string& key, const std::string& missing_port);

// "%41" -> "A"; throws config_error(key, "bad percent-escape").
std::string percent_decode(std::string_view text, const std::string& key);

// "https://host[:port]" with an optional trailing '/'; returns it without the '/'.
std::string parse_https_endpoint(const std::string& url, const std::string& key);
// An https URL with a path (a token endpoint): no credentials, no spaces.
std::string parse_https_url_with_path(const std::string& url, const std::string& key);

// Hosts a client-supplied URL may point at: "name", "*.suffix" or an IP
// literal; returned lowercase. At least one.
std::vector<std::string> parse_host_patterns(std::vector<std::string> hosts, const std::string& key);

// 64 hex characters (either case) -> 32 bytes.
std::optional<std::array<std::uint8_t, 32>> decode_sha256(std::string_view hex);

// Identifiers that end up in scopes, Redis keys and log lines: no spaces,
// no separators that would need quoting.
bool is_identifier_char(char c);
bool all_of(std::string_view text, bool (*pred)(char));
// "en", "nb-NO", "zh-Hant-TW": a BCP 47 shape, not a registry lookup.
bool is_language_tag(std::string_view tag);
// "Europe/Oslo", "UTC", "Etc/GMT+1": an IANA name shape, not a lookup.
bool is_zone_name(std::string_view zone);
// Apple team and key ids: exactly 10 letters or digits.
bool is_apple_id(std::string_view text);

}  // namespace herald::cfg
