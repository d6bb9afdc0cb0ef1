#pragma once
// Delivery trace: what happened to each delivery attempt, kept per device and
// per appointment/message in capped Redis lists, so an operator can answer
// "why did this phone get nothing?" (`herald trace`). Newest first.
//
//   <prefix>:trace:device:<DeviceIdentifier>   list of events, newest first
//   <prefix>:trace:<kind>:<id>                 the same events per alarm/message
//
// Each list keeps the last trace.max_events events and expires trace.max_age
// after its newest one (config: trace_settings).
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "model/delivery_event.hpp"

namespace herald {

class redis_client;


// One compact JSON object; decode returns nullopt for anything else.
std::string encode_delivery_event(const delivery_event& e);
std::optional<delivery_event> decode_delivery_event(std::string_view text);

// Appends `e` to its device's and its alarm's/message's list. Pipelined and
// not awaited: tracing never slows or fails a delivery (a lost event is only
// missing from the trace).
// Appends many events in one script (at most delivery_trace_batch events
// per call keeps it far below redis.command_timeout); not waited for.
inline constexpr std::size_t delivery_trace_batch = 200;
void append_delivery_events(redis_client& redis, const std::string& key_prefix, std::span<const delivery_event> events,
                            const trace_settings& limits);
void append_delivery_event(redis_client& redis, const std::string& key_prefix, const delivery_event& e,
                           const trace_settings& limits = {});

// The subject of a trace query: "device:<id>", "alarm:<id>" (an appointment),
// "message:<id>"; nullopt for an unknown kind or an empty id.
std::optional<std::string> trace_subject(std::string_view kind, std::string_view id);

// The events of `subject` ("device:<id>", "alarm:<id>", "message:<id>"), newest first.
boost::asio::awaitable<std::pair<boost::system::error_code, std::vector<delivery_event>>> read_delivery_trace(
    redis_client& redis, std::string key_prefix, std::string subject);

}  // namespace herald
