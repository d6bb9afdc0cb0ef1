#pragma once
// Small text helpers shared by the decoders (ASCII, locale-independent).
#include <algorithm>
#include <cctype>
#include <string_view>

namespace herald {

// Case-insensitive (ASCII) equality: names of properties, schemes, platforms, tags.
inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace herald
