#pragma once
// An entry of the dead-letter stream (`<prefix>:deadletter`,
// docs/DATA-MODEL.md) and the Redis stream ids that name entries.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace herald {

// One entry of the stream: its id ("1764500000000-0") and fields in order.
struct dead_letter {
  std::string id;
  std::vector<std::pair<std::string, std::string>> fields;
  std::string field(std::string_view name) const;
};

// "1764500000000-0" or "1764500000000".
bool is_stream_id(std::string_view text);
// The millisecond part of a stream id; nullopt when it is not one.
std::optional<std::int64_t> stream_id_ms(std::string_view id);

}  // namespace herald
