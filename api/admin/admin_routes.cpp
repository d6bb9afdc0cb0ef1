// Admin REST routes (docs/API.md, "Admin"): the delivery trace of a device or
// an appointment and the dead-letter stream (list, show, replay, purge),
// through the same code as `herald trace` and `herald deadletter`
// (store/delivery_trace, broker/redis/dead_letters). Only a service credential
// with admin.read (reads) or admin.write (replay, purge) gets in
// (authz::admin_decision).
#include <boost/beast/http/field.hpp>

#include <chrono>
#include <tuple>
#include <variant>

#include "api/admin/admin_routes.hpp"
#include "api/admin/admin_codec.hpp"
#include "api/access/authorization.hpp"
#include "api/server/http_helpers.hpp"
#include "api/server/route_module.hpp"
#include "broker/redis/dead_letters.hpp"
#include "model/text.hpp"
#include "runtime/log.hpp"
#include "store/delivery_trace.hpp"

namespace herald {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

constexpr std::string_view admin_prefix = "/api/v1/admin/";
constexpr std::string_view deliveries_suffix = "/deliveries";
constexpr std::string_view deadletters_path = "/api/v1/admin/deadletters";
constexpr std::string_view replay_suffix = "/replay";

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

api_response json_ok(std::string body) { return make_response(http::status::ok, std::move(body), "application/json; charset=utf-8"); }

class admin_routes final : public route_module {
 public:
  admin_routes(const authenticator& auth, logger& log, std::shared_ptr<redis_client> redis, std::string key_prefix)
      : auth_(auth), log_(log), redis_(std::move(redis)), key_prefix_(std::move(key_prefix)), dead_letters_(redis_, key_prefix_) {}

