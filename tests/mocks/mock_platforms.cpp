// WNS and Web Push rules for the mocks (docs/PROVIDERS.md "WNS", "Web Push").
#include "tests/mocks/mock_platforms.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <pugixml.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <unordered_map>

#include "providers/jwt.hpp"
#include "providers/webpush_crypto.hpp"
#include "tests/mocks/mock_crypto.hpp"
#include "tests/mocks/mock_handler_support.hpp"
#include "tests/mocks/mock_server_core.hpp"

namespace herald::test {
namespace detail {

namespace {

decision answer(int status, std::string body = {}, std::string content_type = {}) {
  decision d;
  d.status = status;
  d.body = std::move(body);
  if (!content_type.empty()) d.headers.emplace_back("content-type", std::move(content_type));
  return d;
}

// Validation off: the answer from memory, recorded without headers or body.
decision unchecked(const incoming_request& r, std::string token, int status, header_list headers) {
  recorded_request rec;
  rec.connection_id = r.connection_id;
  rec.stream_id = r.stream_id;
  rec.method = r.method;
  rec.device_token = std::move(token);
  rec.status = status;
  rec.received_at = r.received_at;
  decision d;
  d.status = status;
  d.headers = std::move(headers);
  d.record = std::move(rec);
  return d;
}

// A fault from the queues, answered instead of validating; nullopt = validate.
// `slow` faults (status 200) validate and keep their delay in `delay`.
std::optional<decision> apply_fault(server_core& core, recorded_request& rec, std::chrono::milliseconds& delay) {
  auto fault = core.take_fault(rec.device_token);
  if (!fault) return std::nullopt;
  delay = fault->delay;
  if (fault->what != mock_fault::action::respond) return transport_fault(*fault, std::move(rec));
  if (fault->status == 200) return std::nullopt;
  decision d = answer(fault->status);
  if (!fault->reason.empty()) d.headers.emplace_back("x-wns-error-description", fault->reason);
  if (fault->retry_after_seconds) d.headers.emplace_back("retry-after", std::to_string(*fault->retry_after_seconds));
  d.delay = fault->delay;
  rec.status = fault->status;
  rec.reason = fault->reason.empty() ? "fault " + std::to_string(fault->status) : fault->reason;
  d.record = std::move(rec);
  return d;
}

// A validated request: the fault queued for its token answers instead (a
// slow one delays), else `validate(reason)`; recorded either way.
template <class Validate>
decision checked(server_core& core, const incoming_request& r, std::string token, Validate validate) {
  recorded_request rec = record_of(r, std::move(token));
  std::chrono::milliseconds delay{0};
  if (auto faulted = apply_fault(core, rec, delay)) return std::move(*faulted);
  decision d = validate(rec.reason);
  d.delay = delay;
  rec.status = d.status;
  d.record = std::move(rec);
  return d;
}

}  // namespace

// ------------------------------------------------------------------ WNS

class wns_handler final : public protocol_handler {
 public:
  explicit wns_handler(server_core& core, mock_wns_options options) : core_(core), options_(std::move(options)) {
    lifetime_s = options_.token_lifetime.count();
  }
  bool allow_http1() const override { return true; }
  bool allow_h2() const override { return options_.http2; }

  decision handle(const incoming_request& r, connection_state&) override {
    if (r.path == "/token") return handle_token(r);
    return handle_send(r);
  }

