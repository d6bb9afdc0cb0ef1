#include "tests/support/redis_server.hpp"

#include <array>
#include <cstdio>
#include <csignal>
#include <stdexcept>

namespace herald::test {

redis_server::redis_server() : port_(free_port()), dir_(make_temp_dir("redis")) { start(); }

redis_server::redis_server(std::vector<std::string> extra_args)
    : port_(free_port()), dir_(make_temp_dir("redis")), extra_args_(std::move(extra_args)) {
  start();
}

redis_server::~redis_server() { stop(); }

void redis_server::start() {
  if (proc_) return;
  std::vector<std::string> argv{"/usr/bin/redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no", "--dir", dir_, "--daemonize", "no"};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  proc_ = std::make_unique<child_process>(argv, dir_ + "/redis.log");
  if (!wait_for_port(port_, std::chrono::seconds(10))) throw std::runtime_error("redis-server did not start: " + proc_->output());
}

void redis_server::stop(int sig) {
  if (!proc_) return;
  proc_->signal(sig);
  proc_->wait(std::chrono::seconds(10));
  proc_.reset();
}

std::string redis_server::cli(const std::string& args) const { return redis_cli(port_, args); }

redis_sentinel::redis_sentinel(const std::string& master_name, unsigned short master_port, int quorum)
    : port_(free_port()), dir_(make_temp_dir("sentinel")) {
  const std::string conf = dir_ + "/sentinel.conf";
  std::FILE* f = std::fopen(conf.c_str(), "w");
  if (!f) throw std::runtime_error("cannot write " + conf);
  std::fprintf(f,
               "port %u\nbind 127.0.0.1\ndaemonize no\ndir %s\n"
               "sentinel monitor %s 127.0.0.1 %u %d\n"
               "sentinel down-after-milliseconds %s 1000\n"
               "sentinel failover-timeout %s 5000\n"
               "sentinel parallel-syncs %s 1\n",
               static_cast<unsigned>(port_), dir_.c_str(), master_name.c_str(), static_cast<unsigned>(master_port), quorum,
               master_name.c_str(), master_name.c_str(), master_name.c_str());
  std::fclose(f);
  proc_ = std::make_unique<child_process>(std::vector<std::string>{"/usr/bin/redis-server", conf, "--sentinel"},
                                          dir_ + "/sentinel.log");
  if (!wait_for_port(port_, std::chrono::seconds(10))) throw std::runtime_error("sentinel did not start: " + proc_->output());
}

redis_sentinel::~redis_sentinel() {
  if (!proc_) return;
  proc_->signal(SIGKILL);
  proc_->wait(std::chrono::seconds(10));
}

std::string redis_sentinel::cli(const std::string& args) const { return redis_cli(port_, args); }

std::string redis_cli(unsigned short port, const std::string& args) {
  std::string cmd = "/usr/bin/redis-cli -p " + std::to_string(port) + " " + args + " 2>&1";
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
