#pragma once
// Small text helpers shared by the decoders (ASCII, locale-independent).
#include <algorithm>
#include <cctype>
#include <charconv>
#include <concepts>
#include <optional>
#include <string>
#include <string_view>

namespace herald {

// Case-insensitive (ASCII) equality: names of properties, schemes, platforms, tags.
inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// ASCII lowercase copy: media types, header values, path segments.
inline std::string to_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// `s` without leading and trailing whitespace (a view into `s`).
inline std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

// "text" for error messages and logs.
inline std::string in_quotes(std::string_view text) { return "\"" + std::string(text) + "\""; }

// The whole of `text` as a decimal integer of type T, or nullopt: no
// spaces, no trailing characters, no '+', in range (std::from_chars).
template <std::integral T>
std::optional<T> parse_integer(std::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// XML 1.0 forbids most C0 control characters even escaped: what to do with them.
enum class xml_controls { replace, drop };  // replace: U+FFFD (as &#xFFFD;)

// Text escaped for XML element content and attribute values (& < > " ').
std::string xml_escape(std::string_view text, xml_controls controls = xml_controls::replace);

}  // namespace herald
