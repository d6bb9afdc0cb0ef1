#include "config/config.hpp"
#include "tests/config/config_fixture.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace herald {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* dev_token_sha = "f01d2474fd375b4c5eb46064b550034167661b86322f1e1d3cb7645512a06607";

using config_test = config_dir_test;

std::string apns_yaml(const std::string& extra) {
  return "apps:\n  pocket:\n    apns:\n      topic: com.example.pocket\n" + extra;
}

TEST_F(config_test, empty_document_gives_documented_defaults) {
  const config cfg = load("");
  EXPECT_EQ(cfg.source_path, "");
  EXPECT_EQ(cfg.server.listen_host, "127.0.0.1");
  EXPECT_EQ(cfg.server.listen_port, 8080);
  EXPECT_EQ(cfg.server.threads, 1);
  EXPECT_EQ(cfg.server.body_limit, 1u << 20);
  EXPECT_EQ(cfg.server.header_limit, 16u << 10);
  EXPECT_EQ(cfg.server.header_timeout, 10s);
  EXPECT_EQ(cfg.server.read_timeout, 30s);
  EXPECT_EQ(cfg.server.idle_timeout, 60s);
  EXPECT_EQ(cfg.server.max_connections, 4096u);
  EXPECT_EQ(cfg.server.shutdown_grace, 10s);
  EXPECT_EQ(cfg.redis.url, "redis://127.0.0.1:6379/0");
  EXPECT_EQ(cfg.redis.host, "127.0.0.1");
  EXPECT_EQ(cfg.redis.port, 6379);
  EXPECT_EQ(cfg.redis.db, 0);
  EXPECT_EQ(cfg.redis.key_prefix, "herald");
  EXPECT_EQ(cfg.redis.connect_timeout, 2s);
  EXPECT_EQ(cfg.redis.command_timeout, 2s);
  EXPECT_EQ(cfg.redis.reconnect_min, 100ms);
  EXPECT_EQ(cfg.redis.reconnect_max, 5s);
  EXPECT_EQ(cfg.redis.max_pending, 100'000u);
  EXPECT_TRUE(cfg.auth.tokens.empty());
  EXPECT_TRUE(cfg.auth.application_tokens.empty());
  EXPECT_TRUE(cfg.apps.empty());
  EXPECT_EQ(cfg.broker.interval, 30s);
  EXPECT_EQ(cfg.broker.max_lateness, 15min);
  EXPECT_EQ(cfg.broker.max_deliveries, 10);
  EXPECT_EQ(cfg.trace.max_events, 50);
  EXPECT_EQ(cfg.trace.max_age, 7 * 24h);
  EXPECT_EQ(cfg.log.level, "info");
  EXPECT_EQ(cfg.log.format, "text");
  EXPECT_EQ(cfg.locales.default_language, "en");
  EXPECT_EQ(cfg.locales.directory, "");  // the built-in catalogs
  EXPECT_EQ(cfg.timezones.default_zone, "Europe/Oslo");
  EXPECT_EQ(cfg.timezones.table_file, "");  // the built-in table
}

TEST_F(config_test, empty_sections_keep_defaults) {
  const config cfg = load("server:\nredis:\nauth:\napps:\nbroker:\n");
  EXPECT_EQ(cfg.server.listen_port, 8080);
  EXPECT_TRUE(cfg.apps.empty());
}

TEST_F(config_test, reads_every_server_key) {
  const config cfg = load(
      "server:\n  listen: 0.0.0.0:9090\n  threads: 4\n  body_limit: 64KiB\n  header_limit: 8192\n"
      "  header_timeout: 5s\n  read_timeout: 1m\n  idle_timeout: 2m\n  max_connections: 100\n  shutdown_grace: 0s\n");
  EXPECT_EQ(cfg.server.listen_host, "0.0.0.0");
  EXPECT_EQ(cfg.server.listen_port, 9090);
  EXPECT_EQ(cfg.server.threads, 4);
  EXPECT_EQ(cfg.server.body_limit, 64u * 1024);
  EXPECT_EQ(cfg.server.header_limit, 8192u);
  EXPECT_EQ(cfg.server.header_timeout, 5s);
  EXPECT_EQ(cfg.server.read_timeout, 1min);
  EXPECT_EQ(cfg.server.idle_timeout, 2min);
  EXPECT_EQ(cfg.server.max_connections, 100u);
  EXPECT_EQ(cfg.server.shutdown_grace, 0s);
}

TEST_F(config_test, listen_accepts_bracketed_ipv6) {
  const config cfg = load("server:\n  listen: \"[::1]:8443\"\n");
  EXPECT_EQ(cfg.server.listen_host, "::1");
  EXPECT_EQ(cfg.server.listen_port, 8443);
}

TEST(parse_duration, accepts_every_unit) {
  EXPECT_EQ(parse_duration("250ms"), 250ms);
  EXPECT_EQ(parse_duration("30s"), 30s);
  EXPECT_EQ(parse_duration("15m"), 15min);
  EXPECT_EQ(parse_duration("1h"), 1h);
  EXPECT_EQ(parse_duration("2d"), 48h);
  EXPECT_EQ(parse_duration("1h30m"), 90min);
  EXPECT_EQ(parse_duration("0s"), 0ms);
}

TEST(parse_duration, rejects_what_is_not_a_duration) {
  for (const char* text : {"", "30", "s", "30 s", "-5s", "1.5s", "5x", "10sec", "99999999999999999999d"}) {
    EXPECT_THROW(parse_duration(text), std::invalid_argument) << text;
  }
}

TEST(sha256, hex_and_digest_agree_with_known_values) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("dev-token-change-me"), dev_token_sha);
  const auto digest = sha256_digest("dev-token-change-me");
  EXPECT_EQ(digest[0], 0xf0);
  EXPECT_EQ(digest[31], 0x07);
}

