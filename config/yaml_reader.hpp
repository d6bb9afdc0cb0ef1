#pragma once
// YAML access for the section loaders: dotted key paths for messages
// ("apps.pocket.apns.team_id", "auth.tokens[1].sha256"), unknown-key and
// duplicate-key detection, typed reads with ranges. Only config/ includes
// this header (and yaml-cpp).
#include <yaml-cpp/yaml.h>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"

namespace herald::cfg {

std::string child_path(const std::string& parent, std::string_view key);  // "a" + "b" -> "a.b"
std::string index_path(const std::string& parent, std::size_t index);     // "a" + 1 -> "a[1]"
// Levenshtein distance, for "did you mean" hints.
std::size_t edit_distance(std::string_view a, std::string_view b);
// "a mapping", "a list", "a scalar", "nothing": for "expected X, got Y".
const char* kind_name(const YAML::Node& node);

// Parses a YAML document; syntax errors become config_error(source, "YAML error at line N: ...").
YAML::Node parse_yaml(const std::string& text, const std::string& source);

// One value, `key` naming it in errors.
std::string scalar(const YAML::Node& node, const std::string& key);
std::string non_empty(const YAML::Node& node, const std::string& key);
std::int64_t integer(const YAML::Node& node, const std::string& key, std::int64_t min, std::int64_t max);
millis duration(const YAML::Node& node, const std::string& key, millis min, millis max);
std::size_t size(const YAML::Node& node, const std::string& key, std::size_t min, std::size_t max);
std::vector<std::string> string_list(const YAML::Node& node, const std::string& key);

// A mapping whose keys are all checked against the known set at
// construction, so a typo is reported (with its path and the nearest known
// key) even for keys the loader never asks about; a repeated key is an
// error too. Absent, null and empty sections read as all defaults.
class section {
 public:
  // `more`: known keys shared by several sections.
  section(const YAML::Node& node, std::string path, std::initializer_list<std::string_view> known,
          std::span<const std::string_view> more = {});

  // The value under `key`, or nothing when absent or explicitly null.
  std::optional<YAML::Node> get(std::string_view key) const;
  // The raw value (a null node stays null), for sub-sections.
  YAML::Node raw(std::string_view key) const;
  bool has(std::string_view key) const { return get(key).has_value(); }
  std::string path(std::string_view key) const { return child_path(path_, key); }
  const std::string& path() const { return path_; }
  // The value under `key`; config_error(path(key), problem) when absent.
  YAML::Node required(std::string_view key, const std::string& problem) const;

  // Typed reads: an absent key leaves `out` (its documented default) as it
  // is; a present one must be valid. Each returns whether the key was set.
  bool read_string(std::string_view key, std::string& out) const;  // non-empty
  bool read_duration(std::string_view key, millis& out, millis min, millis max) const;
  bool read_size(std::string_view key, std::size_t& out, std::size_t min, std::size_t max) const;
  template <std::integral T>
  bool read_int(std::string_view key, T& out, std::int64_t min, std::int64_t max) const {
    auto v = get(key);
    if (v) out = static_cast<T>(integer(*v, path(key), min, max));
    return v.has_value();
  }
  // One of `allowed`; otherwise config_error(path(key), problem + "\"value\"").
  bool read_choice(std::string_view key, std::string& out, std::initializer_list<std::string_view> allowed,
                   const std::string& problem) const;
  // A non-empty path, resolved against `base_dir`.
  bool read_path(std::string_view key, std::string& out, const std::filesystem::path& base_dir) const;

 private:
  std::string path_;
  std::vector<std::pair<std::string, YAML::Node>> entries_;
};

}  // namespace herald::cfg
