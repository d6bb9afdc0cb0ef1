// Loading a configuration: the document, its top-level keys, one loader per
// section (sections.hpp). Printing is print.cpp; the value parsers,
// YAML access and file checks have their own files.
#include "config/config.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/sections.hpp"

namespace herald {
namespace {

namespace fs = std::filesystem;

config load(const std::string& text, const std::string& source, const std::string& source_path, const fs::path& base_dir) {
  const YAML::Node root = cfg::parse_yaml(text, source);
  if (root.IsDefined() && !root.IsNull() && !root.IsMap()) {
    throw config_error(source, std::string("the top level must be a mapping, got ") + cfg::kind_name(root));
  }
  const cfg::section s(root, "", {"server", "redis", "auth", "apps", "broker", "providers", "trace", "log", "locales", "timezones"});
  config out;
  out.source_path = source_path;
  out.server = cfg::load_server(s.raw("server"));
  out.redis = cfg::load_redis(s.raw("redis"), base_dir);
  out.auth = cfg::load_auth(s.raw("auth"), base_dir);
  out.apps = cfg::load_apps(s.raw("apps"), base_dir);
  out.broker = cfg::load_broker(s.raw("broker"));
  out.providers = cfg::load_providers(s.raw("providers"));
  out.trace = cfg::load_trace(s.raw("trace"));
  out.log = cfg::load_log(s.raw("log"));
  out.locales = cfg::load_locales(s.raw("locales"), base_dir);
  out.timezones = cfg::load_timezones(s.raw("timezones"), base_dir);
  return out;
}

}  // namespace

config load_config_file(const std::string& path) {
  const fs::path absolute = fs::absolute(path).lexically_normal();
  std::ifstream in(absolute, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(absolute, ec)) throw config_error(path, "file does not exist");
    throw config_error(path, std::string("cannot read: ") + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return load(text.str(), path, absolute.string(), absolute.parent_path());
}

config load_config_string(const std::string& yaml, const std::string& base_dir) {
  return load(yaml, "<config>", "", fs::absolute(base_dir).lexically_normal());
}

}  // namespace herald