// --- validation errors name the key and the problem -------------------------

TEST_F(config_test, unknown_keys_are_errors_at_every_level) {
  auto e = error_of("server:\n  lisen: 127.0.0.1:8080\n");
  EXPECT_EQ(e.key(), "server.lisen");
  EXPECT_TRUE(std::string(e.problem()).starts_with("unknown key")) << e.problem();
  EXPECT_NE(std::string(e.what()).find("server.lisen: unknown key"), std::string::npos);
  EXPECT_NE(e.problem().find("listen"), std::string::npos) << "suggests the likely key";

  EXPECT_EQ(error_of("srever:\n  listen: 1.2.3.4:1\n").key(), "srever");
  EXPECT_EQ(error_of("redis:\n  urll: redis://x\n").key(), "redis.urll");
  EXPECT_EQ(error_of("auth:\n  tokens:\n    - name: a\n      sha256: \"" + std::string(dev_token_sha) +
                     "\"\n      scope: [devices.read]\n")
                .key(),
            "auth.tokens[0].scope");
  EXPECT_EQ(error_of(apns_yaml("      colour: red\n")).key(), "apps.pocket.apns.colour");
  EXPECT_EQ(error_of("apps:\n  pocket:\n    gcm: {}\n").key(), "apps.pocket.gcm");
}

TEST_F(config_test, duplicate_keys_are_errors) {
  auto e = error_of("server:\n  threads: 2\n  threads: 3\n");
  EXPECT_EQ(e.key(), "server.threads");
  EXPECT_EQ(e.problem(), "duplicate key");
}

TEST_F(config_test, bad_duration_names_the_key) {
  auto e = error_of("broker:\n  interval: 30\n");
  EXPECT_EQ(e.key(), "broker.interval");
  EXPECT_NE(e.problem().find("bad duration"), std::string::npos) << e.problem();
  auto range = error_of("broker:\n  interval: 2d\n");
  EXPECT_EQ(range.key(), "broker.interval");
  EXPECT_NE(range.problem().find("must be between 1s and 1h"), std::string::npos) << range.problem();
}

TEST_F(config_test, out_of_range_numbers_name_the_key) {
  auto e = error_of("server:\n  threads: 65\n");
  EXPECT_EQ(e.key(), "server.threads");
  EXPECT_EQ(e.problem(), "must be between 1 and 64, got 65");
  auto deliveries = error_of("broker:\n  max_deliveries: 1\n");
  EXPECT_EQ(deliveries.key(), "broker.max_deliveries");
  EXPECT_EQ(deliveries.problem(), "must be between 2 and 1000, got 1");
  EXPECT_EQ(error_of("server:\n  threads: two\n").problem(), "expected an integer, got \"two\"");
  auto body = error_of("server:\n  body_limit: 128MiB\n");
  EXPECT_EQ(body.key(), "server.body_limit");
  EXPECT_EQ(body.problem(), "must be between 1KiB and 64MiB, got 128MiB");
  EXPECT_EQ(error_of("server:\n  body_limit: 512\n").key(), "server.body_limit");
  EXPECT_EQ(error_of("redis:\n  reconnect_min: 10s\n  reconnect_max: 1s\n").key(), "redis.reconnect_max");
}

TEST_F(config_test, provider_threads_are_read_and_bounded) {
  EXPECT_EQ(load("").providers.threads, 1);  // default: the providers on the broker's strand
  const config cfg = load("providers:\n  threads: 4\n");
  EXPECT_EQ(cfg.providers.threads, 4);
  EXPECT_EQ(load(describe_effective(cfg)).providers.threads, 4);  // printed by check-config
  EXPECT_NE(describe_effective(load("")).find("providers:\n  threads: 1"), std::string::npos) << describe_effective(load(""));
  EXPECT_EQ(load("providers:\n  threads: 16\n").providers.threads, 16);
  auto zero = error_of("providers:\n  threads: 0\n");
  EXPECT_EQ(zero.key(), "providers.threads");
  EXPECT_NE(zero.problem().find("between 1 and 16"), std::string::npos) << zero.problem();
  EXPECT_EQ(error_of("providers:\n  threads: 17\n").key(), "providers.threads");
  EXPECT_EQ(error_of("providers:\n  threads: two\n").key(), "providers.threads");
  EXPECT_EQ(error_of("providers:\n  connections: 2\n").key(), "providers.connections");
}

