#pragma once
// Integration-test fixture: a real redis-server on a free loopback port and
// the real `herald serve` binary talking to it, with a token file written per
// test. Header-only so every API integration test can share it.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "config/config.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_server.hpp"

namespace herald::test {

struct test_token {
  std::string name;
  std::string token;
  std::string scopes;  // YAML flow list body: "devices.read, devices.write"
  std::string associate_id;  // "" = none
};

inline void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

class herald_daemon_fixture : public ::testing::Test {
 protected:
  // Override to change the credentials or add configuration.
  virtual std::vector<test_token> tokens() const = 0;
  virtual std::string extra_config() const { return {}; }
  // Further `server:` keys, each "  key: value\n".
  virtual std::string server_config() const { return {}; }

  void SetUp() override {
    dir_ = make_temp_dir("herald-api");
    port_ = free_port();
    std::string yaml;
    for (const auto& t : tokens()) {
      yaml += "- name: " + t.name + "\n  sha256: \"" + sha256_hex(t.token) + "\"\n  scopes: [" + t.scopes + "]\n";
      if (!t.associate_id.empty()) yaml += "  associate_id: " + t.associate_id + "\n";
    }
    write_text_file(dir_ + "/tokens.yaml", yaml);
    std::string src = HERALD_TEST_SOURCE_DIR;
    write_text_file(dir_ + "/herald.yaml",
                    "server:\n  listen: 127.0.0.1:" + std::to_string(port_) +
                        "\n  body_limit: 65536\n" + server_config() + "redis:\n  url: " + redis_.url() + "\n  key_prefix: t" + std::to_string(port_) +
                        "\n  reconnect_max: 200ms\n  command_timeout: 1s\nauth:\n  tokens_file: tokens.yaml\n" + extra_config() +
                        "locales:\n  directory: " + src + "/config/locales\ntimezones:\n  table_file: " + src +
                        "/config/timezones.yaml\nlog:\n  level: debug\n");
    daemon_ = std::make_unique<child_process>(
        std::vector<std::string>{HERALD_TEST_BINARY, "serve", "--config", dir_ + "/herald.yaml"}, dir_ + "/herald.log");
    ASSERT_TRUE(wait_for_port(port_, std::chrono::seconds(10))) << daemon_->output();
    ASSERT_TRUE(wait_ready()) << daemon_->output();
    client_ = std::make_unique<http_client>("127.0.0.1", port_);
  }

  bool wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    http_client c("127.0.0.1", port_);
    while (std::chrono::steady_clock::now() < deadline) {
      try {
        // Redis connected is what these tests need; providers may be unconfigured.
        auto r = c.request("GET", "/readyz");
        if (r.status == 200 || r.body.find("\"redis\":{\"ok\":true}") != std::string::npos) return true;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  http_client& client() { return *client_; }

  redis_server redis_;
  std::string dir_;
  unsigned short port_ = 0;
  std::unique_ptr<child_process> daemon_;
  std::unique_ptr<http_client> client_;
};

}  // namespace herald::test
