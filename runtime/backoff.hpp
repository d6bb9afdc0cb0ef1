#pragma once
// Exponential backoff with "equal jitter", Herald's one backoff: attempt n
// waits a random time in [d/2, d] where d = min(max, initial * 2^n), so that
// many clients failing together do not retry in lockstep. Pure; the random
// source is injected so tests are deterministic. Providers use it for
// retries of a notification, the Redis client, Sentinel and the change
// watcher for reconnects.
#include <algorithm>
#include <chrono>
#include <functional>

namespace herald {

// Returns a uniform value in [0, 1).
using random_source = std::function<double()>;

// A random_source backed by a seeded PRNG (not thread-safe: one per executor).
random_source make_random_source(unsigned seed);
// Seeded from std::random_device.
random_source make_random_source();

struct backoff_policy {
  std::chrono::milliseconds initial{1'000};  // d for attempt 0
  std::chrono::milliseconds max{300'000};    // ceiling for d

  // Delay before retry number `attempt` (0-based); `unit` in [0,1).
  std::chrono::milliseconds delay(int attempt, double unit) const;
  std::chrono::milliseconds delay(int attempt, const random_source& random) const {
    return delay(attempt, random ? random() : 0.5);
  }
};

// Delay before reconnect attempt `attempt` (0 = first retry after a drop):
// the backoff above from `min`, capped at `max`, and never below `min` (a
// reconnect sooner than that would hammer a server that is down). `unit`
// is a random draw in [0, 1). The result always lies in [min, max].
inline std::chrono::milliseconds reconnect_delay(std::chrono::milliseconds min, std::chrono::milliseconds max, unsigned attempt,
                                                 double unit) {
  min = std::max(min, std::chrono::milliseconds(1));
  max = std::max(max, min);
  const auto d = backoff_policy{min, max}.delay(static_cast<int>(std::min(attempt, 40u)), unit);
  return std::clamp(d, min, max);
}

}  // namespace herald
