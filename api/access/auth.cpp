#include "api/access/auth.hpp"

#include "model/text.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace herald {

namespace {
// HTTP optional whitespace (RFC 9110 OWS: spaces and tabs only).
std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace

bool principal::has_scope(std::string_view scope) const {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

authenticator::authenticator(auth_settings settings)
    : settings_(std::make_shared<const auth_settings>(std::move(settings))) {}

void authenticator::replace(auth_settings settings) {
  settings_.store(std::make_shared<const auth_settings>(std::move(settings)));
}

auth_outcome authenticator::authenticate(std::string_view authorization) const {
  auto value = trim_ows(authorization);
  if (value.empty()) return {auth_status::missing, {}};
  auto space = value.find(' ');
  if (space == std::string_view::npos) return {auth_status::malformed, {}};
  auto scheme = value.substr(0, space);
  auto token = trim_ows(value.substr(space + 1));
  if (!iequals(scheme, "Bearer") && !iequals(scheme, "SOTicket")) return {auth_status::malformed, {}};
  if (token.empty()) return {auth_status::malformed, {}};
  return authenticate_token(token);
}

auth_outcome authenticator::authenticate_token(std::string_view token) const {
  if (token.empty()) return {auth_status::missing, {}};
  auto digest = sha256_digest(token);  // the config module's SHA-256, as the configured hashes were made
  auto current = settings_.load();
  const token_credential* match = nullptr;
  // Compare against every credential (no early exit) in constant time per entry.
  for (const auto& cred : current->tokens) {
    if (CRYPTO_memcmp(cred.sha256.data(), digest.data(), digest.size()) == 0 && !match) match = &cred;
  }
  if (!match) return {auth_status::invalid, {}};
  return {auth_status::ok, principal{match->name, match->scopes, match->associate_id}};
}

bool authenticator::application_token_ok(std::string_view token) const {
  auto current = settings_.load();
  if (current->application_tokens.empty()) return true;
  // Compared as SHA-256 digests: equal lengths, every entry, constant time.
  auto digest = sha256_digest(token);
  bool ok = false;
  for (const auto& t : current->application_tokens)
    if (CRYPTO_memcmp(t.data(), digest.data(), digest.size()) == 0) ok = true;
  return ok;
}

}  // namespace herald
