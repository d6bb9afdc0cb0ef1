#include "runtime/backoff.hpp"

#include <gtest/gtest.h>

namespace herald {
namespace {

using std::chrono::milliseconds;

TEST(reconnect_delay, starts_at_min_and_grows_exponentially) {
  EXPECT_EQ(reconnect_delay(milliseconds(100), milliseconds(5000), 0, 0.0), milliseconds(100));
  EXPECT_EQ(reconnect_delay(milliseconds(100), milliseconds(5000), 0, 0.999), milliseconds(100));
  // Upper end of each step doubles: 200, 400, 800 ...
  EXPECT_EQ(reconnect_delay(milliseconds(100), milliseconds(5000), 1, 1.0), milliseconds(200));
  EXPECT_EQ(reconnect_delay(milliseconds(100), milliseconds(5000), 2, 1.0), milliseconds(400));
  EXPECT_EQ(reconnect_delay(milliseconds(100), milliseconds(5000), 3, 1.0), milliseconds(800));
}

TEST(reconnect_delay, jitter_spans_the_upper_half_of_the_step) {
  EXPECT_EQ(reconnect_delay(milliseconds(100), milliseconds(5000), 3, 0.0), milliseconds(400));
  EXPECT_EQ(reconnect_delay(milliseconds(100), milliseconds(5000), 3, 0.5), milliseconds(600));
}

TEST(reconnect_delay, is_capped_at_max) {
  for (unsigned attempt : {6u, 10u, 50u, 1000u}) {
    for (double u : {0.0, 0.5, 1.0}) {
      auto d = reconnect_delay(milliseconds(100), milliseconds(5000), attempt, u);
      EXPECT_GE(d, milliseconds(2500));
      EXPECT_LE(d, milliseconds(5000));
    }
  }
}

TEST(reconnect_delay, stays_within_bounds_for_odd_settings) {
  EXPECT_EQ(reconnect_delay(milliseconds(0), milliseconds(0), 5, 0.5), milliseconds(1));
  EXPECT_EQ(reconnect_delay(milliseconds(300), milliseconds(100), 5, 0.5), milliseconds(300));  // max < min
  EXPECT_EQ(reconnect_delay(milliseconds(100), milliseconds(5000), 0, -3.0), milliseconds(100));
  EXPECT_LE(reconnect_delay(milliseconds(100), milliseconds(5000), 2, 7.0), milliseconds(400));
}

}  // namespace
}  // namespace herald
