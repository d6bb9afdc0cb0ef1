#pragma once
// The plain numeric keys of the sections (counts, byte sizes, durations)
// with their ranges, as tables: the loaders read them, print.cpp prints them
// in the same order. A key with its own rules (addresses, URLs, files) is
// loaded and printed by hand instead.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <tuple>

#include "config/config.hpp"
#include "config/value_parsers.hpp"

namespace herald::cfg {

// An integer key: T S::*member in [min, max].
template <class S, class T>
struct count_key {
  std::string_view key;
  T S::*member;
  std::int64_t min, max;
};
// A byte size key: "65536", "64KiB", "1MiB".
template <class S>
struct size_key {
  std::string_view key;
  std::size_t S::*member;
  std::size_t min, max;
};
// A duration key: "250ms", "30s", "1h".
template <class S>
struct duration_key {
  std::string_view key;
  millis S::*member;
  millis min, max;
};

template <class S, class T>
constexpr count_key<S, T> count(std::string_view key, T S::*member, std::int64_t min, std::int64_t max) {
  return {key, member, min, max};
}
template <class S>
constexpr size_key<S> bytes(std::string_view key, std::size_t S::*member, std::size_t min, std::size_t max) {
  return {key, member, min, max};
}
template <class S>
constexpr duration_key<S> period(std::string_view key, millis S::*member, millis min, millis max) {
  return {key, member, min, max};
}

namespace tunables {

using namespace std::chrono_literals;

inline constexpr auto server = std::tuple{
    count("threads", &server_settings::threads, 1, 64),
    bytes("body_limit", &server_settings::body_limit, 1 * kib, 64 * mib),
    bytes("header_limit", &server_settings::header_limit, 1 * kib, 1 * mib),
    period("header_timeout", &server_settings::header_timeout, 100ms, 10min),
    period("read_timeout", &server_settings::read_timeout, 100ms, 1h),
    period("idle_timeout", &server_settings::idle_timeout, 1s, 1h),
    count("max_connections", &server_settings::max_connections, 1, 1'000'000),
    count("max_connections_per_client", &server_settings::max_connections_per_client, 0, 1'000'000),
    period("shutdown_grace", &server_settings::shutdown_grace, 0ms, 10min),
};

inline constexpr auto redis = std::tuple{
    period("connect_timeout", &redis_settings::connect_timeout, 10ms, 1min),
    period("command_timeout", &redis_settings::command_timeout, 10ms, 10min),
    period("reconnect_min", &redis_settings::reconnect_min, 1ms, 1min),
    period("reconnect_max", &redis_settings::reconnect_max, 1ms, 10min),
    count("max_pending", &redis_settings::max_pending, 1, 10'000'000),
    period("dataset_reset_alert", &redis_settings::dataset_reset_alert, 1s, 24h * 365),
};

inline constexpr auto broker = std::tuple{
    period("interval", &broker_settings::interval, 1s, 1h),
    period("max_lateness", &broker_settings::max_lateness, 1s, 24h * 7),
    period("takeover_after", &broker_settings::takeover_after, 100ms, 1h),
    count("max_deliveries", &broker_settings::max_deliveries, 2, 1000),
};

inline constexpr auto providers = std::tuple{
    count("threads", &providers_settings::threads, 1, 16),
};

inline constexpr auto trace = std::tuple{
    count("max_events", &trace_settings::max_events, 0, 10'000),
    period("max_age", &trace_settings::max_age, 1min, 24h * 90),
};

// Every provider's connection pool: apns_settings, fcm_settings, wns_settings, webpush_settings.
template <class S>
inline constexpr auto pool = std::tuple{
    count("connections", &S::connections, 1, 64),
    period("connect_timeout", &S::connect_timeout, 100ms, 5min),
    period("response_timeout", &S::response_timeout, 100ms, 10min),
};

}  // namespace tunables
}  // namespace herald::cfg