  std::atomic<std::size_t> token_requests{0};
  std::atomic<std::size_t> tokens_issued{0};
  std::atomic<std::int64_t> lifetime_s{86'400};

  void expire_tokens() {
    std::lock_guard lock(mu_);
    tokens_.clear();
  }
  void fail_next_token_requests(std::size_t n, const mock_fault& f) { token_faults_.add(n, f); }

 private:
  static decision oauth_error(int status, const std::string& error) {
    return answer(status, boost::json::serialize(boost::json::object{{"error", error}}), "application/json");
  }

  decision handle_token(const incoming_request& r) {
    token_requests.fetch_add(1);
    if (auto f = token_faults_.take()) {
      decision d = oauth_error(f->status, f->reason.empty() ? "temporarily_unavailable" : f->reason);
      d.delay = f->delay;
      return d;
    }
    if (r.method != "POST") return oauth_error(405, "invalid_request");
    if (r.header("content-type").find("application/x-www-form-urlencoded") != 0)
      return oauth_error(400, "invalid_request");
    auto form = parse_form(r.body);
    if (form["grant_type"] != "client_credentials") return oauth_error(400, "unsupported_grant_type");
    if (form["client_id"] != options_.client_id || form["client_secret"] != options_.client_secret)
      return oauth_error(401, "invalid_client");
    if (form["scope"] != options_.scope) return oauth_error(400, "invalid_scope");
    std::string token = "EgAcAQMAAAAALYAAY/c+Huwi3Fv4Ck10UrKNmtxRO6Njk2MgA=" + random_hex(12);
    {
      std::lock_guard lock(mu_);
      tokens_.insert(token);
    }
    tokens_issued.fetch_add(1);
    return answer(200,
                  boost::json::serialize(boost::json::object{
                      {"token_type", "bearer"}, {"access_token", token}, {"expires_in", lifetime_s.load()}}),
                  "application/json");
  }

  decision handle_send(const incoming_request& r) {
    constexpr std::string_view prefix = "/w/?token=";
    std::string channel = r.path.starts_with(prefix) ? url_decode(r.path.substr(prefix.size())) : std::string();
    if (!options_.validate)
      return unchecked(r, std::move(channel), 200,
                       {{"x-wns-status", "received"}, {"x-wns-deviceconnectionstatus", "connected"},
                        {"x-wns-msg-id", "0000000000000000"}});
    return checked(core_, r, channel, [&](std::string& reason) { return validate(r, channel, reason); });
  }

  decision validate(const incoming_request& r, const std::string& channel, std::string& reason) {
    auto fail = [&](int status, std::string why) {
      reason = why;
      decision d = answer(status);
      d.headers.emplace_back("x-wns-error-description", std::move(why));
      d.headers.emplace_back("x-wns-status", "dropped");
      return d;
    };
    if (channel.empty() || r.method != "POST") return fail(404, "channel not found");
    std::string auth = r.header("authorization");
    bool token_ok = false;
    if (auth.rfind("Bearer ", 0) == 0) {
      std::lock_guard lock(mu_);
      token_ok = tokens_.count(auth.substr(7)) > 0;
    }
    if (!token_ok) return fail(401, "token invalid or expired");
    const std::string type = r.header("x-wns-type");
    const std::string content_type = r.header("content-type");
    if (type != "wns/toast" && type != "wns/tile" && type != "wns/badge" && type != "wns/raw")
      return fail(400, "X-WNS-Type missing or invalid");
    if (type == "wns/raw" ? content_type != "application/octet-stream" : content_type.rfind("text/xml", 0) != 0)
      return fail(400, "Content-Type does not match X-WNS-Type");
    if (r.body_size > 5000) return fail(413, "payload exceeds 5000 bytes");
    if (type == "wns/toast") {
      pugi::xml_document doc;
      auto parsed = doc.load_buffer(r.body.data(), r.body.size());
      if (!parsed) return fail(400, std::string("toast XML is not well-formed: ") + parsed.description());
      auto toast = doc.document_element();
      if (std::string_view(toast.name()) != "toast" || !toast.child("visual").child("binding").child("text"))
        return fail(400, "toast XML lacks toast/visual/binding/text");
    }
    decision d = answer(200);
    d.headers.emplace_back("x-wns-status", "received");
    d.headers.emplace_back("x-wns-deviceconnectionstatus", "connected");
    d.headers.emplace_back("x-wns-msg-id", random_hex(8));
    return d;
  }

  server_core& core_;
  const mock_wns_options options_;
  std::mutex mu_;  // guards tokens_
  std::set<std::string> tokens_;
  fault_queue token_faults_;
};

// ------------------------------------------------------------------ Web Push

class webpush_handler final : public protocol_handler {
 public:
  webpush_handler(server_core& core, mock_webpush_options options)
      : core_(core), options_(std::move(options)) {
    auto point = base64url_decode(options_.vapid_public_key);
    if (!point || !is_valid_p256_point(*point)) throw std::runtime_error("mock_webpush: vapid_public_key is not a P-256 point");
  }
  bool allow_http1() const override { return true; }
  bool allow_h2() const override { return options_.http2; }
  void on_bound(unsigned short port) override {
    origin_ = "https://127.0.0.1:" + std::to_string(port);
    location_ = origin_ + "/m/0";
  }

