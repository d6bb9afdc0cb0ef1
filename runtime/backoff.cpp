#include "runtime/backoff.hpp"

#include <algorithm>
#include <memory>
#include <random>

namespace herald {

std::chrono::milliseconds backoff_policy::delay(int attempt, double unit) const {
  const double ceiling = static_cast<double>(std::max<std::chrono::milliseconds::rep>(max.count(), 0));
  double d = static_cast<double>(std::max<std::chrono::milliseconds::rep>(initial.count(), 0));
  for (int i = 0; i < attempt && d < ceiling; ++i) d *= 2;  // bounded loop: stops at the ceiling
  d = std::min(d, ceiling);
  unit = std::clamp(unit, 0.0, 1.0);
  const double out = d / 2 + unit * (d / 2);
  return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(std::min(out, d)));
}

random_source make_random_source(unsigned seed) {
  auto engine = std::make_shared<std::mt19937_64>(seed);
  return [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

random_source make_random_source() { return make_random_source(std::random_device{}()); }

}  // namespace herald
