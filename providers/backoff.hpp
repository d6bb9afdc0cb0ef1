#pragma once
// Exponential backoff with "equal jitter": attempt n waits a random time in
// [d/2, d] where d = min(max, initial * 2^n). Pure; the random source is
// injected so tests are deterministic.
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

}  // namespace herald
