#pragma once
// A text file compiled into the binary at build time (cmake/embed_files.cmake).
#include <optional>
#include <span>
#include <string_view>

namespace herald {

struct embedded_file {
  std::string_view name;  // base name, e.g. "en.yaml"
  std::string_view text;
};

// The text of the file called `name`, or nullopt.
inline std::optional<std::string_view> find_embedded(std::span<const embedded_file> files, std::string_view name) {
  for (const auto& f : files)
    if (f.name == name) return f.text;
  return std::nullopt;
}

}  // namespace herald
