// FCM HTTP v1 rules for the mock, plus the Google OAuth2 token endpoint
// (JWT-bearer grant) on the same port (docs/PROVIDERS.md, FCM).
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>
#include <limits>
#include <mutex>
#include <unordered_map>

#include "tests/mocks/mock_crypto.hpp"
#include "tests/mocks/mock_handler_support.hpp"
#include "tests/mocks/mock_push_server.hpp"
#include "tests/mocks/mock_server_core.hpp"

namespace herald::test {
namespace detail {

constexpr std::string_view messaging_scope = "https://www.googleapis.com/auth/firebase.messaging";
constexpr std::string_view jwt_bearer_grant = "urn:ietf:params:oauth:grant-type:jwt-bearer";

namespace {

std::string google_status(int code) {
  switch (code) {
    case 400: return "INVALID_ARGUMENT";
    case 401: return "UNAUTHENTICATED";
    case 403: return "PERMISSION_DENIED";
    case 404: return "NOT_FOUND";
    case 409: return "ABORTED";
    case 429: return "RESOURCE_EXHAUSTED";
    case 500: return "INTERNAL";
    case 503: return "UNAVAILABLE";
    default: return "UNKNOWN";
  }
}

std::string default_message(std::string_view error_code, int status) {
  if (error_code == "UNREGISTERED") return "Requested entity was not found.";
  if (error_code == "QUOTA_EXCEEDED") return "Quota exceeded for quota metric 'Send requests'.";
  if (error_code == "SENDER_ID_MISMATCH") return "SenderId mismatch";
  if (error_code == "THIRD_PARTY_AUTH_ERROR") return "Auth error from APNS or Web Push Service";
  if (error_code == "UNAVAILABLE") return "The service is currently unavailable.";
  if (error_code == "INTERNAL") return "Internal error encountered.";
  if (status == 401) {
    return "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
           "valid authentication credential.";
  }
  return "Request contains an invalid argument.";
}

// {"error":{"code","message","status","details":[{FcmError errorCode}]}}; no
// details when error_code is empty.
std::string fcm_error_body(int status, const std::string& error_code, std::string message = {}) {
  if (message.empty()) message = default_message(error_code, status);
  boost::json::object err{{"code", status}, {"message", message}, {"status", google_status(status)}};
  if (!error_code.empty()) {
    err["details"] = boost::json::array{boost::json::object{
        {"@type", "type.googleapis.com/google.firebase.fcm.v1.FcmError"}, {"errorCode", error_code}}};
  }
  return boost::json::serialize(boost::json::object{{"error", err}});
}

bool has_scope(std::string_view scopes, std::string_view wanted) {
  while (!scopes.empty()) {
    auto sp = scopes.find(' ');
    if (scopes.substr(0, sp) == wanted) return true;
    if (sp == std::string_view::npos) break;
    scopes.remove_prefix(sp + 1);
  }
  return false;
}

std::optional<std::int64_t> as_int(const boost::json::value* v) {
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return static_cast<std::int64_t>(v->get_uint64());
  }
  return std::nullopt;
}

// Checks the parts of a v1 message the mock knows; returns an error text.
std::optional<std::string> check_string_map(const boost::json::value& v, const std::string& field) {
  if (!v.is_object()) return "Invalid value at '" + field + "': expected a map";
  for (const auto& [k, val] : v.get_object()) {
    if (!val.is_string()) {
      return "Invalid value at '" + field + "[" + std::string(k) + "].value' (TYPE_STRING), " +
             boost::json::serialize(val);
    }
  }
  return std::nullopt;
}

std::optional<std::string> check_allowed(const boost::json::object& o, std::initializer_list<std::string_view> keys,
                                         const std::string& where) {
  for (const auto& [k, v] : o) {
    if (std::find(keys.begin(), keys.end(), std::string_view(k)) == keys.end()) {
      return "Invalid JSON payload received. Unknown name \"" + std::string(k) + "\" at '" + where +
             "': Cannot find field.";
    }
  }
  return std::nullopt;
}

std::optional<std::string> check_message(const boost::json::object& m) {
  if (auto e = check_allowed(m, {"name", "data", "notification", "android", "webpush", "apns", "fcm_options", "token",
                                 "topic", "condition"},
                             "message")) {
    return e;
  }
  int targets = 0;
  for (std::string_view t : {"token", "topic", "condition"}) {
    if (const auto* v = m.if_contains(t)) {
      if (!v->is_string() || v->get_string().empty()) return "Invalid value at 'message." + std::string(t) + "'";
      ++targets;
    }
  }
  if (targets == 0) return "Recipient of the message is not set.";
  if (targets > 1) return "Exactly one of message.token, message.topic or message.condition must be set.";
  if (const auto* t = m.if_contains("token")) {
    for (char c : t->get_string()) {
      if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c))) {
        return "The registration token is not a valid FCM registration token";
      }
    }
  }
  std::size_t payload = 0;
  if (const auto* data = m.if_contains("data")) {
    if (auto e = check_string_map(*data, "message.data")) return e;
    for (const auto& [k, v] : data->get_object()) {
      std::string_view key(k);
      if (key.empty() || key == "from" || key == "gcm" || key == "message_type" || key == "collapse_key" ||
          key.starts_with("google.")) {
        return "Invalid data payload key: " + std::string(key);
      }
    }
    payload += boost::json::serialize(*data).size();
  }
  if (const auto* n = m.if_contains("notification")) {
    if (!n->is_object()) return "Invalid value at 'message.notification'";
    if (auto e = check_allowed(n->get_object(), {"title", "body", "image"}, "message.notification")) return e;
    if (auto e = check_string_map(*n, "message.notification")) return e;
    payload += boost::json::serialize(*n).size();
  }
  if (payload > 4096) return "Message is too big";
  if (const auto* a = m.if_contains("android")) {
    if (!a->is_object()) return "Invalid value at 'message.android'";
    const auto& ao = a->get_object();
    if (auto e = check_allowed(ao, {"collapse_key", "priority", "ttl", "restricted_package_name", "data",
                                    "notification", "fcm_options", "direct_boot_ok"},
                               "message.android")) {
      return e;
    }
    if (const auto* p = ao.if_contains("priority")) {
      if (!p->is_string() || !(p->get_string() == "NORMAL" || p->get_string() == "HIGH" ||
                               p->get_string() == "normal" || p->get_string() == "high")) {
        return "Invalid value at 'message.android.priority'";
      }
    }
    if (const auto* t = ao.if_contains("ttl")) {
      // google.protobuf.Duration JSON: "<seconds>[.<fraction>]s"
      bool ok = t->is_string();
      if (ok) {
        std::string_view s = t->get_string();
        ok = s.size() >= 2 && s.back() == 's';
        std::size_t dot = 0;
        for (std::size_t i = 0; ok && i + 1 < s.size(); ++i) {
          if (s[i] == '.' && i > 0 && dot++ == 0) continue;
          ok = std::isdigit(static_cast<unsigned char>(s[i])) != 0;
        }
      }
      if (!ok) return "Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration)";
    }
    if (const auto* d = ao.if_contains("data")) {
      if (auto e = check_string_map(*d, "message.android.data")) return e;
    }
    if (const auto* n = ao.if_contains("notification"); n && !n->is_object()) {
      return "Invalid value at 'message.android.notification'";
    }
  }
  if (const auto* a = m.if_contains("apns")) {
    if (!a->is_object()) return "Invalid value at 'message.apns'";
    if (const auto* h = a->get_object().if_contains("headers")) {
      if (auto e = check_string_map(*h, "message.apns.headers")) return e;
    }
    if (const auto* p = a->get_object().if_contains("payload"); p && !p->is_object()) {
      return "Invalid value at 'message.apns.payload'";
    }
  }
  if (const auto* w = m.if_contains("webpush"); w && !w->is_object()) return "Invalid value at 'message.webpush'";
  return std::nullopt;
}

}  // namespace

