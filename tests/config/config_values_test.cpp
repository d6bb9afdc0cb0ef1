// The configuration's pure parsers: values (value_parsers.hpp) and redis.url (redis_url.hpp).
#include <gtest/gtest.h>

#include "config/redis_url.hpp"
#include "config/value_parsers.hpp"

namespace herald::cfg {
namespace {

using namespace std::chrono_literals;

// The problem a call reports for `key`; fails the test when it does not throw.
template <class F>
std::string problem_of(F&& call, const std::string& key = "k") {
  try {
    call();
  } catch (const config_error& e) {
    EXPECT_EQ(e.key(), key);
    return e.problem();
  }
  ADD_FAILURE() << "no config_error";
  return {};
}

TEST(config_values, sizes_take_bytes_and_binary_suffixes) {
  EXPECT_EQ(parse_size("0"), 0u);
  EXPECT_EQ(parse_size("1048576"), 1048576u);
  EXPECT_EQ(parse_size("512B"), 512u);
  for (const char* k : {"64k", "64K", "64KB", "64KiB", "64 KiB"}) EXPECT_EQ(parse_size(k), 64u * 1024) << k;
  for (const char* m : {"2m", "2M", "2MB", "2MiB"}) EXPECT_EQ(parse_size(m), 2u * 1024 * 1024) << m;
  for (const char* bad : {"", "KiB", "1GiB", "1.5MiB", "-1", "1  KiB", "18446744073709551615MiB"}) {
    EXPECT_FALSE(parse_size(bad).has_value()) << bad;
  }
}

TEST(config_values, formatting_picks_the_largest_exact_unit) {
  EXPECT_EQ(format_duration(0ms), "0ms");
  EXPECT_EQ(format_duration(250ms), "250ms");
  EXPECT_EQ(format_duration(90s), "90s");
  EXPECT_EQ(format_duration(15min), "15m");
  EXPECT_EQ(format_duration(48h), "2d");
  EXPECT_EQ(format_duration(1500ms), "1500ms");
  EXPECT_EQ(format_size(0), "0");
  EXPECT_EQ(format_size(1000), "1000");
  EXPECT_EQ(format_size(8192), "8KiB");
  EXPECT_EQ(format_size(3 * mib), "3MiB");
  // What is printed parses back to the same value.
  for (millis d : {millis{0}, millis{7}, millis{61s}, millis{3h}, millis{24h * 90}}) EXPECT_EQ(parse_duration(format_duration(d)), d);
  for (std::size_t n : {std::size_t{1}, 4 * kib, 5 * mib, kib + 1}) EXPECT_EQ(parse_size(format_size(n)), n);
}

TEST(config_values, integers_and_ports) {
  EXPECT_EQ(parse_signed("+7"), 7);
  EXPECT_EQ(parse_signed("-7"), -7);
  EXPECT_FALSE(parse_unsigned("-7").has_value());
  EXPECT_FALSE(parse_unsigned("7 ").has_value());
  EXPECT_EQ(parse_port("1"), 1);
  EXPECT_EQ(parse_port("65535"), 65535);
  for (const char* bad : {"0", "65536", "http", "", "80x"}) EXPECT_FALSE(parse_port(bad).has_value()) << bad;
}

TEST(config_values, host_port_forms) {
  auto v4 = parse_host_port("10.0.0.1:6379", "k", "host:port");
  EXPECT_EQ(v4.host, "10.0.0.1");
  EXPECT_EQ(v4.port, 6379);
  auto name = parse_host_port("redis.internal", "k", "host:port");
  EXPECT_EQ(name.host, "redis.internal");
  EXPECT_FALSE(name.port.has_value());
  auto v6 = parse_host_port("[::1]:8080", "k", "host:port");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 8080);
  EXPECT_EQ(problem_of([] { parse_host_port("::1:80", "k", "host:port"); }), "IPv6 addresses need brackets, e.g. [::1]:8080");
  EXPECT_EQ(problem_of([] { parse_host_port("[::1", "k", "X"); }), "missing ']' after IPv6 address; expected X");
  EXPECT_EQ(problem_of([] { parse_host_port("[nothost]:1", "k", "X"); }), "\"nothost\" is not an IPv6 address");
  EXPECT_EQ(problem_of([] { parse_host_port(":80", "k", "X"); }), "missing host; expected X");
  EXPECT_EQ(problem_of([] { parse_host_port("a b:80", "k", "X"); }), "\"a b\" is not a valid host name or address");
  EXPECT_EQ(problem_of([] { parse_host_port("h:0", "k", "X"); }), "port must be a number from 1 to 65535, got \"0\"");
  EXPECT_EQ(problem_of([] { parse_host_and_port("h", "k", "needs a port"); }), "needs a port");
}

TEST(config_values, percent_decoding) {
  EXPECT_EQ(percent_decode("p%40ss%2f", "k"), "p@ss/");
  EXPECT_EQ(percent_decode("plain", "k"), "plain");
  for (const char* bad : {"%", "%4", "%zz", "a%g0"}) {
    EXPECT_EQ(problem_of([&] { percent_decode(bad, "k"); }), "bad percent-escape") << bad;
  }
}

TEST(config_values, https_endpoints) {
  EXPECT_EQ(parse_https_endpoint("https://api.push.apple.com/", "k"), "https://api.push.apple.com");
  EXPECT_EQ(parse_https_endpoint("https://[::1]:2197", "k"), "https://[::1]:2197");
  EXPECT_EQ(problem_of([] { parse_https_endpoint("http://x", "k"); }), "must be an https:// URL like https://host:443, got \"http://x\"");
  for (const char* bad : {"https://x/p", "https://u@x", "https://x?q"}) {
    EXPECT_EQ(problem_of([&] { parse_https_endpoint(bad, "k"); }), "must be https://host[:port] without path, query or credentials");
  }
  EXPECT_EQ(problem_of([] { parse_https_endpoint("https://", "k"); }), "missing host");

  EXPECT_EQ(parse_https_url_with_path("https://login.live.com/accesstoken.srf", "k"), "https://login.live.com/accesstoken.srf");
  EXPECT_EQ(problem_of([] { parse_https_url_with_path("https://u@x/p", "k"); }), "must be https://host[:port]/path without credentials");
  EXPECT_EQ(problem_of([] { parse_https_url_with_path("https://x/a b", "k"); }), "must not contain spaces or control characters");
}

TEST(config_values, host_patterns_are_lowercased_and_checked) {
  EXPECT_EQ(parse_host_patterns({"*.Notify.Windows.com", "::1", "push.example"}, "k"),
            (std::vector<std::string>{"*.notify.windows.com", "::1", "push.example"}));
  EXPECT_EQ(problem_of([] { parse_host_patterns({}, "k"); }), "must list at least one host (leave it out for the defaults)");
  EXPECT_EQ(problem_of([] { parse_host_patterns({"ok", "*."}, "k"); }, "k[1]"),
            "must be a host name, *.domain or an IP address, got \"*.\"");
}

TEST(config_values, sha256_hex) {
  const auto d = decode_sha256("f01d2474fd375b4c5eb46064b550034167661b86322f1e1d3cb7645512a06607");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ((*d)[0], 0xf0);
  EXPECT_EQ((*d)[31], 0x07);
  EXPECT_EQ(decode_sha256("F01D2474FD375B4C5EB46064B550034167661B86322F1E1D3CB7645512A06607"), d);
  EXPECT_FALSE(decode_sha256("f01d").has_value());
  EXPECT_FALSE(decode_sha256(std::string(63, 'a') + "g").has_value());
}

TEST(config_values, names) {
  for (const char* tag : {"en", "nb-NO", "zh-Hant-TW", "fil"}) EXPECT_TRUE(is_language_tag(tag)) << tag;
  for (const char* tag : {"", "e", "EN", "english", "en-", "en-toolongpart"}) EXPECT_FALSE(is_language_tag(tag)) << tag;
  for (const char* zone : {"UTC", "Europe/Oslo", "Etc/GMT+1", "America/Port-au-Prince"}) EXPECT_TRUE(is_zone_name(zone)) << zone;
  for (const char* zone : {"", "/etc/localtime", "../x", "Europe Oslo"}) EXPECT_FALSE(is_zone_name(zone)) << zone;
  EXPECT_TRUE(is_apple_id("ABCDE12345"));
  EXPECT_FALSE(is_apple_id("ABCDE1234"));
  EXPECT_FALSE(is_apple_id("ABCDE-1234"));
}

TEST(config_redis_url, tcp_and_unix_forms) {
  const auto tcp = parse_redis_url("redis://herald:p%40ss@[::1]:7000/2", "k");
  EXPECT_EQ(tcp.host, "::1");
  EXPECT_EQ(tcp.port, 7000);
  EXPECT_EQ(tcp.db, 2);
  EXPECT_EQ(tcp.username, "herald");
  EXPECT_EQ(tcp.password, "p@ss");
  EXPECT_EQ(tcp.unix_socket, "");
  EXPECT_EQ(parse_redis_url("redis://h", "k").port, 6379);

  const auto unix_socket = parse_redis_url("redis+unix://:pw@/run/redis.sock?db=3", "k");
  EXPECT_EQ(unix_socket.unix_socket, "/run/redis.sock");
  EXPECT_EQ(unix_socket.host, "");
  EXPECT_EQ(unix_socket.port, 0);
  EXPECT_EQ(unix_socket.db, 3);
  EXPECT_EQ(unix_socket.password, "pw");
}

TEST(config_redis_url, errors_never_repeat_the_url) {
  for (const char* url : {"rediss://u:hunter2@h", "http://u:hunter2@h", "redis://u:hunter2@h/x", "redis://u:hunter2@h:0",
                          "redis+unix://u:hunter2@h/s", "redis://u:hunter2@h?db=1"}) {
    const auto problem = problem_of([&] { parse_redis_url(url, "k"); });
    EXPECT_EQ(problem.find("hunter2"), std::string::npos) << url << ": " << problem;
  }
}

TEST(config_redis_url, masking_hides_only_the_password) {
  EXPECT_EQ(mask_url("redis://user:secret@h:1/0"), "redis://user:***@h:1/0");
  EXPECT_EQ(mask_url("redis://:secret@h"), "redis://:***@h");
  EXPECT_EQ(mask_url("redis+unix://:secret@/run/r.sock?db=1"), "redis+unix://:***@/run/r.sock?db=1");
  EXPECT_EQ(mask_url("redis://user@h"), "redis://user@h");
  EXPECT_EQ(mask_url("redis://h:6379/0"), "redis://h:6379/0");
  EXPECT_EQ(mask_url("not a url"), "not a url");
}

}  // namespace
}  // namespace herald::cfg