TEST_F(config_test, trace_limits_are_read_and_bounded) {
  const config cfg = load("trace:\n  max_events: 200\n  max_age: 36h\n");
  EXPECT_EQ(cfg.trace.max_events, 200);
  EXPECT_EQ(cfg.trace.max_age, 36h);
  const config again = load(describe_effective(cfg));  // printed by check-config
  EXPECT_EQ(again.trace.max_events, 200);
  EXPECT_EQ(again.trace.max_age, 36h);
  EXPECT_EQ(load("trace:\n  max_events: 0\n").trace.max_events, 0);  // 0: no trace kept
  auto events = error_of("trace:\n  max_events: -1\n");
  EXPECT_EQ(events.key(), "trace.max_events");
  EXPECT_NE(events.problem().find("between 0 and 10000"), std::string::npos) << events.problem();
  EXPECT_EQ(error_of("trace:\n  max_events: 10001\n").key(), "trace.max_events");
  auto age = error_of("trace:\n  max_age: 91d\n");
  EXPECT_EQ(age.key(), "trace.max_age");
  EXPECT_NE(age.problem().find("must be between 1m and 90d"), std::string::npos) << age.problem();
  EXPECT_EQ(error_of("trace:\n  max_age: 30s\n").key(), "trace.max_age");
  EXPECT_EQ(error_of("trace:\n  max_age: soon\n").key(), "trace.max_age");
  EXPECT_EQ(error_of("trace:\n  keep: 5\n").key(), "trace.keep");
}

TEST_F(config_test, bad_listen_addresses) {
  for (const char* listen : {"127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:http", ":8080", "::1:8080",
                             "[::1]", "[nothost]:80", "[::1:80", "[::1]x80", "bad host:80", ""}) {
    auto e = error_of(std::string("server:\n  listen: \"") + listen + "\"\n");
    EXPECT_EQ(e.key(), "server.listen") << listen;
  }
  EXPECT_EQ(error_of("server:\n  listen: 127.0.0.1:99999\n").problem(),
            "port must be a number from 1 to 65535, got \"99999\"");
  EXPECT_NE(error_of("server:\n  listen: \"::1:8080\"\n").problem().find("brackets"), std::string::npos);
  EXPECT_NE(error_of("server:\n  listen: [a, b]\n").problem().find("expected a single value"), std::string::npos);
}

TEST_F(config_test, redis_url_variants) {
  struct expectation {
    const char* url;
    const char* host;
    std::uint16_t port;
    int db;
    const char* username;
    const char* password;
    const char* unix_socket;
  };
  const expectation cases[] = {
      {"redis://localhost", "localhost", 6379, 0, "", "", ""},
      {"redis://10.0.0.5:6380", "10.0.0.5", 6380, 0, "", "", ""},
      {"redis://10.0.0.5:6380/", "10.0.0.5", 6380, 0, "", "", ""},
      {"redis://redis.internal:6381/3", "redis.internal", 6381, 3, "", "", ""},
      {"redis://:s3cret@127.0.0.1/2", "127.0.0.1", 6379, 2, "", "s3cret", ""},
      {"redis://herald:p%40ss@127.0.0.1:7000/1", "127.0.0.1", 7000, 1, "herald", "p@ss", ""},
      {"redis://herald@[::1]:6390/5", "::1", 6390, 5, "herald", "", ""},
      {"redis+unix:///run/redis/redis.sock", "", 0, 0, "", "", "/run/redis/redis.sock"},
      {"redis+unix:///run/redis/redis.sock?db=4", "", 0, 4, "", "", "/run/redis/redis.sock"},
      {"redis+unix://:pw@/var/run/r.sock?db=1", "", 0, 1, "", "pw", "/var/run/r.sock"},
  };
  for (const auto& c : cases) {
    const config cfg = load(std::string("redis:\n  url: \"") + c.url + "\"\n");
    EXPECT_EQ(cfg.redis.url, c.url);
    EXPECT_EQ(cfg.redis.host, c.host) << c.url;
    EXPECT_EQ(cfg.redis.port, c.port) << c.url;
    EXPECT_EQ(cfg.redis.db, c.db) << c.url;
    EXPECT_EQ(cfg.redis.username, c.username) << c.url;
    EXPECT_EQ(cfg.redis.password, c.password) << c.url;
    EXPECT_EQ(cfg.redis.unix_socket, c.unix_socket) << c.url;
  }
}

