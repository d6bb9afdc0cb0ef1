#pragma once
// A real redis-server for integration tests on a free loopback port, data in
// a temp dir, no persistence. stop()/start() keep the same port, so a client
// can be tested through a Redis restart.
#include <memory>
#include <string>

#include "tests/support/process.hpp"

namespace herald::test {

class redis_server {
 public:
  redis_server();  // starts it; throws if it does not answer within 10 s
  ~redis_server();
  void stop();
  void start();
  unsigned short port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }
  // Runs redis-cli against it and returns its stdout (for assertions).
  std::string cli(const std::string& args) const;

 private:
  unsigned short port_;
  std::string dir_;
  std::unique_ptr<child_process> proc_;
};

}  // namespace herald::test
