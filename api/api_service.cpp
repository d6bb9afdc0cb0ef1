#include "api/api_service.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>

#include "api/api_error.hpp"
#include "api/auth.hpp"
#include "api/negotiation.hpp"
#include "api/pocket_codec.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "store/device_registry.hpp"
#include "store/redis_client.hpp"

namespace herald {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

http_response make_response(http::status status, std::string body, std::string_view content_type) {
  http_response res{status, 11};
  if (!body.empty() || status == http::status::ok) res.set(http::field::content_type, content_type);
  res.body() = std::move(body);
  return res;
}

http_response error_response(const api_error& e, media_type media) {
  auto status = static_cast<http::status>(e.status);
  auto res = media == media_type::xml ? make_response(status, encode_error_xml(e), "application/xml; charset=utf-8")
                                      : make_response(status, encode_error_json(e), "application/json; charset=utf-8");
  if (e.status == 401) res.set(http::field::www_authenticate, "Bearer realm=\"herald\", SOTicket realm=\"herald\"");
  if (e.status == 503) res.set(http::field::retry_after, "1");
  return res;
}

// Maps a store failure to the caller's error (Redis down is 503, never 500).
api_error store_error(const boost::system::error_code& ec) {
  if (ec.category() == redis_category() && static_cast<redis_error>(ec.value()) != redis_error::server_error &&
      static_cast<redis_error>(ec.value()) != redis_error::unexpected_reply)
    return api_error{503, "ServiceUnavailable", "device store unavailable: " + ec.message()};
  return api_error{500, "StoreException", "device store error: " + ec.message()};
}

enum class route_id { register_device, get_registered_devices, healthz, readyz, metrics, pocket_unavailable, not_found };

struct route_def {
  std::string_view method;
  std::string_view path;  // lowercase
  route_id id;
  std::string_view name;  // metrics label
};

constexpr route_def routes[] = {
    {"POST", "/api/v1/agents/pocket/registerdeviceforpushnotification", route_id::register_device, "pocket.RegisterDeviceForPushNotification"},
    {"POST", "/api/v1/agents/pocket/getregistereddevices", route_id::get_registered_devices, "pocket.GetRegisteredDevices"},
    {"GET", "/healthz", route_id::healthz, "healthz"},
    {"GET", "/readyz", route_id::readyz, "readyz"},
    {"GET", "/metrics", route_id::metrics, "metrics"},
};

}  // namespace

struct api_service::impl {
  explicit impl(api_context c)
      : ctx(std::move(c)),
        latency(ctx.metrics.get_histogram("herald_http_request_duration_seconds", "HTTP request handling time")),
        devices_registered(ctx.metrics.get_counter("herald_devices_registered_total", "Successful device registrations")),
        devices_moved(ctx.metrics.get_counter("herald_devices_moved_total", "Registrations that moved a device to another associate")),
        devices_gauge(ctx.metrics.get_gauge("herald_registered_devices", "Devices in the registry (refreshed on scrape)")) {}

  api_context ctx;
  histogram& latency;
  counter& devices_registered;
  counter& devices_moved;
  gauge& devices_gauge;

  void count(std::string_view route, unsigned status) {
    ctx.metrics
        .get_counter("herald_http_requests_total", "HTTP requests by route and status",
                     {{"route", std::string(route)}, {"status", std::to_string(status)}})
        .inc();
  }

  // Authenticates and checks `scope`; returns the principal or the 401/403 error.
  decoded<principal> authorize(const http_request& req, std::string_view scope) {
    auto outcome = ctx.auth.authenticate(req[http::field::authorization]);
    switch (outcome.status) {
      case auth_status::missing: return api_error{401, "SoAuthenticationException", "credentials required: Authorization: Bearer <token> or SOTicket <token>"};
      case auth_status::malformed: return api_error{401, "SoAuthenticationException", "unsupported Authorization header: use Bearer or SOTicket"};
      case auth_status::invalid: return api_error{401, "SoAuthenticationException", "invalid credentials"};
      case auth_status::ok: break;
    }
    if (!scope.empty() && !outcome.who.has_scope(scope))
      return api_error{403, "SoAccessDeniedException", "credential '" + outcome.who.name + "' lacks scope " + std::string(scope)};
    return std::move(outcome.who);
  }

