// The CRM's appointment feed: PUT/GET/DELETE /api/v1/appointments/{id}.
// A credential bound to an associate reaches only the appointments it takes
// part in (AssociateIds); any other answers 404 like an unknown id, and it
// stores none without its own associate (api/authorization).
#include <boost/beast/http/field.hpp>

#include "api/appointments/appointment_codec.hpp"
#include "api/access/authorization.hpp"
#include "api/server/http_helpers.hpp"
#include "api/server/route_module.hpp"
#include "api/appointments/appointment_routes.hpp"
#include "api/server/broker_gateway.hpp"
#include "runtime/log.hpp"

#include <span>

namespace herald {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

constexpr std::string_view prefix = "/api/v1/appointments/";

class appointment_routes final : public route_module {
 public:
  appointment_routes(const authenticator& auth, logger& log, broker_gateway* broker)
      : auth_(auth), log_(log), broker_(broker) {}

  asio::awaitable<std::optional<api_response>> handle(api_request& req, const std::string& path, std::string& route_name) override {
    if (path.rfind(prefix, 0) != 0) co_return std::nullopt;
    // The id keeps its case: take it from the original target.
    auto raw = target_path(req.target());
    std::string id(raw.substr(prefix.size()));
    if (!id.empty() && id.back() == '/') id.pop_back();
    auto media = media_type::json;
    if (!negotiate_accept(req[http::field::accept]) || negotiate_accept(req[http::field::accept]) != media_type::json)
      co_return error_response({406, "NotAcceptable", "appointments are served as application/json"}, media);
    if (!broker_) co_return error_response({503, "ServiceUnavailable", "the alarm broker is not running"}, media);
    switch (req.method()) {
      case http::verb::put: {
        route_name = "appointments.put";
        auto who = authorize(auth_, req, "appointments.write");
        if (auto* e = std::get_if<api_error>(&who)) co_return error_response(*e, media);
        if (auto e = check_json_body(req, true)) co_return error_response(*e, media);
        auto decoded_req = decode_appointment_request(req.body(), id);
        if (auto* e = std::get_if<api_error>(&decoded_req)) co_return error_response(*e, media);
        auto& a = std::get<appointment>(decoded_req);
        const auto& p = std::get<principal>(who);
        auto existing = co_await broker_->get_appointment(id);
        if (!existing) co_return error_response(store_error(existing.error()), media);
        std::optional<std::span<const std::int64_t>> participants;
        if (*existing) participants = std::span<const std::int64_t>((*existing)->associate_ids);
        switch (authz::appointment_write(p, participants, a.associate_ids)) {
          case authz::appointment_verdict::allow: break;
          case authz::appointment_verdict::hidden: co_return unknown(id, media);
          case authz::appointment_verdict::must_participate:
            co_return error_response({403, "SoAccessDeniedException", "credential '" + p.name + "' acts as associate " +
                                                                          std::to_string(*p.associate_id) +
                                                                          ", which must be among AssociateIds"},
                                     media);
        }
        auto r = co_await broker_->put_appointment(a);
        if (!r) co_return error_response(store_error(r.error()), media);
        a.revision = r->revision;
        log_.info("appointment.put")
            .kv("appointment", a.id)
            .kv("credential", p.name)
            .kv("revision", static_cast<long long>(r->revision))
            .kv("rearmed", r->rearmed)
            .kv("due", a.has_alarm ? format_iso8601(a.start - a.lead_time) : std::string("none"));
        auto res = make_response(r->created ? http::status::created : http::status::ok, encode_appointment_response(a),
                                 "application/json; charset=utf-8");
        co_return res;
      }
      case http::verb::get: {
        route_name = "appointments.get";
        auto who = authorize(auth_, req, "appointments.read");
        if (auto* e = std::get_if<api_error>(&who)) co_return error_response(*e, media);
        auto r = co_await broker_->get_appointment(id);
        if (!r) co_return error_response(store_error(r.error()), media);
        if (!*r || authz::appointment_read(std::get<principal>(who), (*r)->associate_ids) != authz::appointment_verdict::allow)
          co_return unknown(id, media);
        co_return make_response(http::status::ok, encode_appointment_response(**r), "application/json; charset=utf-8");
      }
      case http::verb::delete_: {
        route_name = "appointments.delete";
        auto who = authorize(auth_, req, "appointments.write");
        if (auto* e = std::get_if<api_error>(&who)) co_return error_response(*e, media);
        auto existing = co_await broker_->get_appointment(id);
        if (!existing) co_return error_response(store_error(existing.error()), media);
        if (!*existing ||
            authz::appointment_delete(std::get<principal>(who), (*existing)->associate_ids) != authz::appointment_verdict::allow)
          co_return unknown(id, media);
        auto r = co_await broker_->delete_appointment(id);
        if (!r) co_return error_response(store_error(r.error()), media);
        if (!*r) co_return unknown(id, media);
        log_.info("appointment.deleted").kv("appointment", id).kv("credential", std::get<principal>(who).name);
        co_return make_response(http::status::no_content, {}, {});
      }
      default:
        route_name = "appointments.method_not_allowed";
        co_return error_response({405, "MethodNotAllowed", "use PUT, GET or DELETE"}, media);
    }
  }

 private:
  static api_response unknown(const std::string& id, media_type media) {
    return error_response({404, "SoNotFoundException", "no appointment " + id}, media);
  }

  const authenticator& auth_;
  logger& log_;
  broker_gateway* broker_;
};

}  // namespace

std::unique_ptr<route_module> make_appointment_routes(const authenticator& auth, logger& log, broker_gateway* broker) {
  return std::make_unique<appointment_routes>(auth, log, broker);
}

}  // namespace herald
