#pragma once
// A child process for integration tests (fork/exec), with stdout+stderr
// captured to a file. The destructor kills (SIGKILL) and reaps it.
#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace herald::test {

class child_process {
 public:
  child_process(std::vector<std::string> argv, std::string log_file,
                std::map<std::string, std::string> extra_env = {});
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process();

  pid_t pid() const { return pid_; }
  void signal(int sig);
  // Waits for exit; returns the exit code (128+signal when killed), nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();
  std::string output() const;  // the captured log so far

 private:
  pid_t pid_ = -1;
  std::string log_file_;
  std::optional<int> exit_code_;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
unsigned short free_port();
// Polls until a TCP connect to 127.0.0.1:port succeeds (or timeout).
bool wait_for_port(unsigned short port, std::chrono::milliseconds timeout);
// A fresh temporary directory (removed by the caller or left for debugging).
std::string make_temp_dir(const std::string& tag);

}  // namespace herald::test
