#pragma once
// The admin REST routes' JSON (docs/API.md, "Admin"): delivery traces and
// dead letters out, dead-letter filters in. Pure.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "api/common/api_error.hpp"
#include "broker/dead_letter_policy.hpp"
#include "store/delivery_trace.hpp"

namespace herald {

// {"subject":"device:phone-1","events":[{"time":"...Z","at_ms":...,"kind",...}]}
std::string encode_delivery_trace(std::string_view subject, const std::vector<delivery_event>& events);
// {"id","time","fields":{...}}
std::string encode_dead_letter(const dead_letter& e);
// {"entries":[...],"examined":N}
std::string encode_dead_letters(const std::vector<dead_letter>& entries, std::size_t examined);

// The filter of list and replay-matching from the query: since (an age such
// as 1h, 7d), reason (substring), app (application id, "default"), limit
// (1..1000, default 100). 400 for a bad value.
struct dead_letter_query {
  dead_letter_filter filter;
  std::optional<std::int64_t> since_age_ms;  // the caller turns it into filter.since_ms
  std::size_t limit = 100;
};
std::variant<dead_letter_query, api_error> decode_dead_letter_query(std::string_view target);

}  // namespace herald