TEST_F(config_test, bad_redis_urls) {
  for (const char* url : {"http://127.0.0.1", "127.0.0.1:6379", "redis://", "redis://:pw@", "redis://host:0",
                          "redis://host:port", "redis://host/x", "redis://host/1/2", "redis://host?db=1",
                          "rediss://host", "redis+unix://", "redis+unix://host/sock", "redis+unix:///s?db=x",
                          "redis+unix:///s?timeout=1", "redis://h:%zz@host"}) {
    auto e = error_of(std::string("redis:\n  url: \"") + url + "\"\n");
    EXPECT_EQ(e.key(), "redis.url") << url;
  }
  // A bad URL's message never repeats the password.
  auto e = error_of("redis:\n  url: \"redis://user:hunter2@host:notaport\"\n");
  EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
  auto scheme = error_of("redis:\n  url: \"redis-x://user:hunter2@host\"\n");
  EXPECT_EQ(std::string(scheme.what()).find("hunter2"), std::string::npos) << scheme.what();
}

TEST_F(config_test, redis_password_file_is_read_and_trimmed) {
  write("redis.pw", "file-secret\n", 0640);
  const config cfg = load("redis:\n  url: redis://127.0.0.1:6390/0\n  password_file: redis.pw\n");
  EXPECT_EQ(cfg.redis.password, "file-secret");
  EXPECT_EQ(cfg.redis.password_file, (dir_ / "redis.pw").string());
}

TEST_F(config_test, redis_sentinels_with_master_name_and_password_file) {
  write("sentinel.pw", "sentinel-secret\n", 0640);
  const config cfg = load(
      "redis:\n  sentinels: [\"127.0.0.1:26379\", \"[::1]:26380\", \"sentinel.example:26381\"]\n  master_name: herald\n"
      "  sentinel_password_file: sentinel.pw\n  dataset_reset_alert: 10m\n");
  ASSERT_EQ(cfg.redis.sentinels.size(), 3u);
  EXPECT_EQ(cfg.redis.sentinels[0].host, "127.0.0.1");
  EXPECT_EQ(cfg.redis.sentinels[0].port, 26379);
  EXPECT_EQ(cfg.redis.sentinels[1].host, "::1");
  EXPECT_EQ(cfg.redis.sentinels[2].host, "sentinel.example");
  EXPECT_EQ(cfg.redis.master_name, "herald");
  EXPECT_EQ(cfg.redis.sentinel_password, "sentinel-secret");
  EXPECT_EQ(cfg.redis.dataset_reset_alert, std::chrono::minutes(10));
  const auto text = describe_effective(cfg);
  EXPECT_NE(text.find("master_name: herald"), std::string::npos) << text;
  EXPECT_NE(text.find("[::1]:26380"), std::string::npos) << text;
  EXPECT_EQ(text.find("sentinel-secret"), std::string::npos) << text;
}

TEST_F(config_test, redis_url_and_sentinels_are_mutually_exclusive) {
  auto e = error_of("redis:\n  url: redis://127.0.0.1:6379/0\n  sentinels: [\"127.0.0.1:26379\"]\n  master_name: m\n");
  EXPECT_EQ(e.key(), "redis.sentinels");
  EXPECT_NE(e.problem().find("redis.url"), std::string::npos) << e.problem();
  EXPECT_NE(e.problem().find("redis.sentinels"), std::string::npos) << e.problem();
  EXPECT_EQ(error_of("redis:\n  sentinels: [\"127.0.0.1:26379\"]\n").key(), "redis.master_name");
  EXPECT_EQ(error_of("redis:\n  sentinels: [\"127.0.0.1\"]\n  master_name: m\n").key(), "redis.sentinels[0]");
  EXPECT_EQ(error_of("redis:\n  sentinels: []\n  master_name: m\n").key(), "redis.sentinels");
  EXPECT_EQ(error_of("redis:\n  master_name: m\n").key(), "redis.master_name");
  write("sentinel.pw", "x\n", 0640);
  EXPECT_EQ(error_of("redis:\n  sentinel_password_file: sentinel.pw\n").key(), "redis.sentinel_password_file");
}

TEST_F(config_test, redis_password_twice_is_an_error) {
  write("redis.pw", "file-secret\n");
  auto e = error_of("redis:\n  url: redis://:a@127.0.0.1\n  password_file: redis.pw\n");
  EXPECT_EQ(e.key(), "redis.password_file");
}

TEST_F(config_test, world_readable_secret_file_is_an_error) {
  const auto path = write("redis.pw", "file-secret\n", 0644);
  auto e = error_of("redis:\n  password_file: redis.pw\n");
  EXPECT_EQ(e.key(), "redis.password_file");
  EXPECT_EQ(e.problem(), path + " is world-readable; chmod o-r");

  const auto key = write("AuthKey.p8", "-----BEGIN PRIVATE KEY-----\n", 0604);
  auto k = error_of(apns_yaml("      team_id: ABCDE12345\n      key_id: KEY1234567\n      key_file: AuthKey.p8\n"));
  EXPECT_EQ(k.key(), "apps.pocket.apns.key_file");
  EXPECT_EQ(k.problem(), key + " is world-readable; chmod o-r");

  write("sa.json", "{}", 0644);
  auto f = error_of("apps:\n  pocket:\n    fcm:\n      service_account_file: sa.json\n");
  EXPECT_EQ(f.key(), "apps.pocket.fcm.service_account_file");
  EXPECT_NE(f.problem().find("world-readable"), std::string::npos);
}