class fcm_handler final : public protocol_handler {
 public:
  fcm_handler(server_core& core, mock_fcm_options options) : core_(core), options_(std::move(options)) {
    auto sa = boost::json::parse(read_file(options_.service_account_file)).as_object();
    project_id_ = std::string(sa.at("project_id").as_string());
    client_email_ = std::string(sa.at("client_email").as_string());
    private_key_id_ = std::string(sa.at("private_key_id").as_string());
    key_ = load_private_key_pem(std::string(sa.at("private_key").as_string()));
    if (const auto* uri = sa.if_contains("token_uri"); uri && uri->is_string()) {
      file_token_uri_ = std::string(uri->get_string());
    }
    lifetime_seconds = options_.access_token_lifetime.count();
  }

  bool allow_http1() const override { return true; }

  void on_bound(unsigned short port) override {
    token_uri_ = "https://127.0.0.1:" + std::to_string(port) + "/token";
    if (options_.write_token_uri) {
      file_token_uri_ = token_uri_;  // assertions must then name this server
      auto v = boost::json::parse(read_file(options_.service_account_file));
      v.as_object()["token_uri"] = token_uri_;
      write_file(options_.service_account_file, boost::json::serialize(v), 0600);
    }
  }

  decision handle(const incoming_request& r, connection_state&) override {
    if (r.path == "/token") return handle_token(r);
    return handle_send(r);
  }

