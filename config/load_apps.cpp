// The apps: section: per applicationId, the APNs, FCM, WNS and Web Push
// settings. Key files must exist and not be world-readable.
#include <set>

#include "config/secret_file.hpp"
#include "config/sections.hpp"
#include "config/value_parsers.hpp"
#include "model/text.hpp"

namespace herald::cfg {
namespace {

using namespace std::chrono_literals;

// The keys every provider has: trust anchor, pool size, timeouts.
constexpr std::string_view transport_keys[] = {"ca_file", "connections", "connect_timeout", "response_timeout"};

template <class Settings>
void load_transport(const section& s, const fs::path& base_dir, Settings& out) {
  if (s.read_path("ca_file", out.ca_file, base_dir)) require_file(out.ca_file, s.path("ca_file"));
  read_tunables(s, out, tunables::pool<Settings>);
}

// An optional secret file: its resolved path, checked but not read here.
void secret_path(const section& s, std::string_view key, const fs::path& base_dir, std::string& out) {
  if (s.read_path(key, out, base_dir)) require_secret_file(out, s.path(key));
}

void required_secret_path(const section& s, std::string_view key, const fs::path& base_dir, std::string& out,
                          const std::string& problem) {
  s.required(key, problem);
  secret_path(s, key, base_dir, out);
}

std::string required_string(const section& s, std::string_view key, const std::string& problem) {
  return non_empty(s.required(key, problem), s.path(key));
}

apns_settings load_apns(const YAML::Node& node, const std::string& path, const fs::path& base_dir) {
  const section s(node, path,
                  {"team_id", "key_id", "key_file", "certificate_file", "certificate_password_file", "topic",
                   "environment", "endpoint"}, transport_keys);
  apns_settings out;
  secret_path(s, "key_file", base_dir, out.key_file);
  secret_path(s, "certificate_file", base_dir, out.certificate_file);
  secret_path(s, "certificate_password_file", base_dir, out.certificate_password_file);
  if (out.key_file.empty() == out.certificate_file.empty()) {
    throw config_error(path, "set exactly one of key_file (token auth) or certificate_file (certificate auth)");
  }
  if (!out.certificate_password_file.empty() && out.certificate_file.empty()) {
    throw config_error(s.path("certificate_password_file"), "only used with certificate_file");
  }
  for (auto [name, field] : {std::pair{"team_id", &out.team_id}, std::pair{"key_id", &out.key_id}}) {
    if (auto v = s.get(name)) {
      *field = scalar(*v, s.path(name));
      if (!is_apple_id(*field)) throw config_error(s.path(name), "must be exactly 10 letters or digits, got " + in_quotes(*field));
    } else if (!out.key_file.empty()) {
      throw config_error(s.path(name), "is required with key_file");
    }
  }
  out.topic = required_string(s, "topic", "is required (the app's bundle id)");
  s.read_choice("environment", out.environment, {"production", "sandbox"}, "must be production or sandbox, got ");
  if (auto v = s.get("endpoint")) out.endpoint = parse_https_endpoint(non_empty(*v, s.path("endpoint")), s.path("endpoint"));
  load_transport(s, base_dir, out);
  return out;
}

fcm_settings load_fcm(const YAML::Node& node, const std::string& path, const fs::path& base_dir) {
  const section s(node, path, {"service_account_file", "endpoint"}, transport_keys);
  fcm_settings out;
  required_secret_path(s, "service_account_file", base_dir, out.service_account_file, "is required");
  if (auto v = s.get("endpoint")) out.endpoint = parse_https_endpoint(non_empty(*v, s.path("endpoint")), s.path("endpoint"));
  load_transport(s, base_dir, out);
  return out;
}

void load_allowed_hosts(const section& s, std::vector<std::string>& out) {
  if (auto v = s.get("allowed_hosts")) out = parse_host_patterns(string_list(*v, s.path("allowed_hosts")), s.path("allowed_hosts"));
}

wns_settings load_wns(const YAML::Node& node, const std::string& path, const fs::path& base_dir) {
  const section s(node, path,
                  {"client_id", "client_secret_file", "token_endpoint", "scope", "allowed_hosts"}, transport_keys);
  wns_settings out;
  out.client_id = required_string(s, "client_id", "is required (package SID or Entra ID application id)");
  required_secret_path(s, "client_secret_file", base_dir, out.client_secret_file, "is required");
  out.token_endpoint = parse_https_url_with_path(
      required_string(s, "token_endpoint",
                      "is required: https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token (Entra ID) or "
                      "https://login.live.com/accesstoken.srf (classic Store apps)"),
      s.path("token_endpoint"));
  s.read_string("scope", out.scope);
  load_allowed_hosts(s, out.allowed_hosts);
  load_transport(s, base_dir, out);
  return out;
}

webpush_settings load_webpush(const YAML::Node& node, const std::string& path, const fs::path& base_dir) {
  const section s(node, path,
                  {"vapid_private_key_file", "subject", "allowed_hosts", "ttl", "urgency"}, transport_keys);
  webpush_settings out;
  required_secret_path(s, "vapid_private_key_file", base_dir, out.vapid_private_key_file,
                       "is required (herald webpush keygen writes one)");
  out.subject = required_string(s, "subject", "is required (mailto:ops@example.com or an https:// URL)");
  if (!out.subject.starts_with("mailto:") && !out.subject.starts_with("https://"))
    throw config_error(s.path("subject"), "must be a mailto: or https:// contact, got " + in_quotes(out.subject));
  load_allowed_hosts(s, out.allowed_hosts);
  millis ttl = out.ttl;
  if (s.read_duration("ttl", ttl, 0ms, 24h * 28)) out.ttl = std::chrono::duration_cast<std::chrono::seconds>(ttl);
  s.read_choice("urgency", out.urgency, {"very-low", "low", "normal", "high"}, "must be very-low, low, normal or high, got ");
  load_transport(s, base_dir, out);
  return out;
}

}  // namespace

std::vector<app_settings> load_apps(const YAML::Node& node, const fs::path& base_dir) {
  std::vector<app_settings> out;
  if (!node.IsDefined() || node.IsNull()) return out;
  if (!node.IsMap()) throw config_error("apps", std::string("expected a mapping of applicationId to providers, got ") + kind_name(node));
  std::set<std::string> seen;
  // yaml-cpp iterates a mapping in document order, which makes the first app the default.
  for (const auto& entry : node) {
    if (!entry.first.IsScalar()) throw config_error("apps", "application ids must be plain strings");
    app_settings app;
    app.id = entry.first.Scalar();
    const std::string path = "apps." + app.id;
    if (app.id.empty() || app.id.size() > 64 || !all_of(app.id, is_identifier_char)) {
      throw config_error(path, "application id must be 1 to 64 characters of letters, digits, '_', '-', '.'");
    }
    if (!seen.insert(app.id).second) throw config_error(path, "duplicate key");
    const section s(entry.second, path, {"apns", "fcm", "wns", "webpush"});
    if (auto v = s.get("apns")) app.apns = load_apns(*v, s.path("apns"), base_dir);
    if (auto v = s.get("fcm")) app.fcm = load_fcm(*v, s.path("fcm"), base_dir);
    if (auto v = s.get("wns")) app.wns = load_wns(*v, s.path("wns"), base_dir);
    if (auto v = s.get("webpush")) app.webpush = load_webpush(*v, s.path("webpush"), base_dir);
    if (!app.apns && !app.fcm && !app.wns && !app.webpush) throw config_error(path, "configure at least one of apns, fcm, wns, webpush");
    out.push_back(std::move(app));
  }
  return out;
}

}  // namespace herald::cfg
