// APNs rules for the mock: validates like api.push.apple.com (docs/PROVIDERS.md)
// and answers with the same statuses, reasons and apns-id echo.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <unordered_map>

#include "tests/mocks/mock_crypto.hpp"
#include "tests/mocks/mock_handler_support.hpp"
#include "tests/mocks/mock_push_server.hpp"
#include "tests/mocks/mock_server_core.hpp"

namespace herald::test {
namespace detail {
namespace {

constexpr std::string_view device_prefix = "/3/device/";

struct outcome {
  int status = 200;
  std::string reason;
};

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
}

bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

bool is_lowercase_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

// The topic suffix each push type requires (empty: the bare bundle id).
std::optional<std::string_view> topic_suffix(std::string_view push_type) {
  static const std::array<std::pair<std::string_view, std::string_view>, 11> types{{
      {"alert", ""},
      {"background", ""},
      {"voip", ".voip"},
      {"complication", ".complication"},
      {"fileprovider", ".pushkit.fileprovider"},
      {"mdm", ""},
      {"liveactivity", ".push-type.liveactivity"},
      {"location", ".location-query"},
      {"pushtotalk", ".voip-ptt"},
      {"controls", ""},
      {"widgets", ""},
  }};
  for (const auto& [type, suffix] : types) {
    if (type == push_type) return suffix;
  }
  return std::nullopt;
}

class apns_handler final : public protocol_handler {
 public:
  apns_handler(server_core& core, mock_apns_options options)
      : core_(core),
        options_(std::move(options)),
        certificate_auth_(!options_.client_ca_file.empty()),
        key_(certificate_auth_ ? evp_key() : load_private_key_file(options_.p8_file)) {}

  decision handle(const incoming_request& r, connection_state& state) override {
    recorded_request rec =
        record_of(r, r.path.starts_with(device_prefix) ? r.path.substr(device_prefix.size()) : std::string());
    rec.apns_id = r.header("apns-id");
    if (rec.apns_id.empty()) rec.apns_id = random_uuid();

    decision d;
    d.headers.emplace_back("apns-id", rec.apns_id);
    outcome result;
    std::optional<std::int64_t> timestamp;
    std::optional<mock_fault> fault = core_.take_fault(rec.device_token);
    if (fault && fault->what != mock_fault::action::respond) return transport_fault(*fault, std::move(rec));
    if (fault) {
      d.delay = fault->delay;
      if (fault->retry_after_seconds) {
        d.headers.emplace_back("retry-after", std::to_string(*fault->retry_after_seconds));
      }
      timestamp = fault->timestamp_ms;
    }
    if (fault && fault->status != 200) {
      result = {fault->status, fault->reason};
    } else {
      result = validate(r, rec.device_token, state);
    }
    d.status = result.status;
    rec.status = result.status;
    rec.reason = result.reason;
    if (result.status != 200) {
      boost::json::object body{{"reason", result.reason}};
      if (result.status == 410) body["timestamp"] = timestamp.value_or(unix_now() * 1000);
      d.body = boost::json::serialize(body);
      d.headers.emplace_back("content-type", "application/json; charset=utf-8");
    }
    d.record = std::move(rec);
    return d;
  }

 private:
  outcome validate(const incoming_request& r, const std::string& token, connection_state& state) {
    if (r.method != "POST") return {405, "MethodNotAllowed"};
    if (!r.path.starts_with(device_prefix)) return {404, "BadPath"};
    if (token.empty()) return {400, "MissingDeviceToken"};
    if (!is_hex(token) || token.size() % 2 != 0) return {400, "BadDeviceToken"};
    for (std::string_view name : {"authorization", "apns-id", "apns-topic", "apns-push-type", "apns-priority",
                                  "apns-expiration", "apns-collapse-id"}) {
      if (r.header_count(name) > 1) return {400, "DuplicateHeaders"};
    }

    if (!certificate_auth_) {
      if (auto o = check_authorization(r, state); o.status != 200) return o;
    }

    // The app whose topics the credential may use: the certificate's bundle id with certificate auth.
    const std::string& bundle_id = certificate_auth_ ? state.client_certificate_id : options_.topic;
    std::string topic = r.header("apns-topic");
    if (topic.empty() && certificate_auth_) topic = bundle_id;
    if (topic.empty()) return {400, "MissingTopic"};
    const std::string push_type = r.header("apns-push-type");
    const std::optional<std::string_view> suffix =
        push_type.empty() ? std::optional<std::string_view>("") : topic_suffix(push_type);
    if (push_type.empty() && options_.require_push_type) return {400, "InvalidPushType"};
    if (!suffix) return {400, "InvalidPushType"};
    if (topic != bundle_id + std::string(*suffix)) {
      return {400, topic.starts_with(bundle_id) ? "DeviceTokenNotForTopic" : "TopicDisallowed"};
    }
    if (bundle_id != options_.topic) return {400, "DeviceTokenNotForTopic"};

    const std::string* priority = r.find("apns-priority");
    if (priority && *priority != "10" && *priority != "5" && *priority != "1") return {400, "BadPriority"};
    if (push_type == "background" && (!priority || *priority != "5")) return {400, "BadPriority"};
    if (const std::string* id = r.find("apns-id"); id && !is_lowercase_uuid(*id)) return {400, "BadMessageId"};
    if (const std::string* exp = r.find("apns-expiration"); exp && !is_digits(*exp)) {
      return {400, "BadExpirationDate"};
    }
    if (const std::string* c = r.find("apns-collapse-id"); c && c->size() > 64) return {400, "BadCollapseId"};

    if (r.body_size == 0) return {400, "PayloadEmpty"};
    const std::size_t limit = push_type == "voip" ? 5120 : 4096;
    if (r.body_size > limit) return {413, "PayloadTooLarge"};
    boost::system::error_code ec;
    auto payload = boost::json::parse(r.body, ec);
    // Not an Apple-documented reason: APNs has none for malformed JSON.
    if (ec || !payload.is_object()) return {400, "BadPayload"};
    return {};
  }