  const std::string& token_uri() const { return token_uri_; }

  // Shared with the test thread.
  std::atomic<std::size_t> token_requests{0};
  std::atomic<std::size_t> tokens_issued{0};
  std::atomic<std::int64_t> lifetime_seconds{3599};

  void expire_access_tokens() {
    std::lock_guard lock(mu_);
    tokens_.clear();
  }
  void fail_next_token_requests(std::size_t n, const mock_fault& f) { token_faults_.add(n, f); }

 private:
  static decision json_answer(int status, std::string body) {
    decision d;
    d.status = status;
    d.body = std::move(body);
    d.headers.emplace_back("content-type", "application/json; charset=UTF-8");
    return d;
  }

  static decision oauth_error(int status, const std::string& error, const std::string& description) {
    return json_answer(status, boost::json::serialize(boost::json::object{
                                   {"error", error}, {"error_description", description}}));
  }

  decision handle_token(const incoming_request& r) {
    token_requests.fetch_add(1);
    if (auto fault = token_faults_.take()) {
      decision d;
      if (fault->status != 200 || fault->what != mock_fault::action::respond) {
        d = oauth_error(fault->status, fault->reason.empty() ? "internal_failure" : fault->reason, "injected fault");
        if (fault->retry_after_seconds) {
          d.headers.emplace_back("retry-after", std::to_string(*fault->retry_after_seconds));
        }
        d.what = fault->what;
        d.delay = fault->delay;
        return d;
      }
      d = issue_token(r);
      d.delay = fault->delay;
      return d;
    }
    return issue_token(r);
  }

