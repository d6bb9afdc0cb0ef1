// YAML access with key paths and unknown-key detection (see yaml_reader.hpp).
#include "config/yaml_reader.hpp"

#include <algorithm>

#include "config/secret_file.hpp"
#include "config/value_parsers.hpp"
#include "model/text.hpp"

namespace herald::cfg {

std::string child_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string index_path(const std::string& parent, std::size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

const char* kind_name(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

YAML::Node parse_yaml(const std::string& text, const std::string& source) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    std::string problem = "YAML error";
    if (!e.mark.is_null()) problem += " at line " + std::to_string(e.mark.line + 1);
    throw config_error(source, problem + ": " + e.msg);
  }
}

std::string scalar(const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar()) throw config_error(key, std::string("expected a single value, got ") + kind_name(node));
  return node.Scalar();
}

std::string non_empty(const YAML::Node& node, const std::string& key) {
  std::string text = scalar(node, key);
  if (text.empty()) throw config_error(key, "must not be empty");
  return text;
}

std::int64_t integer(const YAML::Node& node, const std::string& key, std::int64_t min, std::int64_t max) {
  const std::string text = scalar(node, key);
  auto value = parse_signed(text);
  if (!value) throw config_error(key, "expected an integer, got " + in_quotes(text));
  if (*value < min || *value > max) {
    throw config_error(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + text);
  }
  return *value;
}

millis duration(const YAML::Node& node, const std::string& key, millis min, millis max) {
  const std::string text = scalar(node, key);
  millis value{};
  try {
    value = parse_duration(text);
  } catch (const std::invalid_argument& e) {
    throw config_error(key, e.what());
  }
  if (value < min || value > max) {
    throw config_error(key, "must be between " + format_duration(min) + " and " + format_duration(max) + ", got " + text);
  }
  return value;
}

std::size_t size(const YAML::Node& node, const std::string& key, std::size_t min, std::size_t max) {
  const std::string text = scalar(node, key);
  auto value = parse_size(text);
  if (!value) throw config_error(key, "expected a size like 65536, 64KiB or 1MiB, got " + in_quotes(text));
  if (*value < min || *value > max) {
    throw config_error(key, "must be between " + format_size(min) + " and " + format_size(max) + ", got " + text);
  }
  return *value;
}

std::vector<std::string> string_list(const YAML::Node& node, const std::string& key) {
  if (!node.IsSequence()) throw config_error(key, std::string("expected a list, got ") + kind_name(node));
  std::vector<std::string> out;
  for (std::size_t i = 0; i < node.size(); ++i) out.push_back(non_empty(node[i], index_path(key, i)));
  return out;
}

section::section(const YAML::Node& node, std::string path, std::initializer_list<std::string_view> known_keys,
                 std::span<const std::string_view> more)
    : path_(std::move(path)) {
  std::vector<std::string_view> known(known_keys);
  known.insert(known.end(), more.begin(), more.end());
  if (!node.IsDefined() || node.IsNull()) return;
  const std::string self = path_.empty() ? "<config>" : path_;
  if (!node.IsMap()) throw config_error(self, std::string("expected a mapping, got ") + kind_name(node));
  for (const auto& entry : node) {
    if (!entry.first.IsScalar()) throw config_error(self, "keys must be plain strings");
    const std::string key = entry.first.Scalar();
    const std::string where = child_path(path_, key);
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string problem = "unknown key";
      std::string_view best;
      std::size_t best_distance = 3;
      for (auto candidate : known) {
        const auto d = edit_distance(key, candidate);
        if (d < best_distance) best_distance = d, best = candidate;
      }
      if (!best.empty()) problem += "; did you mean " + in_quotes(best) + "?";
      throw config_error(where, problem);
    }
    for (const auto& seen : entries_) {
      if (seen.first == key) throw config_error(where, "duplicate key");
    }
    entries_.emplace_back(key, entry.second);
  }
}

std::optional<YAML::Node> section::get(std::string_view key) const {
  for (const auto& entry : entries_) {
    if (entry.first == key) {
      if (entry.second.IsNull()) return std::nullopt;
      return entry.second;
    }
  }
  return std::nullopt;
}

YAML::Node section::raw(std::string_view key) const {
  for (const auto& entry : entries_) {
    if (entry.first == key) return entry.second;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

YAML::Node section::required(std::string_view key, const std::string& problem) const {
  auto v = get(key);
  if (!v) throw config_error(path(key), problem);
  return *v;
}

bool section::read_string(std::string_view key, std::string& out) const {
  auto v = get(key);
  if (v) out = non_empty(*v, path(key));
  return v.has_value();
}

bool section::read_duration(std::string_view key, millis& out, millis min, millis max) const {
  auto v = get(key);
  if (v) out = duration(*v, path(key), min, max);
  return v.has_value();
}

bool section::read_size(std::string_view key, std::size_t& out, std::size_t min, std::size_t max) const {
  auto v = get(key);
  if (v) out = size(*v, path(key), min, max);
  return v.has_value();
}

bool section::read_choice(std::string_view key, std::string& out, std::initializer_list<std::string_view> allowed,
                          const std::string& problem) const {
  auto v = get(key);
  if (!v) return false;
  out = scalar(*v, path(key));
  if (std::find(allowed.begin(), allowed.end(), out) == allowed.end()) throw config_error(path(key), problem + in_quotes(out));
  return true;
}

bool section::read_path(std::string_view key, std::string& out, const std::filesystem::path& base_dir) const {
  auto v = get(key);
  if (v) out = resolve(base_dir, non_empty(*v, path(key)));
  return v.has_value();
}

}  // namespace herald::cfg