  const std::string& origin() const { return origin_; }

  std::string subscribe(const std::string& id) {
    auto key = std::make_shared<p256_key>(p256_key::generate());
    std::string auth = random_hex(16);  // 32 hex digits: 16 bytes
    std::string auth_bytes;
    for (std::size_t i = 0; i < auth.size(); i += 2)
      auth_bytes.push_back(static_cast<char>(std::stoi(auth.substr(i, 2), nullptr, 16)));
    std::string p256dh = herald::base64url_encode(key->public_point());
    {
      std::lock_guard lock(mu_);
      subs_[id] = subscription{key, auth_bytes, {}};
    }
    return boost::json::serialize(boost::json::object{
        {"endpoint", origin_ + "/push/" + id},
        {"expirationTime", nullptr},
        {"keys", boost::json::object{{"p256dh", p256dh}, {"auth", herald::base64url_encode(auth_bytes)}}}});
  }

  std::vector<std::string> messages_for(const std::string& id) const {
    std::lock_guard lock(mu_);
    auto it = subs_.find(id);
    return it == subs_.end() ? std::vector<std::string>{} : it->second.messages;
  }

  std::atomic<std::size_t> vapid_failures{0};
  std::atomic<std::size_t> decrypt_failures{0};

  decision handle(const incoming_request& r, connection_state&) override {
    constexpr std::string_view prefix = "/push/";
    std::string id = r.path.starts_with(prefix) ? r.path.substr(prefix.size()) : std::string();
    if (!options_.validate) return unchecked(r, std::move(id), 201, {{"location", location_}});
    return checked(core_, r, id, [&](std::string& reason) { return validate(r, id, reason); });
  }

 private:
  struct subscription {
    std::shared_ptr<p256_key> key;
    std::string auth;
    std::vector<std::string> messages;
  };