TEST_F(config_test, missing_files_are_errors) {
  auto e = error_of("redis:\n  password_file: nowhere.pw\n");
  EXPECT_EQ(e.key(), "redis.password_file");
  EXPECT_EQ(e.problem(), (dir_ / "nowhere.pw").string() + " does not exist");
  EXPECT_EQ(error_of("auth:\n  tokens_file: none.yaml\n").key(), "auth.tokens_file");
  write("AuthKey.p8", "key");
  EXPECT_EQ(error_of(apns_yaml("      team_id: ABCDE12345\n      key_id: KEY1234567\n      key_file: AuthKey.p8\n"
                               "      ca_file: /nonexistent/ca.pem\n"))
                .key(),
            "apps.pocket.apns.ca_file");
  fs::create_directory(dir_ / "adir");
  EXPECT_EQ(error_of("redis:\n  password_file: adir\n").problem(), (dir_ / "adir").string() + " is not a regular file");
}

TEST_F(config_test, missing_config_file_is_an_error) {
  try {
    load_config_file((dir_ / "absent.yaml").string());
    FAIL() << "loaded a missing file";
  } catch (const config_error& e) {
    EXPECT_EQ(e.key(), (dir_ / "absent.yaml").string());
    EXPECT_EQ(e.problem(), "file does not exist");
  }
}

TEST_F(config_test, yaml_syntax_error_names_file_and_line) {
  const auto path = write("broken.yaml", "server:\n  listen: 127.0.0.1:8080\n  threads: [1, 2\n", 0644);
  try {
    load_config_file(path);
    FAIL() << "loaded a broken file";
  } catch (const config_error& e) {
    EXPECT_EQ(e.key(), path);
    EXPECT_TRUE(e.problem().starts_with("YAML error at line ")) << e.problem();
  }
}

TEST_F(config_test, tokens_are_decoded) {
  const config cfg = load(std::string("auth:\n  tokens:\n    - name: crm\n      sha256: \"") + dev_token_sha +
                          "\"\n      scopes: [devices.read, push.application.pocket]\n      associate_id: 919\n"
                          "    - name: ops\n      sha256: " + std::string(64, 'A') + "\n");
  ASSERT_EQ(cfg.auth.tokens.size(), 2u);
  EXPECT_EQ(cfg.auth.tokens[0].name, "crm");
  EXPECT_EQ(cfg.auth.tokens[0].sha256, sha256_digest("dev-token-change-me"));
  EXPECT_EQ(cfg.auth.tokens[0].scopes, (std::vector<std::string>{"devices.read", "push.application.pocket"}));
  EXPECT_EQ(cfg.auth.tokens[0].associate_id, 919);
  EXPECT_EQ(cfg.auth.tokens[1].sha256[0], 0xaa);
  EXPECT_FALSE(cfg.auth.tokens[1].associate_id);
}

TEST_F(config_test, bad_tokens) {
  const std::string sha = std::string("\"") + dev_token_sha + "\"";
  auto short_sha = error_of("auth:\n  tokens:\n    - name: a\n      sha256: abc123\n");
  EXPECT_EQ(short_sha.key(), "auth.tokens[0].sha256");
  EXPECT_NE(short_sha.problem().find("64 hex"), std::string::npos);
  EXPECT_EQ(error_of("auth:\n  tokens:\n    - name: a\n      sha256: " + std::string(64, 'g') + "\n").key(),
            "auth.tokens[0].sha256");
  EXPECT_EQ(error_of("auth:\n  tokens:\n    - name: a\n").key(), "auth.tokens[0].sha256");
  EXPECT_EQ(error_of("auth:\n  tokens:\n    - sha256: " + sha + "\n").key(), "auth.tokens[0].name");

  auto scope = error_of("auth:\n  tokens:\n    - name: a\n      sha256: " + sha +
                        "\n      scopes: [devices.read, devices.delete]\n");
  EXPECT_EQ(scope.key(), "auth.tokens[0].scopes[1]");
  EXPECT_TRUE(scope.problem().starts_with("unknown scope \"devices.delete\"")) << scope.problem();
  EXPECT_EQ(error_of("auth:\n  tokens:\n    - name: a\n      sha256: " + sha + "\n      scopes: [push.application.]\n")
                .key(),
            "auth.tokens[0].scopes[0]");

  EXPECT_EQ(error_of("auth:\n  tokens:\n    - name: a\n      sha256: " + sha + "\n      associate_id: 0\n").key(),
            "auth.tokens[0].associate_id");
  EXPECT_EQ(error_of("auth:\n  tokens:\n    - name: a\n      sha256: " + sha + "\n      associate_id: x\n").key(),
            "auth.tokens[0].associate_id");
  EXPECT_EQ(error_of("auth:\n  tokens: crm\n").key(), "auth.tokens");
  auto twice = error_of("auth:\n  tokens:\n    - {name: a, sha256: " + sha + "}\n    - {name: a, sha256: " +
                        std::string(64, 'b') + "}\n");
  EXPECT_EQ(twice.key(), "auth.tokens");
  EXPECT_NE(twice.problem().find("used twice"), std::string::npos);
}

