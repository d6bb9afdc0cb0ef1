#pragma once
// A real redis-server for integration tests on a free loopback port, data in
// a temp dir, no persistence. stop()/start() keep the same port, so a client
// can be tested through a Redis restart.
#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace herald::test {

class redis_server {
 public:
  redis_server();  // starts it; throws if it does not answer within 10 s
  // With extra redis-server arguments, e.g. {"--appendonly", "yes"}; they
  // come last, so they override the defaults.
  explicit redis_server(std::vector<std::string> extra_args);
  ~redis_server();
  void stop(int sig = SIGKILL);  // SIGKILL by default; SIGTERM lets it write its AOF/RDB
  void start();
  const std::string& dir() const { return dir_; }
  unsigned short port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }
  // Runs redis-cli against it and returns its stdout (for assertions).
  std::string cli(const std::string& args) const;

 private:
  unsigned short port_;
  std::string dir_;
  std::vector<std::string> extra_args_;
  std::unique_ptr<child_process> proc_;
};

// A Redis Sentinel (redis-server --sentinel) on a free loopback port,
// monitoring `master_name` at 127.0.0.1:master_port with the given quorum
// and fast failure detection (down-after 1 s, failover-timeout 5 s).
class redis_sentinel {
 public:
  redis_sentinel(const std::string& master_name, unsigned short master_port, int quorum);
  ~redis_sentinel();
  unsigned short port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string cli(const std::string& args) const;

 private:
  unsigned short port_;
  std::string dir_;
  std::unique_ptr<child_process> proc_;
};

// Runs redis-cli -p port <args> and returns its output.
std::string redis_cli(unsigned short port, const std::string& args);

}  // namespace herald::test