  decision validate(const incoming_request& r, const std::string& id, std::string& reason) {
    auto fail = [&](int status, std::string why) {
      reason = why;
      return answer(status, boost::json::serialize(boost::json::object{{"code", status}, {"message", why}}),
                    "application/json");
    };
    std::shared_ptr<p256_key> key;
    std::string auth;
    {
      std::lock_guard lock(mu_);
      auto it = subs_.find(id);
      if (it == subs_.end()) return fail(404, "subscription not found");
      key = it->second.key;
      auth = it->second.auth;
    }
    if (r.method != "POST") return fail(405, "method not allowed");
    // Authorization: vapid t=<jwt>, k=<key>
    std::string authz = r.header("authorization");
    std::string t, k;
    if (authz.rfind("vapid ", 0) == 0) {
      std::string_view rest = std::string_view(authz).substr(6);
      while (!rest.empty()) {
        auto comma = rest.find(',');
        std::string_view part = rest.substr(0, comma);
        while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
        if (part.starts_with("t=")) t = std::string(part.substr(2));
        if (part.starts_with("k=")) k = std::string(part.substr(2));
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    }
    if (t.empty() || k.empty()) {
      vapid_failures.fetch_add(1);
      return fail(401, "missing vapid authorization");
    }
    if (k != options_.vapid_public_key) {
      vapid_failures.fetch_add(1);
      return fail(403, "k is not the application server key of this subscription");
    }
    auto point = base64url_decode(k);
    std::string problem = check_vapid_jwt(t, point.value_or(""), origin_, unix_now());
    if (!problem.empty()) {
      vapid_failures.fetch_add(1);
      return fail(403, "invalid VAPID JWT: " + problem);
    }
    std::string ttl = r.header("ttl");
    if (ttl.empty() || !std::all_of(ttl.begin(), ttl.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return fail(400, "TTL header missing or not a number");
    if (r.header("content-encoding") != "aes128gcm") return fail(400, "Content-Encoding must be aes128gcm");
    if (auto u = r.find("urgency"); u && *u != "very-low" && *u != "low" && *u != "normal" && *u != "high")
      return fail(400, "invalid Urgency");
    if (auto topic = r.find("topic")) {
      bool ok = !topic->empty() && topic->size() <= 32 && std::all_of(topic->begin(), topic->end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
      });
      if (!ok) return fail(400, "invalid Topic");
    }
    if (r.body_size > 4096) return fail(413, "payload too large");
    auto plain = webpush_decrypt(r.body, *key, auth);
    if (!plain) {
      decrypt_failures.fetch_add(1);
      return fail(400, "body does not decrypt with the subscription keys");
    }
    {
      std::lock_guard lock(mu_);
      subs_[id].messages.push_back(*plain);
    }
    decision d = answer(201);
    d.headers.emplace_back("location", origin_ + "/m/" + random_hex(8));
    return d;
  }

  server_core& core_;
  const mock_webpush_options options_;
  std::string origin_;
  std::string location_;  // the Location of every answer when not validating
  mutable std::mutex mu_;
  std::unordered_map<std::string, subscription> subs_;
};

namespace {
std::unique_ptr<server_core> make_wns_core(mock_wns_options options) {
  const auto settings = tls_settings(options.cert_file, options.key_file, options.port);
  return start_core<wns_handler>(settings, std::move(options));
}
std::unique_ptr<server_core> make_webpush_core(mock_webpush_options options) {
  const auto settings = tls_settings(options.cert_file, options.key_file, options.port);
  return start_core<webpush_handler>(settings, std::move(options));
}
wns_handler& wns(server_core& core) { return static_cast<wns_handler&>(core.handler()); }
webpush_handler& webpush(server_core& core) { return static_cast<webpush_handler&>(core.handler()); }
}  // namespace
}  // namespace detail

mock_wns_options mock_wns_options::from(const test_pki& pki) {
  mock_wns_options o;
  o.cert_file = pki.server_cert_file;
  o.key_file = pki.server_key_file;
  return o;
}

mock_wns_server::mock_wns_server(mock_wns_options options) : mock_push_server(detail::make_wns_core(std::move(options))) {}
std::string mock_wns_server::token_endpoint() const { return endpoint() + "/token"; }
std::string mock_wns_server::channel_uri(const std::string& channel) const { return endpoint() + "/w/?token=" + channel; }
std::size_t mock_wns_server::token_requests() const { return detail::wns(*core_).token_requests.load(); }
std::size_t mock_wns_server::tokens_issued() const { return detail::wns(*core_).tokens_issued.load(); }
void mock_wns_server::expire_access_tokens() { detail::wns(*core_).expire_tokens(); }
void mock_wns_server::fail_next_token_requests(std::size_t n, const mock_fault& f) {
  detail::wns(*core_).fail_next_token_requests(n, f);
}

mock_webpush_server::mock_webpush_server(mock_webpush_options options)
    : mock_push_server(detail::make_webpush_core(std::move(options))) {}
std::string mock_webpush_server::subscribe(const std::string& id) { return detail::webpush(*core_).subscribe(id); }
std::vector<std::string> mock_webpush_server::messages_for(const std::string& id) const {
  return detail::webpush(*core_).messages_for(id);
}
std::size_t mock_webpush_server::vapid_failures() const { return detail::webpush(*core_).vapid_failures.load(); }
std::size_t mock_webpush_server::decrypt_failures() const { return detail::webpush(*core_).decrypt_failures.load(); }

}  // namespace herald::test