  std::optional<api_error> check_body_type(const http_request& req, bool body_required) {
    auto ct = req[http::field::content_type];
    if (ct.empty()) {
      if (!body_required && req.body().empty()) return std::nullopt;
      return api_error{415, "UnsupportedMediaType", "Content-Type must be application/json"};
    }
    auto m = request_media_type(ct);
    if (!m || *m != media_type::json)
      return api_error{415, "UnsupportedMediaType", "Content-Type '" + std::string(ct) + "' is not supported; use application/json"};
    return std::nullopt;
  }

  asio::awaitable<http_response> register_device(http_request& req, media_type media) {
    auto who = authorize(req, "devices.write");
    if (auto* e = std::get_if<api_error>(&who)) co_return error_response(*e, media);
    const auto& p = std::get<principal>(who);
    if (auto e = check_body_type(req, true)) co_return error_response(*e, media);
    auto decoded_req = decode_register_device(req.body());
    if (auto* e = std::get_if<api_error>(&decoded_req)) co_return error_response(*e, media);
    auto& r = std::get<register_device_request>(decoded_req);
    // The owner: the credential's associate, or AssociateId from the body for
    // a service credential that acts for no associate.
    if (p.associate_id) {
      if (r.associate_id && *r.associate_id != *p.associate_id)
        co_return error_response({403, "SoAccessDeniedException", "credential '" + p.name + "' acts as associate " +
                                                                     std::to_string(*p.associate_id) + " and cannot register for another"},
                                 media);
      r.device.associate_id = *p.associate_id;
    } else if (r.associate_id) {
      r.device.associate_id = *r.associate_id;
    } else {
      co_return error_response({400, "ArgumentException", "AssociateId is required: this credential acts for no associate"}, media);
    }
    r.device.registered_at_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    auto res = co_await ctx.devices.upsert(r.device);
    if (!res) {
      ctx.log.warning("device.register_failed").kv("device", shorten_token(r.device.device_identifier)).kv("error", res.error().message());
      co_return error_response(store_error(res.error()), media);
    }
    devices_registered.inc();
    auto previous = *res;
    if (previous && *previous != r.device.associate_id) {
      devices_moved.inc();
      ctx.log.info("device.moved")
          .kv("device", shorten_token(r.device.device_identifier))
          .kv("from_associate", static_cast<long long>(*previous))
          .kv("to_associate", static_cast<long long>(r.device.associate_id));
    }
    ctx.log.info("device.registered")
        .kv("device", shorten_token(r.device.device_identifier))
        .kv("associate", static_cast<long long>(r.device.associate_id))
        .kv("platform", to_string(r.device.platform))
        .kv("credential", p.name);
    co_return make_response(http::status::no_content, {}, {});
  }

  asio::awaitable<http_response> get_registered_devices(http_request& req, media_type media) {
    auto who = authorize(req, "devices.read");
    if (auto* e = std::get_if<api_error>(&who)) co_return error_response(*e, media);
    const auto& p = std::get<principal>(who);
    if (auto e = check_body_type(req, false)) co_return error_response(*e, media);
    auto decoded_req = decode_associate_request(req.body());
    if (auto* e = std::get_if<api_error>(&decoded_req)) co_return error_response(*e, media);
    auto associate = std::get<std::optional<std::int64_t>>(decoded_req);
    if (!associate) associate = p.associate_id;
    if (!associate) co_return error_response({400, "ArgumentException", "AssociateId is required"}, media);
    if (p.associate_id && *associate != *p.associate_id)
      co_return error_response({403, "SoAccessDeniedException", "credential '" + p.name + "' may only list associate " +
                                                                   std::to_string(*p.associate_id) + "'s devices"},
                               media);
    field_selection select;
    if (auto s = query_parameter(req.target(), "$select")) select = parse_select(*s);
    auto res = co_await ctx.devices.list_by_associate(*associate);
    if (!res) co_return error_response(store_error(res.error()), media);
    if (media == media_type::xml) co_return make_response(http::status::ok, encode_devices_xml(*res, select), "application/xml; charset=utf-8");
    co_return make_response(http::status::ok, encode_devices_json(*res, select), "application/json; charset=utf-8");
  }