  // Token auth: the bearer provider token, and how often it changes on one connection.
  outcome check_authorization(const incoming_request& r, connection_state& state) {
    const std::string* auth = r.find("authorization");
    if (!auth || auth->empty()) return {403, "MissingProviderToken"};
    if (!iequals_prefix(*auth, "bearer ")) return {403, "InvalidProviderToken"};
    const std::string jwt = auth->substr(7);
    if (auto o = check_provider_token(jwt); o.status != 200) return o;
    if (options_.min_token_update_interval.count() > 0) {
      const auto now = std::chrono::steady_clock::now();
      if (state.provider_token.empty()) {
        state.provider_token = jwt;
        state.provider_token_since = now;
      } else if (state.provider_token != jwt) {
        if (now - state.provider_token_since < options_.min_token_update_interval) {
          return {429, "TooManyProviderTokenUpdates"};
        }
        state.provider_token = jwt;
        state.provider_token_since = now;
      }
    }
    return {};
  }

  outcome check_provider_token(const std::string& jwt) {
    auto it = token_cache_.find(jwt);
    if (it == token_cache_.end()) {
      if (token_cache_.size() > 4096) token_cache_.clear();
      it = token_cache_.emplace(jwt, verify(jwt)).first;
    }
    const std::optional<std::int64_t>& iat = it->second;
    if (!iat) return {403, "InvalidProviderToken"};
    const std::int64_t now = unix_now();
    if (*iat > now + 1) return {403, "InvalidProviderToken"};
    if (now - *iat > 3600) return {403, "ExpiredProviderToken"};
    return {};
  }

  // The token's iat when header, issuer and ES256 signature are right.
  std::optional<std::int64_t> verify(const std::string& jwt) const {
    auto parsed = parse_jwt(jwt);
    if (!parsed) return std::nullopt;
    auto str_eq = [](const boost::json::object& o, std::string_view key, std::string_view want) {
      const auto* v = o.if_contains(key);
      return v && v->is_string() && v->get_string() == want;
    };
    if (!str_eq(parsed->header, "alg", "ES256") || !str_eq(parsed->header, "kid", options_.key_id) ||
        !str_eq(parsed->claims, "iss", options_.team_id)) {
      return std::nullopt;
    }
    const auto* iat = parsed->claims.if_contains("iat");
    if (!iat || !(iat->is_int64() || iat->is_uint64())) return std::nullopt;
    if (!verify_es256(key_.get(), parsed->signing_input, parsed->signature)) return std::nullopt;
    return iat->is_int64() ? iat->get_int64() : static_cast<std::int64_t>(iat->get_uint64());
  }

  server_core& core_;
  const mock_apns_options options_;
  const bool certificate_auth_;
  evp_key key_;  // verifies provider tokens (token auth only)
  // Verified tokens (server thread only): a token is checked once, like APNs.
  std::unordered_map<std::string, std::optional<std::int64_t>> token_cache_;
};

std::unique_ptr<server_core> make_apns_core(mock_apns_options options) {
  core_settings settings = tls_settings(options.cert_file, options.key_file, options.port);
  settings.client_ca_file = options.client_ca_file;
  settings.initial_max_concurrent_streams = options.initial_max_concurrent_streams;
  settings.max_concurrent_streams = options.max_concurrent_streams;
  return start_core<apns_handler>(settings, std::move(options));
}

}  // namespace
}  // namespace detail

mock_apns_options mock_apns_options::from(const test_pki& pki) {
  mock_apns_options o;
  o.cert_file = pki.server_cert_file;
  o.key_file = pki.server_key_file;
  o.p8_file = pki.apns_p8_file;
  o.key_id = pki.apns_key_id;
  o.team_id = pki.apns_team_id;
  o.topic = pki.apns_topic;
  return o;
}

mock_apns_server::mock_apns_server(mock_apns_options options)
    : mock_push_server(detail::make_apns_core(std::move(options))) {}

}  // namespace herald::test
