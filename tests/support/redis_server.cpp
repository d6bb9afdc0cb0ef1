#include "tests/support/redis_server.hpp"

#include <array>
#include <cstdio>
#include <csignal>
#include <stdexcept>

namespace herald::test {

redis_server::redis_server() : port_(free_port()), dir_(make_temp_dir("redis")) { start(); }

redis_server::~redis_server() { stop(); }

void redis_server::start() {
  if (proc_) return;
  proc_ = std::make_unique<child_process>(
      std::vector<std::string>{"/usr/bin/redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--dir", dir_, "--daemonize", "no"},
      dir_ + "/redis.log");
  if (!wait_for_port(port_, std::chrono::seconds(10))) throw std::runtime_error("redis-server did not start: " + proc_->output());
}

void redis_server::stop() {
  if (!proc_) return;
  proc_->signal(SIGKILL);
  proc_->wait(std::chrono::seconds(10));
  proc_.reset();
}

std::string redis_server::cli(const std::string& args) const {
  std::string cmd = "/usr/bin/redis-cli -p " + std::to_string(port_) + " " + args + " 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed");
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  ::pclose(p);
  return out;
}

}  // namespace herald::test