  std::vector<readiness_check> readiness() {
    std::vector<readiness_check> checks;
    checks.push_back({"redis", ctx.redis->connected(), ctx.redis->connected() ? "" : ctx.redis->last_error()});
    if (ctx.extra_readiness)
      for (auto& c : ctx.extra_readiness()) checks.push_back(std::move(c));
    return checks;
  }

  asio::awaitable<http_response> readyz() {
    auto checks = readiness();
    bool ready = std::all_of(checks.begin(), checks.end(), [](const auto& c) { return c.ok; });
    json::object body;
    body["status"] = ready ? "ready" : "not ready";
    json::object deps;
    for (const auto& c : checks) {
      json::object d;
      d["ok"] = c.ok;
      if (!c.ok) d["reason"] = c.reason.empty() ? "unavailable" : c.reason;
      deps[c.name] = std::move(d);
    }
    body["checks"] = std::move(deps);
    co_return make_response(ready ? http::status::ok : http::status::service_unavailable, json::serialize(body),
                            "application/json; charset=utf-8");
  }

  asio::awaitable<http_response> metrics() {
    if (ctx.redis->connected()) {
      auto n = co_await ctx.devices.count();
      if (n) devices_gauge.set(static_cast<double>(*n));
    }
    co_return make_response(http::status::ok, ctx.metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
  }

  asio::awaitable<http_response> dispatch(http_request& req, std::string_view& route_name) {
    auto path = lower(target_path(req.target()));
    if (path.size() > 1 && path.back() == '/') path.pop_back();
    const route_def* match = nullptr;
    bool path_known = false;
    for (const auto& r : routes) {
      if (r.path != path) continue;
      path_known = true;
      if (r.method == req.method_string()) match = &r;
    }
    if (!match) {
      if (path_known) {
        route_name = "method_not_allowed";
        co_return error_response({405, "MethodNotAllowed", "method " + std::string(req.method_string()) + " not allowed on " + path}, media_type::json);
      }
      route_name = "unmatched";
      co_return error_response({404, "SoNotFoundException", "no such route: " + std::string(target_path(req.target()))}, media_type::json);
    }
    route_name = match->name;
    switch (match->id) {
      case route_id::healthz: co_return make_response(http::status::ok, R"({"status":"alive"})", "application/json");
      case route_id::readyz: co_return co_await readyz();
      case route_id::metrics: co_return co_await metrics();
      default: break;
    }
    auto media = negotiate_accept(req[http::field::accept]);
    if (!media)
      co_return error_response({406, "NotAcceptable", "cannot produce any of Accept: " + std::string(req[http::field::accept]) +
                                                          " (application/json, text/json, application/xml, text/xml)"},
                               media_type::json);
    switch (match->id) {
      case route_id::register_device: co_return co_await register_device(req, *media);
      case route_id::get_registered_devices: co_return co_await get_registered_devices(req, *media);
      default: co_return error_response({501, "NotImplemented", "not available yet"}, *media);
    }
  }
};

api_service::api_service(api_context ctx) : impl_(std::make_unique<impl>(std::move(ctx))) {}
api_service::~api_service() = default;

asio::awaitable<http_response> api_service::handle(http_request& req) {
  auto start = std::chrono::steady_clock::now();
  std::string_view route = "unmatched";
  http_response res;
  try {
    res = co_await impl_->dispatch(req, route);
  } catch (const std::exception& e) {
    impl_->ctx.log.err("http.handler_failed").kv("route", route).kv("error", e.what());
    res = error_response({500, "InternalError", "internal error"}, media_type::json);
  }
  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  impl_->latency.observe(elapsed);
  impl_->count(route, res.result_int());
  co_return res;
}

}  // namespace herald
