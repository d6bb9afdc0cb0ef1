#pragma once
// Content negotiation for the WebAPI-style routes. Pure.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace herald {

enum class media_type { json, xml };

// Calls fn(media range, q) for each item of an Accept header, the range
// lowercased and trimmed; q is 1 without a q parameter and 0 for a
// malformed one ("not acceptable").
void for_each_accept_item(std::string_view accept, const std::function<void(std::string_view, double)>& fn);

// The best representation the client accepts (q-values honoured); nullopt
// when it accepts none we can produce (406). Empty header means JSON.
std::optional<media_type> negotiate_accept(std::string_view accept);

// The request body format from Content-Type; nullopt for an unsupported one (415).
std::optional<media_type> request_media_type(std::string_view content_type);

// `$select=A,B,c/id`: lowercase top-level property names; empty = everything.
struct field_selection {
  std::vector<std::string> names;
  bool all() const { return names.empty(); }
  bool includes(std::string_view property) const;  // case-insensitive
};
field_selection parse_select(std::string_view value);

// The decoded value of query parameter `name` in a request target, if present.
std::optional<std::string> query_parameter(std::string_view target, std::string_view name);
// The path part of a request target.
std::string_view target_path(std::string_view target);

}  // namespace herald
