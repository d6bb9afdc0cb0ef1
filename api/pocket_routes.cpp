// REST Pocket agent: /api/v1/Agents/Pocket/<Method> (seeds 000, 001).
#include <boost/beast/http/field.hpp>

#include "api/http_helpers.hpp"
#include "api/pocket_codec.hpp"
#include "api/route_module.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "store/device_registry.hpp"

namespace herald {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

constexpr std::string_view pocket_prefix = "/api/v1/agents/pocket/";

class pocket_routes final : public route_module {
 public:
  explicit pocket_routes(api_context& ctx)
      : ctx_(ctx),
        devices_registered_(ctx.metrics.get_counter("herald_devices_registered_total", "Successful device registrations")),
        devices_moved_(ctx.metrics.get_counter("herald_devices_moved_total", "Registrations that moved a device to another associate")) {}

  asio::awaitable<std::optional<http_response>> handle(http_request& req, const std::string& path, std::string& route_name) override {
    if (path.rfind(pocket_prefix, 0) != 0) co_return std::nullopt;
    auto method = path.substr(pocket_prefix.size());
    auto media = negotiate_accept(req[http::field::accept]);
    if (!media)
      co_return error_response({406, "NotAcceptable", "cannot produce any of Accept: " + std::string(req[http::field::accept]) +
                                                          " (application/json, text/json, application/xml, text/xml)"},
                               media_type::json);
    if (req.method() != http::verb::post) {
      route_name = "pocket.method_not_allowed";
      co_return error_response({405, "MethodNotAllowed", "Pocket agent methods are called with POST"}, *media);
    }
    if (method == "registerdeviceforpushnotification") {
      route_name = "pocket.RegisterDeviceForPushNotification";
      co_return co_await register_device(req, *media);
    }
    if (method == "getregistereddevices") {
      route_name = "pocket.GetRegisteredDevices";
      co_return co_await get_registered_devices(req, *media);
    }
    co_return std::nullopt;
  }

 private:
  asio::awaitable<http_response> register_device(http_request& req, media_type media) {
    auto who = authorize(ctx_.auth, req, "devices.write");
    if (auto* e = std::get_if<api_error>(&who)) co_return error_response(*e, media);
    const auto& p = std::get<principal>(who);
    if (auto e = check_json_body(req, true)) co_return error_response(*e, media);
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
    r.device.registered_at_ms = unix_ms_now();
    auto res = co_await ctx_.devices.upsert(r.device);
    if (!res) {
      ctx_.log.warning("device.register_failed").kv("device", shorten_token(r.device.device_identifier)).kv("error", res.error().message());
      co_return error_response(store_error(res.error()), media);
    }
    devices_registered_.inc();
    auto previous = *res;
    if (previous && *previous != r.device.associate_id) {
      devices_moved_.inc();
      ctx_.log.info("device.moved")
          .kv("device", shorten_token(r.device.device_identifier))
          .kv("from_associate", static_cast<long long>(*previous))
          .kv("to_associate", static_cast<long long>(r.device.associate_id));
    }
    ctx_.log.info("device.registered")
        .kv("device", shorten_token(r.device.device_identifier))
        .kv("associate", static_cast<long long>(r.device.associate_id))
        .kv("platform", to_string(r.device.platform))
        .kv("credential", p.name);
    co_return make_response(http::status::no_content, {}, {});
  }

  asio::awaitable<http_response> get_registered_devices(http_request& req, media_type media) {
    auto who = authorize(ctx_.auth, req, "devices.read");
    if (auto* e = std::get_if<api_error>(&who)) co_return error_response(*e, media);
    const auto& p = std::get<principal>(who);
    if (auto e = check_json_body(req, false)) co_return error_response(*e, media);
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
    auto res = co_await ctx_.devices.list_by_associate(*associate);
    if (!res) co_return error_response(store_error(res.error()), media);
    if (media == media_type::xml) co_return make_response(http::status::ok, encode_devices_xml(*res, select), "application/xml; charset=utf-8");
    co_return make_response(http::status::ok, encode_devices_json(*res, select), "application/json; charset=utf-8");
  }

  api_context& ctx_;
  counter& devices_registered_;
  counter& devices_moved_;
};

}  // namespace

std::unique_ptr<route_module> make_pocket_routes(api_context& ctx) { return std::make_unique<pocket_routes>(ctx); }

}  // namespace herald
