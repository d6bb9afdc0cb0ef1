#pragma once
// Delivery trace: what happened to each delivery attempt, kept per device and
// per appointment/message in capped Redis lists, so an operator can answer
// "why did this phone get nothing?" (`herald trace`). Newest first.
//
//   <prefix>:trace:device:<DeviceIdentifier>   list of events, newest first
//   <prefix>:trace:<kind>:<id>                 the same events per alarm/message
//
// Each list keeps the last `max_events` events and expires `max_age` after
// its newest one.
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace herald {

class redis_client;

struct delivery_event {
  std::int64_t at_ms = 0;    // when the outcome was known (ms since epoch)
  std::string kind;          // alarm | message
  std::string id;            // AppointmentId or message id
  std::string device;        // DeviceIdentifier
  std::string app;           // application whose credentials were used
  std::string outcome;       // delivered, device_gone, retry_after, rejected, config_error, no_provider
  std::string action;        // what Herald did: delivered, removed, kept, retry, dead_letter
  int status = 0;            // provider HTTP status, 0 when none answered
  std::string reason;        // provider or Herald reason ("Unregistered", "no provider", ...)
  std::string provider_id;   // apns-id or FCM message name
};

struct trace_limits {
  std::size_t max_events = 50;                    // per device and per alarm/message
  std::chrono::milliseconds max_age{7 * 86'400'000LL};  // since the newest event
};

// One compact JSON object; decode returns nullopt for anything else.
std::string encode_delivery_event(const delivery_event& e);
std::optional<delivery_event> decode_delivery_event(std::string_view text);

// Appends `e` to its device's and its alarm's/message's list. Pipelined and
// not awaited: tracing never slows or fails a delivery (a lost event is only
// missing from the trace).
void append_delivery_event(redis_client& redis, const std::string& key_prefix, const delivery_event& e,
                           const trace_limits& limits = {});

// The events of `subject` ("device:<id>", "alarm:<id>", "message:<id>"), newest first.
boost::asio::awaitable<std::pair<boost::system::error_code, std::vector<delivery_event>>> read_delivery_trace(
    redis_client& redis, const std::string& key_prefix, const std::string& subject);

}  // namespace herald