  asio::awaitable<std::optional<api_response>> handle(api_request& req, const std::string& path, std::string& route_name) override {
    if (!path.starts_with(admin_prefix)) co_return std::nullopt;
    // Ids keep their case: cut them from the original path (same length).
    std::string raw(target_path(req.target()));
    if (raw.size() > 1 && raw.back() == '/') raw.pop_back();
    const auto media = media_type::json;

    // /api/v1/admin/devices/{id}/deliveries, /api/v1/admin/appointments/{id}/deliveries
    for (auto [kind, segment, label] : {std::tuple{"device", std::string_view("devices/"), "admin.device_deliveries"},
                                        std::tuple{"alarm", std::string_view("appointments/"), "admin.appointment_deliveries"}}) {
      const auto head = std::string(admin_prefix) + std::string(segment);
      if (!path.starts_with(head) || !path.ends_with(deliveries_suffix) || path.size() <= head.size() + deliveries_suffix.size()) continue;
      route_name = label;
      if (req.method() != http::verb::get) co_return method_not_allowed(route_name, "use GET");
      if (auto refusal = admit(req, authz::admin_access::read)) co_return std::move(*refusal);
      const auto id = raw.substr(head.size(), raw.size() - head.size() - deliveries_suffix.size());
      const auto subject = trace_subject(kind, id);
      if (!subject) co_return error_response({400, "ArgumentException", "a device or appointment id is required"}, media);
      auto [ec, events] = co_await read_delivery_trace(*redis_, key_prefix_, *subject);
      if (ec) co_return error_response(store_error(ec), media);
      co_return json_ok(encode_delivery_trace(*subject, events));
    }

    if (path == deadletters_path) {
      if (req.method() == http::verb::get) {
        route_name = "admin.deadletters.list";
        if (auto refusal = admit(req, authz::admin_access::read)) co_return std::move(*refusal);
        auto page = co_await matching_dead_letters(req, media);
        if (auto* refusal = std::get_if<api_response>(&page)) co_return std::move(*refusal);
        const auto& found = std::get<dead_letter_store::page>(page);
        co_return json_ok(encode_dead_letters(found.entries, found.examined));
      }
      if (req.method() == http::verb::delete_) {
        route_name = "admin.deadletters.purge";
        if (auto refusal = admit(req, authz::admin_access::write)) co_return std::move(*refusal);
        auto before = query_parameter(req.target(), "before");
        auto min_id = before ? purge_min_id(*before, wall_ms()) : std::nullopt;
        if (!min_id) co_return error_response({400, "ArgumentException", "before must be an age (7d) or an entry id"}, media);
        auto n = co_await dead_letters_.purge(*min_id);
        if (!n) co_return error_response(store_error(n.error()), media);
        auto p = std::get<principal>(authorize(auth_, req, ""));
        log_.notice("deadletter.purged").kv("credential", p.name).kv("before", *min_id).kv("entries", static_cast<long long>(*n));
        co_return json_ok("{\"purged\":" + std::to_string(*n) + ",\"before\":\"" + *min_id + "\"}");
      }
      route_name = "admin.deadletters.method_not_allowed";
      co_return error_response({405, "MethodNotAllowed", "use GET or DELETE"}, media);
    }

    const auto entries_head = std::string(deadletters_path) + "/";
    if (!path.starts_with(entries_head)) co_return std::nullopt;
    const auto rest = raw.substr(entries_head.size());
    // POST /api/v1/admin/deadletters/replay: every entry matching the filter.
    if (to_lower(rest) == replay_suffix.substr(1)) {
      route_name = "admin.deadletters.replay_matching";
      if (req.method() != http::verb::post) co_return method_not_allowed(route_name, "use POST");
      if (auto refusal = admit(req, authz::admin_access::write)) co_return std::move(*refusal);
      auto page = co_await matching_dead_letters(req, media);
      if (auto* refusal = std::get_if<api_response>(&page)) co_return std::move(*refusal);
      const auto& found = std::get<dead_letter_store::page>(page);
      std::string results;
      std::size_t replayed = 0;
      for (const auto& e : found.entries) {
        auto r = co_await dead_letters_.replay(e.id);
        if (!r) co_return error_response(store_error(r.error()), media);
        if (!r->refused) ++replayed;
        if (!results.empty()) results += ",";
        results += replay_json(e.id, *r);
      }
      log_replays(req, replayed, found.entries.size() - replayed);
      co_return json_ok("{\"replayed\":" + std::to_string(replayed) + ",\"refused\":" + std::to_string(found.entries.size() - replayed) +
                        ",\"results\":[" + results + "]}");
    }
    // POST /api/v1/admin/deadletters/{id}/replay
    if (to_lower(rest).ends_with(replay_suffix) && rest.size() > replay_suffix.size()) {
      route_name = "admin.deadletters.replay";
      if (req.method() != http::verb::post) co_return method_not_allowed(route_name, "use POST");
      if (auto refusal = admit(req, authz::admin_access::write)) co_return std::move(*refusal);
      const auto id = rest.substr(0, rest.size() - replay_suffix.size());
      auto r = co_await dead_letters_.replay(id);
      if (!r) co_return error_response(store_error(r.error()), media);
      log_replays(req, r->refused ? 0 : 1, r->refused ? 1 : 0);
      if (!r->refused) co_return json_ok(replay_json(id, *r));
      switch (*r->refused) {
        case replay_refusal::not_found: co_return error_response({404, "SoNotFoundException", "no dead letter " + id}, media);
        case replay_refusal::already_replayed:
          co_return error_response({409, "SoConflictException", "dead letter " + id + " was already replayed as work entry " + r->work_id}, media);
        case replay_refusal::device_gone:
          co_return error_response({409, "SoConflictException", "the device of dead letter " + id + " is no longer registered"}, media);
        case replay_refusal::not_a_delivery:
        case replay_refusal::malformed:
          co_return error_response({409, "SoConflictException", "dead letter " + id + " cannot be replayed: " + std::string(to_string(*r->refused))}, media);
      }
    }
    // GET /api/v1/admin/deadletters/{id}
    if (rest.find('/') == std::string::npos) {
      route_name = "admin.deadletters.show";
      if (req.method() != http::verb::get) co_return method_not_allowed(route_name, "use GET");
      if (auto refusal = admit(req, authz::admin_access::read)) co_return std::move(*refusal);
      auto entry = co_await dead_letters_.get(rest);
      if (!entry) co_return error_response(store_error(entry.error()), media);
      if (!*entry) co_return error_response({404, "SoNotFoundException", "no dead letter " + rest}, media);
      co_return json_ok(encode_dead_letter(**entry));
    }
    co_return std::nullopt;
  }

