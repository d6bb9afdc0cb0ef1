// describe_effective: the loaded configuration as YAML that loads back to the
// same values, with secrets masked (URL passwords, token digests).
#include <yaml-cpp/yaml.h>

#include "config/config.hpp"
#include "config/redis_url.hpp"
#include "config/tunables.hpp"
#include "config/value_parsers.hpp"

namespace herald {
namespace {

using cfg::format_duration;

class printer {
 public:
  YAML::Emitter out;

  template <class T>
  void value(std::string_view key, const T& v) {
    out << YAML::Key << std::string(key) << YAML::Value << v;
  }
  void duration(std::string_view key, millis v) { value(key, format_duration(v)); }
  void size(std::string_view key, std::size_t v) { value(key, cfg::format_size(v)); }
  // Left out when unset.
  void optional(const char* key, const std::string& v) {
    if (!v.empty()) value(key, v);
  }
  // Unset prints as null (which loads as unset) with a comment saying what it means.
  void or_builtin(const char* key, const std::string& v, const char* builtin) {
    if (v.empty()) {
      out << YAML::Key << key << YAML::Value << YAML::Null << YAML::Comment(builtin);
    } else {
      value(key, v);
    }
  }
  void flow_list(const char* key, const std::vector<std::string>& items) {
    out << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const auto& item : items) out << item;
    out << YAML::EndSeq;
  }
  void begin(const char* key) { out << YAML::Key << key << YAML::Value << YAML::BeginMap; }
  void end() { out << YAML::EndMap; }

 private:
  template <class S, class T>
  void print_key(const S& settings, const cfg::count_key<S, T>& k) {
    value(k.key, settings.*k.member);
  }
  template <class S>
  void print_key(const S& settings, const cfg::size_key<S>& k) {
    size(k.key, settings.*k.member);
  }
  template <class S>
  void print_key(const S& settings, const cfg::duration_key<S>& k) {
    duration(k.key, settings.*k.member);
  }

 public:

  // The keys of a tunables table, as the loader reads them.
  template <class S, class Table>
  void tunables(const S& settings, const Table& table) {
    std::apply([&](const auto&... key) { (print_key(settings, key), ...); }, table);
  }
  // The keys every provider has after its own: pool size and timeouts.
  template <class S>
  void pool(const S& settings) {
    tunables(settings, cfg::tunables::pool<S>);
  }
  void allowed_hosts(const std::vector<std::string>& hosts) {
    if (!hosts.empty()) flow_list("allowed_hosts", hosts);
  }
};

std::string host_port(const std::string& host, std::uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

void print_server(printer& p, const server_settings& s) {
  p.begin("server");
  p.value("listen", host_port(s.listen_host, s.listen_port));
  p.tunables(s, cfg::tunables::server);
  p.end();
}

void print_redis(printer& p, const redis_settings& r) {
  p.begin("redis");
  if (r.sentinels.empty()) {
    p.value("url", cfg::mask_url(r.url));
  } else {
    std::vector<std::string> sentinels;
    for (const auto& e : r.sentinels) sentinels.push_back(host_port(e.host, e.port));
    p.flow_list("sentinels", sentinels);
    p.value("master_name", r.master_name);
    p.optional("sentinel_password_file", r.sentinel_password_file);
  }
  p.optional("password_file", r.password_file);
  p.value("key_prefix", r.key_prefix);
  p.tunables(r, cfg::tunables::redis);
  p.end();
}

void print_auth(printer& p, const auth_settings& a) {
  p.begin("auth");
  p.out << YAML::Key << "tokens" << YAML::Value << YAML::BeginSeq;
  for (const auto& t : a.tokens) {
    p.out << YAML::BeginMap;
    p.value("name", t.name);
    // Enough to tell tokens apart, far too little to help anyone guess one.
    p.value("sha256", to_hex(std::span<const std::uint8_t>(t.sha256.data(), 4)) + "\u2026");
    p.flow_list("scopes", t.scopes);
    if (t.associate_id) p.value("associate_id", *t.associate_id);
    p.out << YAML::EndMap;
  }
  p.out << YAML::EndSeq;
  p.optional("tokens_file", a.tokens_file);
  p.flow_list("application_tokens", std::vector<std::string>(a.application_tokens.size(), "***"));
  p.end();
}

// One provider's mapping: its own keys (`own`), then the pool's.
template <class S, class Own>
void print_provider(printer& p, const char* name, const std::optional<S>& settings, Own own) {
  if (!settings) return;
  p.begin(name);
  own(*settings);
  p.pool(*settings);
  p.end();
}

void print_app(printer& p, const app_settings& app) {
  p.begin(app.id.c_str());
  print_provider(p, "apns", app.apns, [&](const apns_settings& s) {
    for (auto [key, value] : {std::pair{"team_id", &s.team_id}, {"key_id", &s.key_id}, {"key_file", &s.key_file},
                              {"certificate_file", &s.certificate_file},
                              {"certificate_password_file", &s.certificate_password_file}}) {
      p.optional(key, *value);
    }
    p.value("topic", s.topic);
    p.value("environment", s.environment);
    p.optional("endpoint", s.endpoint);
    p.optional("ca_file", s.ca_file);
  });
  print_provider(p, "fcm", app.fcm, [&](const fcm_settings& s) {
    p.value("service_account_file", s.service_account_file);
    p.optional("endpoint", s.endpoint);
    p.optional("ca_file", s.ca_file);
  });
  print_provider(p, "wns", app.wns, [&](const wns_settings& s) {
    p.value("client_id", s.client_id);
    p.value("client_secret_file", s.client_secret_file);
    p.value("token_endpoint", s.token_endpoint);
    p.optional("scope", s.scope);
    p.allowed_hosts(s.allowed_hosts);
    p.optional("ca_file", s.ca_file);
  });
  print_provider(p, "webpush", app.webpush, [&](const webpush_settings& s) {
    p.value("vapid_private_key_file", s.vapid_private_key_file);
    p.value("subject", s.subject);
    p.allowed_hosts(s.allowed_hosts);
    p.optional("ca_file", s.ca_file);
    p.duration("ttl", std::chrono::duration_cast<millis>(s.ttl));
    p.value("urgency", s.urgency);
  });
  p.end();
}

}  // namespace

std::string describe_effective(const config& cfg) {
  printer p;
  p.out << YAML::BeginMap;
  print_server(p, cfg.server);
  print_redis(p, cfg.redis);
  print_auth(p, cfg.auth);

  p.out << YAML::Key << "apps" << YAML::Value;
  if (cfg.apps.empty()) p.out << YAML::Flow;
  p.out << YAML::BeginMap;
  for (const auto& app : cfg.apps) print_app(p, app);
  p.end();

  p.begin("broker");
  p.tunables(cfg.broker, cfg::tunables::broker);
  p.end();

  p.begin("providers");
  p.tunables(cfg.providers, cfg::tunables::providers);
  p.end();

  p.begin("trace");
  p.tunables(cfg.trace, cfg::tunables::trace);
  p.end();

  p.begin("log");
  p.value("level", cfg.log.level);
  p.value("format", cfg.log.format);
  p.end();

  p.begin("locales");
  p.value("default_language", cfg.locales.default_language);
  p.or_builtin("directory", cfg.locales.directory, "built-in catalogs");
  p.end();

  p.begin("timezones");
  p.value("default", cfg.timezones.default_zone);
  p.or_builtin("table_file", cfg.timezones.table_file, "built-in table");
  p.end();

  p.out << YAML::EndMap;
  return std::string(p.out.c_str()) + "\n";
}

}  // namespace herald
