#pragma once
// Test fixtures with a private redis-server and an io_context, and with a
// connected redis_client: the base of the tests of store/ and broker/redis/
// code against a real Redis.
#include <gtest/gtest.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <memory>
#include <optional>
#include <string>

#include "runtime/log.hpp"
#include "store/redis_client.hpp"
#include "tests/store/io_wait.hpp"
#include "tests/support/redis_server.hpp"

namespace herald::test {

// A private redis-server and an io_context; the test makes its clients.
class redis_server_fixture : public ::testing::Test {
 protected:
  // Client settings that reach server_ (otherwise the defaults).
  redis_settings server_settings() const {
    redis_settings s;
    s.url = server_.url();
    s.host = "127.0.0.1";
    s.port = server_.port();
    return s;
  }

  // Runs `op` on the io_context until it finished; its result.
  template <typename T>
  T run(boost::asio::awaitable<T> op) {
    std::optional<T> out;
    boost::asio::co_spawn(ioc_, std::move(op), [&](std::exception_ptr e, T r) {
      if (e) std::rethrow_exception(e);
      out.emplace(std::move(r));
    });
    EXPECT_TRUE(run_until(ioc_, [&] { return out.has_value(); }));
    return std::move(*out);
  }

  // redis-cli's answer without its trailing newline.
  std::string cli(const std::string& command) {
    auto s = server_.cli(command);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
  }

  redis_server server_;
  boost::asio::io_context ioc_;
  logger log_{log_level::info};
};

// The same with redis_, a client with the default settings, connected.
class redis_fixture : public redis_server_fixture {
 protected:
  void SetUp() override {
    redis_ = redis_client::create(ioc_.get_executor(), server_settings(), log_);
    redis_->start();
    ASSERT_TRUE(run_until(ioc_, [&] { return redis_->connected(); })) << redis_->last_error();
  }
  void TearDown() override {
    redis_->stop();
    drain(ioc_);
  }

  std::shared_ptr<redis_client> redis_;
};

}  // namespace herald::test
