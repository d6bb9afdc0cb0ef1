#pragma once
// Reconnect backoff policy, kept apart from the I/O so it is unit-tested
// without a socket.
#include <algorithm>
#include <chrono>
#include <cmath>

namespace herald::detail {

// Delay before reconnect attempt `attempt` (0 = first retry after a drop):
// exponential from `min`, doubled per attempt, capped at `max`, with "equal
// jitter" (half of the step fixed, half random) so that many daemons losing
// the same Redis do not reconnect in lockstep. `unit` is a random draw in
// [0, 1). The result always lies in [min, max].
inline std::chrono::milliseconds reconnect_delay(std::chrono::milliseconds min, std::chrono::milliseconds max,
                                                 unsigned attempt, double unit) {
  using std::chrono::milliseconds;
  if (min < milliseconds(1)) min = milliseconds(1);
  if (max < min) max = min;
  unit = std::clamp(unit, 0.0, 1.0);
  const double step = std::min(static_cast<double>(min.count()) * std::ldexp(1.0, static_cast<int>(std::min(attempt, 40u))),
                               static_cast<double>(max.count()));
  const double jittered = step / 2.0 + unit * step / 2.0;
  const auto delay = milliseconds(static_cast<milliseconds::rep>(jittered));
  return std::clamp(delay, min, max);
}

}  // namespace herald::detail
