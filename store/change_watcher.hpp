#pragma once
// Follows a Redis Stream of change notices (XREAD BLOCK on a connection of
// its own) and calls on_change for every new entry batch, and once after
// each (re)connect, since anything may have changed while it was not
// watching. Errors back off exponentially (runtime/backoff.hpp), so a
// Redis that answers every read with an error is not asked in a loop.
// The broker uses it for "<prefix>:alarms:changes": any daemon's PUT
// re-arms every daemon's timer.
#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace herald {

class redis_client;

struct change_watcher_options {
  std::string stream;                                  // the stream's key
  std::chrono::milliseconds block{2'000};              // XREAD BLOCK
  std::chrono::milliseconds backoff_min{200};          // after an error
  std::chrono::milliseconds backoff_max{5'000};
};

class change_watcher {
 public:
  // `redis` must be a connection used for nothing else (the read blocks),
  // with a command_timeout above options.block.
  change_watcher(boost::asio::any_io_executor ex, std::shared_ptr<redis_client> redis, change_watcher_options options,
                 std::function<void()> on_change);
  ~change_watcher();
  change_watcher(const change_watcher&) = delete;
  change_watcher& operator=(const change_watcher&) = delete;

  void start();
  void stop();

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace herald
