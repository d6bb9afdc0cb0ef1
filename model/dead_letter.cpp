#include "model/dead_letter.hpp"

#include <algorithm>

#include "model/text.hpp"

namespace herald {

namespace {
bool all_digits(std::string_view s) { return !s.empty() && s.size() <= 20 && std::all_of(s.begin(), s.end(), is_digit); }
}  // namespace

std::string dead_letter::field(std::string_view name) const {
  for (const auto& [k, v] : fields)
    if (k == name) return v;
  return {};
}

bool is_stream_id(std::string_view text) {
  const auto dash = text.find('-');
  if (dash == std::string_view::npos) return all_digits(text) && parse_integer<std::int64_t>(text).has_value();
  return all_digits(text.substr(0, dash)) && all_digits(text.substr(dash + 1)) &&
         parse_integer<std::int64_t>(text.substr(0, dash)).has_value();
}

std::optional<std::int64_t> stream_id_ms(std::string_view id) {
  if (!is_stream_id(id)) return std::nullopt;
  return parse_integer<std::int64_t>(id.substr(0, id.find('-')));
}

}  // namespace herald