 private:
  // The dead letters the request's filter (query string) selects, or the
  // answer to give instead (400 for a bad filter, the store's error).
  asio::awaitable<std::variant<api_response, dead_letter_store::page>> matching_dead_letters(const api_request& req, media_type media) {
    auto q = decode_dead_letter_query(req.target());
    if (auto* e = std::get_if<api_error>(&q)) co_return error_response(*e, media);
    auto& query = std::get<dead_letter_query>(q);
    if (query.since_age_ms) query.filter.since_ms = wall_ms() - *query.since_age_ms;
    auto page = co_await dead_letters_.list(query.filter, query.limit);
    if (!page) co_return error_response(store_error(page.error()), media);
    co_return std::move(*page);
  }

  // nullopt when `req` may use an admin route of `access`; else the refusal.
  std::optional<api_response> admit(const api_request& req, authz::admin_access access) {
    auto who = authorize(auth_, req, "");
    if (auto* e = std::get_if<api_error>(&who)) return error_response(*e, media_type::json);
    const auto& p = std::get<principal>(who);
    switch (authz::admin_decision(p, access)) {
      case authz::admin_verdict::allow: return std::nullopt;
      case authz::admin_verdict::missing_scope:
        return error_response({403, "SoAccessDeniedException",
                               "credential '" + p.name + "' lacks the scope " + std::string(authz::admin_scope(access))},
                              media_type::json);
      case authz::admin_verdict::bound_credential:
        return error_response({403, "SoAccessDeniedException",
                               "credential '" + p.name + "' acts for one associate; admin routes need a service credential"},
                              media_type::json);
    }
    return error_response({403, "SoAccessDeniedException", "refused"}, media_type::json);
  }

  static api_response method_not_allowed(std::string& route_name, const std::string& text) {
    route_name = "admin.method_not_allowed";
    return error_response({405, "MethodNotAllowed", text}, media_type::json);
  }

  static std::string replay_json(const std::string& id, const dead_letter_store::replay_result& r) {
    std::string out = "{\"id\":\"" + id + "\",\"replayed\":" + (r.refused ? "false" : "true");
    if (r.refused) out += ",\"refused\":\"" + std::string(to_string(*r.refused)) + "\"";
    if (!r.work_id.empty()) out += ",\"work_id\":\"" + r.work_id + "\"";
    return out + "}";
  }

  void log_replays(const api_request& req, std::size_t replayed, std::size_t refused) {
    auto who = authorize(auth_, req, "");
    const std::string name = std::holds_alternative<principal>(who) ? std::get<principal>(who).name : "?";
    log_.notice("deadletter.replayed")
        .kv("credential", name)
        .kv("replayed", static_cast<unsigned long long>(replayed))
        .kv("refused", static_cast<unsigned long long>(refused));
  }

  const authenticator& auth_;
  logger& log_;
  std::shared_ptr<redis_client> redis_;
  std::string key_prefix_;
  dead_letter_store dead_letters_;
};

}  // namespace

std::unique_ptr<route_module> make_admin_routes(const authenticator& auth, logger& log, std::shared_ptr<redis_client> redis,
                                                std::string key_prefix) {
  return std::make_unique<admin_routes>(auth, log, std::move(redis), std::move(key_prefix));
}

}  // namespace herald
