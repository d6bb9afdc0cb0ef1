// The redis: section: a URL or Sentinel endpoints, secrets from files, client tunables.
#include "config/redis_url.hpp"
#include "config/secret_file.hpp"
#include "config/sections.hpp"
#include "config/value_parsers.hpp"

namespace herald::cfg {
namespace {

void load_url(const section& s, redis_settings& out) {
  if (!s.read_string("url", out.url)) return;
  auto address = parse_redis_url(out.url, s.path("url"));
  out.host = std::move(address.host);
  out.port = address.port;
  out.unix_socket = std::move(address.unix_socket);
  out.db = address.db;
  out.username = std::move(address.username);
  out.password = std::move(address.password);
}

void load_sentinels(const section& s, redis_settings& out) {
  auto v = s.get("sentinels");
  if (!v) {
    if (s.has("master_name")) throw config_error(s.path("master_name"), "only used with redis.sentinels");
    return;
  }
  const auto key = s.path("sentinels");
  if (s.has("url")) throw config_error(key, "redis.url and redis.sentinels are mutually exclusive; set one or the other");
  const auto list = string_list(*v, key);
  if (list.empty()) throw config_error(key, "must list at least one sentinel as host:port");
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto hp = parse_host_and_port(list[i], index_path(key, i), "missing port; expected host:port (Sentinel's default is 26379)");
    out.sentinels.push_back({hp.host, *hp.port});
  }
  out.url.clear();
  out.host.clear();
  out.port = 0;
  out.master_name = non_empty(s.required("master_name", "required with redis.sentinels (the name the sentinels monitor)"),
                              s.path("master_name"));
}

// A *_file key: the resolved path into `file`, the file's one-line secret into `secret`.
void load_secret(const section& s, std::string_view name, const fs::path& base_dir, std::string& file, std::string& secret) {
  if (s.read_path(name, file, base_dir)) secret = read_secret_file(file, s.path(name));
}

}  // namespace

redis_settings load_redis(const YAML::Node& node, const fs::path& base_dir) {
  const section s(node, "redis",
                  {"url", "password_file", "key_prefix", "connect_timeout", "command_timeout", "reconnect_min",
                   "reconnect_max", "max_pending", "sentinels", "master_name", "sentinel_password_file",
                   "dataset_reset_alert"});
  redis_settings out;
  load_url(s, out);
  load_sentinels(s, out);
  if (s.has("sentinel_password_file") && out.sentinels.empty()) {
    throw config_error(s.path("sentinel_password_file"), "only used with redis.sentinels");
  }
  load_secret(s, "sentinel_password_file", base_dir, out.sentinel_password_file, out.sentinel_password);
  if (s.has("password_file") && !out.password.empty()) {
    throw config_error(s.path("password_file"), "redis.url already has a password; set one or the other");
  }
  load_secret(s, "password_file", base_dir, out.password_file, out.password);
  if (s.read_string("key_prefix", out.key_prefix)) {
    if (out.key_prefix.size() > 64 || !all_of(out.key_prefix, [](char c) { return is_identifier_char(c) || c == ':'; })) {
      throw config_error(s.path("key_prefix"), "must be 1 to 64 characters of letters, digits, '_', '-', '.', ':'");
    }
  }
  read_tunables(s, out, tunables::redis);
  if (out.reconnect_max < out.reconnect_min) {
    throw config_error(s.path("reconnect_max"),
                       "must not be less than redis.reconnect_min (" + format_duration(out.reconnect_min) + ")");
  }
  return out;
}

}  // namespace herald::cfg