  decision issue_token(const incoming_request& r) {
    if (r.method != "POST") return oauth_error(405, "invalid_request", "Method not allowed");
    auto form = parse_form(r.body);
    if (form["grant_type"] != jwt_bearer_grant) {
      return oauth_error(400, "unsupported_grant_type", "Invalid grant_type: " + form["grant_type"]);
    }
    const std::string& assertion = form["assertion"];
    if (assertion.empty()) return oauth_error(400, "invalid_request", "Missing required parameter: assertion");
    auto jwt = parse_jwt(assertion);
    if (!jwt) return oauth_error(400, "invalid_grant", "Invalid JWT: malformed");
    auto str = [](const boost::json::object& o, std::string_view k) -> std::optional<std::string> {
      const auto* v = o.if_contains(k);
      if (!v || !v->is_string()) return std::nullopt;
      return std::string(v->get_string());
    };
    const auto kid = str(jwt->header, "kid");
    if (str(jwt->header, "alg") != "RS256" || (jwt->header.contains("kid") && kid != private_key_id_) ||
        !verify_rs256(key_.get(), jwt->signing_input, jwt->signature)) {
      return oauth_error(400, "invalid_grant", "Invalid JWT Signature.");
    }
    if (str(jwt->claims, "iss") != client_email_) return oauth_error(400, "invalid_grant", "Invalid email or User ID");
    const auto scope = str(jwt->claims, "scope");
    if (!scope || !has_scope(*scope, messaging_scope)) {
      return oauth_error(400, "invalid_scope", "Invalid OAuth scope or ID token audience provided.");
    }
    const auto aud = str(jwt->claims, "aud");
    if (!aud || (*aud != token_uri_ && *aud != file_token_uri_)) {
      return oauth_error(400, "invalid_grant",
                         "Invalid JWT: Failed audience check. The right audience is " + token_uri_);
    }
    const auto iat = as_int(jwt->claims.if_contains("iat"));
    const auto exp = as_int(jwt->claims.if_contains("exp"));
    const std::int64_t now = unix_now();
    if (!iat || !exp || *exp <= *iat || *exp - *iat > 3600 || *iat > now + 60 || *exp <= now) {
      return oauth_error(400, "invalid_grant",
                         "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
                         "timeframe. Check your iat and exp values in the JWT claim.");
    }
    const std::int64_t lifetime = lifetime_seconds.load();
    std::string token = "ya29.mock." + random_hex(24);
    {
      std::lock_guard lock(mu_);
      tokens_[token] = std::chrono::steady_clock::now() + std::chrono::seconds(lifetime);
    }
    tokens_issued.fetch_add(1);
    return json_answer(200, boost::json::serialize(boost::json::object{
                                {"access_token", token}, {"expires_in", lifetime}, {"token_type", "Bearer"}}));
  }

  bool token_valid(const std::string& authorization) {
    if (authorization.size() < 7) return false;
    std::string scheme = authorization.substr(0, 7);
    std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (scheme != "bearer ") return false;
    std::lock_guard lock(mu_);
    auto it = tokens_.find(authorization.substr(7));
    return it != tokens_.end() && std::chrono::steady_clock::now() < it->second;
  }

  decision handle_send(const incoming_request& r) {
    recorded_request rec = record_of(r);

    boost::system::error_code ec;
    boost::json::value body = boost::json::parse(r.body, ec);
    const boost::json::object* message = nullptr;
    if (!ec && body.is_object()) {
      if (const auto* m = body.get_object().if_contains("message"); m && m->is_object()) message = &m->get_object();
    }
    if (message) {
      if (const auto* t = message->if_contains("token"); t && t->is_string()) {
        rec.device_token = std::string(t->get_string());
      } else if (const auto* tp = message->if_contains("topic"); tp && tp->is_string()) {
        rec.device_token = "/topics/" + std::string(tp->get_string());
      } else if (const auto* c = message->if_contains("condition"); c && c->is_string()) {
        rec.device_token = "condition:" + std::string(c->get_string());
      }
    }

    decision d;
    if (auto fault = core_.take_fault(rec.device_token)) {
      if (fault->what != mock_fault::action::respond) return transport_fault(*fault, std::move(rec));
      if (fault->status != 200) {
        d = json_answer(fault->status, fcm_error_body(fault->status, fault->reason));
        rec.reason = fault->reason.empty() ? google_status(fault->status) : fault->reason;
      } else {
        d = validate_send(r, body, ec, message, rec.reason);
      }
      d.delay = fault->delay;
      if (fault->retry_after_seconds) {
        d.headers.emplace_back("retry-after", std::to_string(*fault->retry_after_seconds));
      }
    } else {
      d = validate_send(r, body, ec, message, rec.reason);
    }
    rec.status = d.status;
    d.record = std::move(rec);
    return d;
  }

