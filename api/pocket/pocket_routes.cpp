// REST Pocket agent: POST /api/v1/Agents/Pocket/<Method> (docs/API.md).
// JSON or WebAPI-XML bodies; JSON or XML answers by Accept. The operations
// themselves (scopes, ownership, I/O) are in pocket_agent, shared with SOAP.
#include <boost/beast/http/field.hpp>

#include "api/common/agent_value.hpp"
#include "api/server/http_helpers.hpp"
#include "api/pocket/pocket_agent.hpp"
#include "api/pocket/pocket_routes.hpp"
#include "api/pocket/pocket_codec.hpp"
#include "api/server/route_module.hpp"

namespace herald {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

constexpr std::string_view pocket_prefix = "/api/v1/agents/pocket/";

api_response no_content() { return make_response(http::status::no_content, {}, {}); }

class pocket_routes final : public route_module {
 public:
  pocket_routes(const authenticator& auth, pocket_agent& agent) : auth_(auth), agent_(agent) {}

  asio::awaitable<std::optional<api_response>> handle(api_request& req, const std::string& path, std::string& route_name) override {
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
    for (const auto& m : methods_) {
      if (method != m.lowercase) continue;
      route_name = std::string("pocket.") + m.name;
      auto who = authorize(auth_, req, "");
      if (auto* e = std::get_if<api_error>(&who)) co_return error_response(*e, *media);
      auto body = agent_body_json(req, m.body_required);
      if (auto* e = std::get_if<api_error>(&body)) co_return error_response(*e, *media);
      auto res = co_await (this->*m.call)(std::get<principal>(who), std::get<std::string>(body), req, *media);
      if (auto* e = std::get_if<api_error>(&res)) co_return error_response(*e, *media);
      co_return std::move(std::get<api_response>(res));
    }
    co_return std::nullopt;
  }

 private:
  using result = decoded<api_response>;
  using handler = asio::awaitable<result> (pocket_routes::*)(const principal&, const std::string&, const api_request&, media_type);
  struct method_entry {
    const char* name;
    const char* lowercase;
    bool body_required;
    handler call;
  };

  asio::awaitable<result> register_device(const principal& p, const std::string& body, const api_request&, media_type) {
    auto r = decode_register_device(body);
    if (auto* e = std::get_if<api_error>(&r)) co_return *e;
    auto res = co_await agent_.register_device(p, std::move(std::get<register_device_request>(r)));
    if (auto* e = std::get_if<api_error>(&res)) co_return *e;
    co_return no_content();
  }

  asio::awaitable<result> registered_devices(const principal& p, const std::string& body, const api_request& req, media_type media) {
    auto r = decode_associate_request(body);
    if (auto* e = std::get_if<api_error>(&r)) co_return *e;
    auto res = co_await agent_.registered_devices(p, std::get<std::optional<std::int64_t>>(r));
    if (auto* e = std::get_if<api_error>(&res)) co_return *e;
    field_selection select;
    if (auto s = query_parameter(req.target(), "$select")) select = parse_select(*s);
    const auto& devices = std::get<std::vector<device_info>>(res);
    if (media == media_type::xml) co_return make_response(http::status::ok, encode_devices_xml(devices, select), "application/xml; charset=utf-8");
    co_return make_response(http::status::ok, encode_devices_json(devices, select), "application/json; charset=utf-8");
  }

  asio::awaitable<result> set_device_tags(const principal& p, const std::string& body, const api_request&, media_type) {
    auto r = decode_device_tags(body);
    if (auto* e = std::get_if<api_error>(&r)) co_return *e;
    auto res = co_await agent_.set_device_tags(p, std::get<device_tags_request>(r));
    if (auto* e = std::get_if<api_error>(&res)) co_return *e;
    co_return no_content();
  }

  asio::awaitable<result> set_user_tags(const principal& p, const std::string& body, const api_request&, media_type) {
    auto r = decode_user_tags(body);
    if (auto* e = std::get_if<api_error>(&r)) co_return *e;
    auto res = co_await agent_.set_user_tags(p, std::get<user_tags_request>(r));
    if (auto* e = std::get_if<api_error>(&res)) co_return *e;
    co_return no_content();
  }

  asio::awaitable<result> device_tags(const principal& p, const std::string& body, const api_request&, media_type media) {
    auto r = decode_device_identifier_request(body);
    if (auto* e = std::get_if<api_error>(&r)) co_return *e;
    auto res = co_await agent_.device_tags(p, std::get<std::string>(r));
    if (auto* e = std::get_if<api_error>(&res)) co_return *e;
    auto v = agent_value::string(std::get<std::string>(res));
    if (media == media_type::xml) co_return make_response(http::status::ok, encode_value_xml(v), "application/xml; charset=utf-8");
    co_return make_response(http::status::ok, encode_value_json(v), "application/json; charset=utf-8");
  }

  asio::awaitable<result> send_push(const principal& p, const std::string& body, const api_request&, media_type) {
    auto r = decode_send_push(body);
    if (auto* e = std::get_if<api_error>(&r)) co_return *e;
    auto res = co_await agent_.send_push(p, std::move(std::get<push_message>(r)));
    if (auto* e = std::get_if<api_error>(&res)) co_return *e;
    co_return no_content();
  }

  asio::awaitable<result> run_broker(const principal& p, const std::string&, const api_request&, media_type) {
    auto res = co_await agent_.run_alarm_broker(p);
    if (auto* e = std::get_if<api_error>(&res)) co_return *e;
    co_return no_content();
  }

  static constexpr method_entry methods_[] = {
      {"RegisterDeviceForPushNotification", "registerdeviceforpushnotification", true, &pocket_routes::register_device},
      {"GetRegisteredDevices", "getregistereddevices", false, &pocket_routes::registered_devices},
      {"SetPushNotificationTagsForDevice", "setpushnotificationtagsfordevice", true, &pocket_routes::set_device_tags},
      {"SetPushNotificationTagsForUser", "setpushnotificationtagsforuser", true, &pocket_routes::set_user_tags},
      {"GetPushNotificationTagsForDevice", "getpushnotificationtagsfordevice", true, &pocket_routes::device_tags},
      {"SendPushNotification", "sendpushnotification", true, &pocket_routes::send_push},
      {"RunAppointmentAlarmBroker", "runappointmentalarmbroker", false, &pocket_routes::run_broker},
  };

  const authenticator& auth_;
  pocket_agent& agent_;
};

}  // namespace

std::unique_ptr<route_module> make_pocket_routes(const authenticator& auth, pocket_agent& agent) {
  return std::make_unique<pocket_routes>(auth, agent);
}

}  // namespace herald
