#pragma once
// The section loaders: one YAML node (absent or null = all defaults) in, one
// validated settings struct out; config_error names the key on any problem.
// Relative paths resolve against `base_dir` (the config file's directory).
#include <filesystem>
#include <vector>

#include "config/config.hpp"
#include "config/tunables.hpp"
#include "config/yaml_reader.hpp"

namespace herald::cfg {

namespace fs = std::filesystem;

// Reads the keys of a tunables table (tunables.hpp) into `out`.
template <class S, class T>
void read_key(const section& s, S& out, const count_key<S, T>& k) {
  s.read_int(k.key, out.*k.member, k.min, k.max);
}
template <class S>
void read_key(const section& s, S& out, const size_key<S>& k) {
  s.read_size(k.key, out.*k.member, k.min, k.max);
}
template <class S>
void read_key(const section& s, S& out, const duration_key<S>& k) {
  s.read_duration(k.key, out.*k.member, k.min, k.max);
}
template <class S, class Table>
void read_tunables(const section& s, S& out, const Table& table) {
  std::apply([&](const auto&... key) { (read_key(s, out, key), ...); }, table);
}

server_settings load_server(const YAML::Node& node);                            // load_server.cpp
redis_settings load_redis(const YAML::Node& node, const fs::path& base_dir);    // load_redis.cpp
auth_settings load_auth(const YAML::Node& node, const fs::path& base_dir);      // load_auth.cpp
std::vector<app_settings> load_apps(const YAML::Node& node, const fs::path& base_dir);  // load_apps.cpp
// load_runtime.cpp: the small sections.
broker_settings load_broker(const YAML::Node& node);
providers_settings load_providers(const YAML::Node& node);
trace_settings load_trace(const YAML::Node& node);
log_settings load_log(const YAML::Node& node);
locale_settings load_locales(const YAML::Node& node, const fs::path& base_dir);
timezone_settings load_timezones(const YAML::Node& node, const fs::path& base_dir);

}  // namespace herald::cfg