  decision validate_send(const incoming_request& r, const boost::json::value& body, boost::system::error_code ec,
                         const boost::json::object* message, std::string& reason) {
    auto fail = [&](int status, const std::string& code, std::string text = {}) {
      reason = code.empty() ? google_status(status) : code;
      return json_answer(status, fcm_error_body(status, code, std::move(text)));
    };
    constexpr std::string_view prefix = "/v1/projects/";
    constexpr std::string_view suffix = "/messages:send";
    if (!r.path.starts_with(prefix) || !r.path.ends_with(suffix) || r.path.size() <= prefix.size() + suffix.size()) {
      return fail(404, "", "Requested entity was not found.");
    }
    if (r.method != "POST") return fail(404, "", "Requested entity was not found.");
    if (!token_valid(r.header("authorization"))) return fail(401, "");
    const std::string project = r.path.substr(prefix.size(), r.path.size() - prefix.size() - suffix.size());
    if (project != project_id_) {
      return fail(403, "",
                  "Permission 'cloudmessaging.messages.create' denied on resource "
                  "'//cloudresourcemanager.googleapis.com/projects/" +
                      project + "' (or it may not exist).");
    }
    if (ec || !body.is_object()) return fail(400, "INVALID_ARGUMENT", "Invalid JSON payload received.");
    if (auto e = check_allowed(body.get_object(), {"message", "validate_only"}, "")) {
      return fail(400, "INVALID_ARGUMENT", *e);
    }
    if (const auto* v = body.get_object().if_contains("validate_only"); v && !v->is_bool()) {
      return fail(400, "INVALID_ARGUMENT", "Invalid value at 'validate_only' (TYPE_BOOL)");
    }
    if (!message) return fail(400, "INVALID_ARGUMENT", "Invalid value at 'message'");
    if (auto e = check_message(*message)) return fail(400, "INVALID_ARGUMENT", *e);
    const std::uint64_t id = next_message_id_.fetch_add(1) + 1;
    return json_answer(200, boost::json::serialize(boost::json::object{
                                {"name", "projects/" + project_id_ + "/messages/0:" + std::to_string(id)}}));
  }

  server_core& core_;
  const mock_fcm_options options_;
  std::string project_id_, client_email_, private_key_id_, file_token_uri_;
  std::string token_uri_;  // set in on_bound, before the thread starts
  evp_key key_;
  std::atomic<std::uint64_t> next_message_id_{0};
  std::mutex mu_;  // guards tokens_
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> tokens_;
  fault_queue token_faults_;
};

namespace {
std::unique_ptr<server_core> make_fcm_core(mock_fcm_options options) {
  core_settings settings = tls_settings(options.cert_file, options.key_file, options.port);
  settings.initial_max_concurrent_streams = options.max_concurrent_streams;
  settings.max_concurrent_streams = options.max_concurrent_streams;
  return start_core<fcm_handler>(settings, std::move(options));
}

fcm_handler& fcm(detail::server_core& core) { return static_cast<fcm_handler&>(core.handler()); }
}  // namespace
}  // namespace detail

mock_fcm_options mock_fcm_options::from(const test_pki& pki) {
  mock_fcm_options o;
  o.cert_file = pki.server_cert_file;
  o.key_file = pki.server_key_file;
  o.service_account_file = pki.fcm_service_account_file;
  return o;
}

mock_fcm_server::mock_fcm_server(mock_fcm_options options)
    : mock_push_server(detail::make_fcm_core(std::move(options))) {}

std::string mock_fcm_server::token_uri() const { return detail::fcm(*core_).token_uri(); }
std::size_t mock_fcm_server::token_requests() const { return detail::fcm(*core_).token_requests.load(); }
std::size_t mock_fcm_server::tokens_issued() const { return detail::fcm(*core_).tokens_issued.load(); }
void mock_fcm_server::expire_access_tokens() { detail::fcm(*core_).expire_access_tokens(); }
void mock_fcm_server::set_access_token_lifetime(std::chrono::seconds lifetime) {
  detail::fcm(*core_).lifetime_seconds = lifetime.count();
}
void mock_fcm_server::fail_next_token_requests(std::size_t n, const mock_fault& f) {
  detail::fcm(*core_).fail_next_token_requests(n, f);
}

}  // namespace herald::test