TEST_F(config_test, tokens_file_is_appended_to_inline_tokens) {
  write("tokens.yaml",
        "- name: from-file\n  sha256: " + std::string(64, 'c') + "\n  scopes: [broker.run]\n  associate_id: 7\n",
        0644);
  const config cfg = load(std::string("auth:\n  tokens:\n    - name: inline\n      sha256: ") + dev_token_sha +
                          "\n  tokens_file: tokens.yaml\n  application_tokens: [5eb7e725e6bac43f2a906437aa7be080081de786a7d12f7b9649be47b69d6ca0, 80d6ae0197c2a3be4ec46d171996105891dedf626ea3040f2dd2bf00e63c436e]\n");
  ASSERT_EQ(cfg.auth.tokens.size(), 2u);
  EXPECT_EQ(cfg.auth.tokens[0].name, "inline");
  EXPECT_EQ(cfg.auth.tokens[1].name, "from-file");
  EXPECT_EQ(cfg.auth.tokens[1].scopes, std::vector<std::string>{"broker.run"});
  EXPECT_EQ(cfg.auth.tokens[1].associate_id, 7);
  EXPECT_EQ(cfg.auth.tokens_file, (dir_ / "tokens.yaml").string());
  ASSERT_EQ(cfg.auth.application_tokens.size(), 2u);
  EXPECT_EQ(cfg.auth.application_tokens[0], sha256_digest("app-1"));
  EXPECT_EQ(cfg.auth.application_tokens[1], sha256_digest("app-2"));
}

TEST_F(config_test, tokens_file_errors_name_the_entry_or_file) {
  write("tokens.yaml", "- name: x\n  sha256: nothex\n");
  EXPECT_EQ(error_of("auth:\n  tokens_file: tokens.yaml\n").key(), "auth.tokens_file[0].sha256");
  const auto broken = write("broken.yaml", "- name: x\n  sha256: [\n");
  auto e = error_of("auth:\n  tokens_file: broken.yaml\n");
  EXPECT_EQ(e.key(), broken);
  EXPECT_TRUE(e.problem().starts_with("YAML error at line ")) << e.problem();
}

TEST_F(config_test, application_tokens_are_sha256_not_plain_text) {
  auto e = error_of("auth:\n  application_tokens: [1234567-1234-9876]\n");
  EXPECT_EQ(e.key(), "auth.application_tokens");
  EXPECT_NE(e.problem().find("SHA-256"), std::string::npos) << e.problem();
}

TEST_F(config_test, max_connections_per_client_is_off_by_default) {
  EXPECT_EQ(load("").server.max_connections_per_client, 0u);
  EXPECT_EQ(load("server:\n  max_connections_per_client: 8\n").server.max_connections_per_client, 8u);
}

TEST_F(config_test, apps_keep_file_order_and_resolve_paths) {
  write("AuthKey.p8", "key", 0600);
  write("cert.pem", "cert", 0640);
  write("cert.pw", "pw", 0600);
  write("sa.json", "{}", 0600);
  write("ca.pem", "ca", 0644);
  const config cfg = load(
      "apps:\n"
      "  zeta:\n"
      "    apns:\n      team_id: ABCDE12345\n      key_id: KEY1234567\n      key_file: AuthKey.p8\n"
      "      topic: com.example.zeta\n      environment: sandbox\n      endpoint: https://127.0.0.1:2197\n"
      "      ca_file: ca.pem\n      connections: 4\n      connect_timeout: 5s\n      response_timeout: 20s\n"
      "    fcm:\n      service_account_file: sa.json\n      endpoint: https://127.0.0.1:9443/\n      ca_file: ca.pem\n"
      "  alpha:\n"
      "    apns:\n      certificate_file: cert.pem\n      certificate_password_file: cert.pw\n      topic: com.example.alpha\n");
  ASSERT_EQ(cfg.apps.size(), 2u);
  EXPECT_EQ(cfg.apps[0].id, "zeta");
  EXPECT_EQ(cfg.apps[1].id, "alpha");
  ASSERT_TRUE(cfg.apps[0].apns);
  const auto& apns = *cfg.apps[0].apns;
  EXPECT_EQ(apns.team_id, "ABCDE12345");
  EXPECT_EQ(apns.key_id, "KEY1234567");
  EXPECT_EQ(apns.key_file, (dir_ / "AuthKey.p8").string());
  EXPECT_EQ(apns.environment, "sandbox");
  EXPECT_EQ(apns.endpoint, "https://127.0.0.1:2197");
  EXPECT_EQ(apns.ca_file, (dir_ / "ca.pem").string());
  EXPECT_EQ(apns.connections, 4);
  EXPECT_EQ(apns.connect_timeout, 5s);
  EXPECT_EQ(apns.response_timeout, 20s);
  ASSERT_TRUE(cfg.apps[0].fcm);
  EXPECT_EQ(cfg.apps[0].fcm->service_account_file, (dir_ / "sa.json").string());
  EXPECT_EQ(cfg.apps[0].fcm->endpoint, "https://127.0.0.1:9443");
  EXPECT_EQ(cfg.apps[0].fcm->connections, 1);
  ASSERT_TRUE(cfg.apps[1].apns);
  EXPECT_FALSE(cfg.apps[1].fcm);
  EXPECT_EQ(cfg.apps[1].apns->certificate_file, (dir_ / "cert.pem").string());
  EXPECT_EQ(cfg.apps[1].apns->environment, "production");
}

