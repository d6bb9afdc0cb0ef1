// The auth: section: bearer tokens (inline and from auth.tokens_file) held as
// SHA-256 digests, and the SOAP ApplicationToken digests.
#include <algorithm>
#include <limits>

#include "config/secret_file.hpp"
#include "config/sections.hpp"
#include "config/value_parsers.hpp"
#include "model/text.hpp"

namespace herald::cfg {
namespace {

bool is_known_scope(std::string_view scope) {
  static constexpr std::string_view fixed[] = {"devices.read",  "devices.write",     "subscriptions.read",
                                               "subscriptions.write", "messages.write", "broker.run",
                                               "appointments.read",   "appointments.write", "messages.any",
                                               "admin.read",          "admin.write"};
  if (std::find(std::begin(fixed), std::end(fixed), scope) != std::end(fixed)) return true;
  constexpr std::string_view app_prefix = "push.application.";
  if (scope.starts_with(app_prefix)) {
    const auto app = scope.substr(app_prefix.size());
    return !app.empty() && all_of(app, is_identifier_char);
  }
  return false;
}

token_credential load_token(const YAML::Node& node, const std::string& path) {
  if (!node.IsMap()) throw config_error(path, std::string("expected a mapping with name, sha256, scopes, got ") + kind_name(node));
  const section s(node, path, {"name", "sha256", "scopes", "associate_id"});
  token_credential out;
  out.name = non_empty(s.required("name", "is required"), s.path("name"));
  if (out.name.size() > 64 || !all_of(out.name, [](char c) { return is_identifier_char(c) || c == '@' || c == ':'; })) {
    throw config_error(s.path("name"), "must be 1 to 64 characters of letters, digits, '_', '-', '.', '@', ':'");
  }
  const auto sha = s.required("sha256", "is required (the SHA-256 hex of the token)");
  const auto digest = decode_sha256(scalar(sha, s.path("sha256")));
  if (!digest) throw config_error(s.path("sha256"), "must be 64 hex characters (the SHA-256 of the token)");
  out.sha256 = *digest;
  if (auto v = s.get("scopes")) {
    out.scopes = string_list(*v, s.path("scopes"));
    for (std::size_t i = 0; i < out.scopes.size(); ++i) {
      if (!is_known_scope(out.scopes[i])) {
        throw config_error(index_path(s.path("scopes"), i),
                           "unknown scope " + in_quotes(out.scopes[i]) +
                               " (known: devices.read, devices.write, subscriptions.read, subscriptions.write, "
                               "messages.write, messages.any, broker.run, appointments.read, appointments.write, "
                               "admin.read, admin.write, push.application.<id>)");
      }
    }
  }
  if (auto v = s.get("associate_id")) {
    out.associate_id = integer(*v, s.path("associate_id"), 1, std::numeric_limits<std::int64_t>::max());
  }
  return out;
}

void load_token_list(const YAML::Node& node, const std::string& path, std::vector<token_credential>& out) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsSequence()) throw config_error(path, std::string("expected a list of tokens, got ") + kind_name(node));
  for (std::size_t i = 0; i < node.size(); ++i) out.push_back(load_token(node[i], index_path(path, i)));
}

// Names show up in logs and metrics, digests identify the caller: both must be unique.
void require_unique(const std::vector<token_credential>& tokens) {
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (tokens[i].name == tokens[j].name) {
        throw config_error("auth.tokens", "token name " + in_quotes(tokens[i].name) + " is used twice");
      }
      if (tokens[i].sha256 == tokens[j].sha256) {
        throw config_error("auth.tokens", "tokens " + in_quotes(tokens[j].name) + " and " + in_quotes(tokens[i].name) +
                                              " have the same sha256");
      }
    }
  }
}

}  // namespace

auth_settings load_auth(const YAML::Node& node, const fs::path& base_dir) {
  const section s(node, "auth", {"tokens", "tokens_file", "application_tokens"});
  auth_settings out;
  load_token_list(s.raw("tokens"), s.path("tokens"), out.tokens);
  if (s.read_path("tokens_file", out.tokens_file, base_dir)) {
    // Digests, not tokens: an ordinary readable file, reloaded on SIGHUP.
    const auto key = s.path("tokens_file");
    require_file(out.tokens_file, key);
    load_token_list(parse_yaml(read_file(out.tokens_file, key), out.tokens_file), key, out.tokens);
  }
  require_unique(out.tokens);
  if (auto v = s.get("application_tokens")) {
    const auto key = s.path("application_tokens");
    for (const auto& hex : string_list(*v, key)) {
      const auto digest = decode_sha256(hex);
      if (!digest)
        throw config_error(key, "entries must be the SHA-256 hex of an ApplicationToken (printf %s TOKEN | sha256sum), got " +
                                    std::to_string(hex.size()) + " characters");
      out.application_tokens.push_back(*digest);
    }
  }
  return out;
}

}  // namespace herald::cfg