TEST_F(config_test, bad_apns_settings) {
  write("AuthKey.p8", "key");
  write("cert.pem", "cert");
  const std::string ids = "      team_id: ABCDE12345\n      key_id: KEY1234567\n";
  EXPECT_EQ(error_of(apns_yaml(ids)).key(), "apps.pocket.apns");  // neither key_file nor certificate_file
  EXPECT_EQ(error_of(apns_yaml(ids + "      key_file: AuthKey.p8\n      certificate_file: cert.pem\n")).key(),
            "apps.pocket.apns");
  EXPECT_EQ(error_of(apns_yaml("      key_id: KEY1234567\n      key_file: AuthKey.p8\n")).key(),
            "apps.pocket.apns.team_id");
  auto short_id = error_of(apns_yaml("      team_id: ABC\n      key_id: KEY1234567\n      key_file: AuthKey.p8\n"));
  EXPECT_EQ(short_id.key(), "apps.pocket.apns.team_id");
  EXPECT_EQ(short_id.problem(), "must be exactly 10 letters or digits, got \"ABC\"");
  EXPECT_EQ(error_of(apns_yaml("      team_id: ABCDE12345\n      key_id: KEY-234567\n      key_file: AuthKey.p8\n")).key(),
            "apps.pocket.apns.key_id");
  EXPECT_EQ(error_of("apps:\n  pocket:\n    apns:\n" + ids + "      key_file: AuthKey.p8\n").key(),
            "apps.pocket.apns.topic");
  EXPECT_EQ(error_of(apns_yaml(ids + "      key_file: AuthKey.p8\n      environment: staging\n")).key(),
            "apps.pocket.apns.environment");
  EXPECT_EQ(error_of(apns_yaml(ids + "      key_file: AuthKey.p8\n      endpoint: http://127.0.0.1:2197\n")).key(),
            "apps.pocket.apns.endpoint");
  EXPECT_EQ(error_of(apns_yaml(ids + "      key_file: AuthKey.p8\n      endpoint: https://h:2197/3/device\n")).key(),
            "apps.pocket.apns.endpoint");
  EXPECT_EQ(error_of(apns_yaml(ids + "      key_file: AuthKey.p8\n      connections: 0\n")).key(),
            "apps.pocket.apns.connections");
  EXPECT_EQ(error_of("apps:\n  pocket: {}\n").key(), "apps.pocket");
  EXPECT_EQ(error_of("apps:\n  \"bad id\":\n    fcm: {}\n").key(), "apps.bad id");
  EXPECT_EQ(error_of("apps:\n  pocket:\n    fcm: {}\n").key(), "apps.pocket.fcm.service_account_file");
}

TEST_F(config_test, other_sections) {
  const config cfg = load(
      "broker:\n  interval: 10s\n  max_lateness: 1h\nlog:\n  level: debug\n"
      "locales:\n  default_language: nb-NO\n  directory: /usr/share/herald/locales\n"
      "timezones:\n  default: America/New_York\n");
  EXPECT_EQ(cfg.broker.interval, 10s);
  EXPECT_EQ(cfg.broker.max_lateness, 1h);
  EXPECT_EQ(cfg.log.level, "debug");
  EXPECT_EQ(cfg.locales.default_language, "nb-NO");
  EXPECT_EQ(cfg.locales.directory, "/usr/share/herald/locales");
  EXPECT_EQ(cfg.timezones.default_zone, "America/New_York");

  EXPECT_EQ(error_of("log:\n  level: verbose\n").key(), "log.level");
  EXPECT_EQ(error_of("log:\n  format: logfmt\n").key(), "log.format");
  EXPECT_EQ(load("log:\n  format: json\n").log.format, "json");
  EXPECT_EQ(error_of("locales:\n  default_language: English\n").key(), "locales.default_language");
  EXPECT_EQ(error_of("timezones:\n  default: \"Europe/Oslo time\"\n").key(), "timezones.default");
  EXPECT_EQ(error_of("- a\n- b\n").key(), "<config>");
}

TEST_F(config_test, describe_effective_masks_secrets_and_shows_defaults) {
  write("redis.pw", "pw-from-file-xyz\n");
  write("cert.pem", "cert");
  write("cert.pw", "certificate-password-abc\n");
  const config url_pw = load("redis:\n  url: redis://herald:hunter2@127.0.0.1:6390/1\n");
  const std::string url_text = describe_effective(url_pw);
  EXPECT_EQ(url_text.find("hunter2"), std::string::npos) << url_text;
  EXPECT_NE(url_text.find("redis://herald:***@127.0.0.1:6390/1"), std::string::npos) << url_text;

  const config cfg = load(std::string("redis:\n  password_file: redis.pw\n") +
                          "auth:\n  tokens:\n    - {name: crm, sha256: " + dev_token_sha +
                          ", scopes: [devices.read], associate_id: 919}\n  application_tokens: [b3ab68d00db78bdb6d9cd70e1d451183e6e04cc12d1556636c4df44d2ccd3734]\n" +
                          "apps:\n  pocket:\n    apns:\n      certificate_file: cert.pem\n"
                          "      certificate_password_file: cert.pw\n      topic: com.example.pocket\n");
  const std::string text = describe_effective(cfg);
  EXPECT_EQ(text.find("pw-from-file-xyz"), std::string::npos) << text;
  EXPECT_EQ(text.find("certificate-password-abc"), std::string::npos) << text;
  EXPECT_EQ(text.find("b3ab68d00db78bdb6d9cd70e1d451183e6e04cc12d1556636c4df44d2ccd3734"), std::string::npos) << text;
  EXPECT_EQ(text.find(dev_token_sha), std::string::npos) << text;
  EXPECT_NE(text.find("f01d2474\u2026"), std::string::npos) << text;
  EXPECT_NE(text.find("redis.pw"), std::string::npos) << "the file name is shown\n" << text;
  // Defaults appear even though the input never mentioned them.
  EXPECT_NE(text.find("listen: 127.0.0.1:8080"), std::string::npos) << text;
  EXPECT_NE(text.find("max_lateness: 15m"), std::string::npos) << text;
  EXPECT_NE(text.find("body_limit: 1MiB"), std::string::npos) << text;
  EXPECT_NE(text.find("default: Europe/Oslo"), std::string::npos) << text;
}

TEST_F(config_test, describe_effective_output_loads_again) {
  write("cert.pem", "cert");
  const config cfg = load(
      "server:\n  listen: \"[::1]:8443\"\n  header_timeout: 1500ms\n"
      "apps:\n  pocket:\n    apns:\n      certificate_file: cert.pem\n      topic: com.example.pocket\n");
  const config again = load(describe_effective(cfg));
  EXPECT_EQ(again.server.listen_host, "::1");
  EXPECT_EQ(again.server.listen_port, 8443);
  EXPECT_EQ(again.server.header_timeout, 1500ms);
  ASSERT_EQ(again.apps.size(), 1u);
  EXPECT_EQ(again.apps[0].apns->certificate_file, cfg.apps[0].apns->certificate_file);
  // Unset data files print as null (the built-in data), which loads as unset again.
  EXPECT_NE(describe_effective(cfg).find("directory: ~"), std::string::npos) << describe_effective(cfg);
  EXPECT_EQ(again.locales.directory, "");
  EXPECT_EQ(again.timezones.table_file, "");
}

TEST(shipped_config, herald_yaml_loads) {
  const char* source_dir = std::getenv("HERALD_SOURCE_DIR");
  if (source_dir == nullptr || *source_dir == '\0') source_dir = HERALD_TEST_SOURCE_DIR;
  const fs::path path = fs::path(source_dir) / "config" / "herald.yaml";
  const config cfg = load_config_file(path.string());
  EXPECT_EQ(cfg.source_path, fs::absolute(path).lexically_normal().string());
  EXPECT_EQ(cfg.server.listen_host, "127.0.0.1");
  EXPECT_EQ(cfg.server.listen_port, 8080);
  EXPECT_EQ(cfg.redis.port, 6390);
  EXPECT_EQ(cfg.redis.db, 0);
  EXPECT_EQ(cfg.redis.key_prefix, "herald");
  EXPECT_TRUE(cfg.apps.empty());
  EXPECT_EQ(cfg.broker.interval, 30s);
  EXPECT_EQ(cfg.broker.max_lateness, 15min);
  EXPECT_EQ(cfg.timezones.default_zone, "Europe/Oslo");
  ASSERT_EQ(cfg.auth.tokens.size(), 2u);
  const auto& crm = cfg.auth.tokens[0];
  EXPECT_EQ(crm.name, "crm");
  EXPECT_EQ(crm.sha256, sha256_digest("dev-token-change-me"));
  EXPECT_EQ(crm.associate_id, 919);
  EXPECT_EQ(crm.scopes, (std::vector<std::string>{"devices.read", "devices.write", "push.application.pocket",
                                                   "messages.write", "broker.run", "appointments.read",
                                                   "appointments.write"}));
  const auto& admin = cfg.auth.tokens[1];
  EXPECT_EQ(admin.name, "admin");
  EXPECT_EQ(admin.sha256, sha256_digest("dev-admin-token-change-me"));
  EXPECT_EQ(admin.scopes, (std::vector<std::string>{"devices.read", "devices.write"}));
  EXPECT_FALSE(admin.associate_id);
}

}  // namespace
}  // namespace herald
