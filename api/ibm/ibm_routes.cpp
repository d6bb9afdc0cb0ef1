// IBM MobileFirst push: /imfpush/v1/apps/{applicationId}/{devices,subscriptions,messages}
// (IBM MobileFirst Foundation's push REST API as Herald re-implements it: docs/IBM-PUSH.md).
//
// Order of checks on every request: route (404), method (405 + Allow),
// Accept (406), credentials (401), operation scope and
// push.application.<applicationId> (403), applicationId (400), Content-Type
// of POST/PUT (405, as IBM documents it), body (400), then the store (404,
// 500). Errors are {"code":...,"message":...}; a store failure, Redis down
// included, is a 500 as in IBM's table.
#include <boost/beast/http/field.hpp>
#include <boost/url/parse.hpp>

#include "api/access/authorization.hpp"
#include "api/server/http_helpers.hpp"
#include "api/ibm/ibm_agent.hpp"
#include "api/ibm/ibm_codec.hpp"
#include "api/ibm/ibm_routes.hpp"
#include "api/server/route_module.hpp"
#include "model/text.hpp"

namespace herald {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

constexpr std::string_view ibm_path_prefix = "/imfpush/v1/apps/";
constexpr std::string_view json_type = "application/json; charset=utf-8";

api_response ibm_error(const api_error& e) {
  auto res = make_response(static_cast<http::status>(e.status), encode_ibm_error(e), json_type);
  if (e.status == 401) res.set(http::field::www_authenticate, "Bearer realm=\"imfpush\"");
  return res;
}

api_response ibm_json(http::status status, std::string body) { return make_response(status, std::move(body), json_type); }

api_error not_found(std::string message) { return api_error{404, "NotFound", std::move(message)}; }
// The resource a request names.
enum class ibm_resource { devices, device, subscriptions, messages };

struct ibm_target {
  ibm_resource resource = ibm_resource::devices;
  std::string app;
  std::string device_id;  // ibm_resource::device
};

// Parses the raw (percent-decoded, case-preserving) path; nullopt if it
// names no IBM resource.
std::optional<ibm_target> parse_target(std::string_view target) {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return std::nullopt;
  std::vector<std::string> segs;
  for (auto s : parsed->segments()) segs.emplace_back(s);
  if (!segs.empty() && segs.back().empty()) segs.pop_back();
  if (segs.size() < 5 || segs.size() > 6) return std::nullopt;
  ibm_target t;
  t.app = segs[3];
  auto resource = to_lower(segs[4]);
  if (resource == "devices") {
    t.resource = segs.size() == 6 ? ibm_resource::device : ibm_resource::devices;
    if (segs.size() == 6) t.device_id = segs[5];
    return t;
  }
  if (segs.size() == 6) return std::nullopt;
  if (resource == "subscriptions") t.resource = ibm_resource::subscriptions;
  else if (resource == "messages") t.resource = ibm_resource::messages;
  else return std::nullopt;
  return t;
}

class ibm_routes final : public route_module {
 public:
  ibm_routes(const authenticator& auth, ibm_agent& agent) : auth_(auth), agent_(agent) {}

  asio::awaitable<std::optional<api_response>> handle(api_request& req, const std::string& path,
                                                       std::string& route_name) override {
    if (path.rfind(ibm_path_prefix, 0) != 0) co_return std::nullopt;
    auto target = parse_target(target_path(req.target()));
    if (!target) {
      route_name = "ibm.unmatched";
      co_return ibm_error(not_found("no such resource: " + std::string(target_path(req.target()))));
    }
    auto verb = req.method();
    std::string_view allow;
    std::string_view scope;
    switch (target->resource) {
      case ibm_resource::devices:
        route_name = "ibm.devices";
        allow = "GET, POST";
        if (verb == http::verb::get) scope = "devices.read";
        else if (verb == http::verb::post) scope = "devices.write";
        break;
      case ibm_resource::device:
        route_name = "ibm.device";
        allow = "GET, PUT, DELETE";
        if (verb == http::verb::get) scope = "devices.read";
        else if (verb == http::verb::put || verb == http::verb::delete_) scope = "devices.write";
        break;
      case ibm_resource::subscriptions:
        route_name = "ibm.subscriptions";
        allow = "GET, POST, DELETE";
        if (verb == http::verb::get) scope = "subscriptions.read";
        else if (verb == http::verb::post || verb == http::verb::delete_) scope = "subscriptions.write";
        break;
      case ibm_resource::messages:
        route_name = "ibm.messages";
        allow = "POST";
        if (verb == http::verb::post) scope = "messages.write";
        break;
    }
    if (scope.empty()) {
      auto res = ibm_error({405, "MethodNotAllowed", "use " + std::string(allow)});
      res.set(http::field::allow, allow);
      co_return res;
    }
    if (!ibm_accepts_json(req[http::field::accept]))
      co_return ibm_error({406, "UnsupportedAcceptType", "Accept '" + std::string(req[http::field::accept]) +
                                                             "' does not allow application/json"});
    auto who = authorize(auth_, req, scope);
    if (auto* e = std::get_if<api_error>(&who))
      co_return ibm_error({e->status, e->status == 401 ? "Unauthorized" : "Forbidden", e->message});
    const auto& p = std::get<principal>(who);
    std::string app_scope = "push.application." + target->app;
    if (!p.has_scope(app_scope))
      co_return ibm_error({403, "Forbidden", "credential '" + p.name + "' lacks scope " + app_scope});
    if (!valid_ibm_app_id(target->app))
      co_return ibm_error({400, "BadRequest", "applicationId must be 1..128 of A-Z a-z 0-9 . _ -"});
    if ((verb == http::verb::post || verb == http::verb::put) &&
        !ibm_is_json_content_type(req[http::field::content_type]))
      co_return ibm_error({405, "UnsupportedContentType", "Content-Type '" + std::string(req[http::field::content_type]) +
                                                              "' is not application/json"});
    if (target->resource == ibm_resource::device) {
      if (auto e = check_ibm_device_id(target->device_id)) co_return ibm_error(*e);
    }

    switch (target->resource) {
      case ibm_resource::devices:
        if (verb == http::verb::post) co_return co_await post_device(req, target->app, p);
        co_return co_await list_devices(req, target->app, p);
      case ibm_resource::device:
        if (verb == http::verb::get) co_return co_await get_device(target->app, target->device_id, p);
        if (verb == http::verb::put) co_return co_await put_device(req, target->app, target->device_id, p);
        co_return co_await delete_device(target->app, target->device_id, p);
      case ibm_resource::subscriptions:
        if (verb == http::verb::post) co_return co_await post_subscription(req, target->app, p);
        if (verb == http::verb::delete_) co_return co_await delete_subscription(req, target->app, p);
        co_return co_await list_subscriptions(req, target->app, p);
      case ibm_resource::messages: co_return co_await post_message(req, target->app, p);
    }
    co_return std::nullopt;
  }

 private:
  // The agent's answer as IBM's JSON: `status` with the encoded value, or the error.
  template <typename T, typename Encode>
  static api_response answer(const decoded<T>& res, http::status status, Encode encode) {
    if (auto* e = std::get_if<api_error>(&res)) return ibm_error(*e);
    return ibm_json(status, encode(std::get<T>(res)));
  }

  asio::awaitable<api_response> post_device(api_request& req, const std::string& app, const principal& p) {
    auto dec = decode_ibm_device_registration(req.body());
    if (auto* e = std::get_if<api_error>(&dec)) co_return ibm_error(*e);
    bool existed = false;
    auto res = co_await agent_.register_device(app, p, std::get<ibm_device_registration>(dec), existed);
    co_return answer(res, http::status::created, encode_ibm_registration);
  }

  asio::awaitable<api_response> get_device(const std::string& app, const std::string& device_id, const principal& p) {
    auto res = co_await agent_.get_device(app, device_id, p);
    co_return answer(res, http::status::ok, encode_ibm_registration);
  }

  asio::awaitable<api_response> put_device(api_request& req, const std::string& app, const std::string& device_id,
                                            const principal& p) {
    auto dec = decode_ibm_device_update(req.body(), device_id);
    if (auto* e = std::get_if<api_error>(&dec)) co_return ibm_error(*e);
    auto res = co_await agent_.update_device(app, device_id, p, std::get<ibm_device_update>(dec));
    co_return answer(res, http::status::ok, encode_ibm_registration);
  }

  asio::awaitable<api_response> delete_device(const std::string& app, const std::string& device_id, const principal& p) {
    auto res = co_await agent_.delete_device(app, device_id, p);
    if (auto* e = std::get_if<api_error>(&res)) co_return ibm_error(*e);
    co_return make_response(http::status::no_content, {}, {});
  }

  asio::awaitable<api_response> list_devices(api_request& req, const std::string& app, const principal& p) {
    auto filter = query_parameter(req.target(), "filter");
    auto user = query_parameter(req.target(), "userId");
    auto dec = decode_ibm_device_query(filter, user, query_parameter(req.target(), "offset"),
                                       query_parameter(req.target(), "size"));
    if (auto* e = std::get_if<api_error>(&dec)) co_return ibm_error(*e);
    const auto& q = std::get<ibm_device_query>(dec);
    auto res = co_await agent_.list_devices(app, p, q);
    if (auto* e = std::get_if<api_error>(&res)) co_return ibm_error(*e);
    const auto& page = std::get<ibm_page<device_info>>(res);
    std::vector<std::pair<std::string, std::string>> params;
    if (filter) params.emplace_back("filter", *filter);
    if (user) params.emplace_back("userId", *user);
    auto info = make_ibm_page_info("/imfpush/v1/apps/" + app + "/devices", params, q.offset, q.size,
                                   page.items.size(), page.total);
    co_return ibm_json(http::status::ok, encode_ibm_device_list(page.items, info));
  }

  asio::awaitable<api_response> post_subscription(api_request& req, const std::string& app, const principal& p) {
    auto dec = decode_ibm_subscription(req.body());
    if (auto* e = std::get_if<api_error>(&dec)) co_return ibm_error(*e);
    auto res = co_await agent_.subscribe(app, p, std::get<ibm_subscription>(dec));
    co_return answer(res, http::status::created, encode_ibm_subscription);
  }

  asio::awaitable<api_response> delete_subscription(api_request& req, const std::string& app, const principal& p) {
    auto device_id = query_parameter(req.target(), "deviceId");
    auto tag = query_parameter(req.target(), "tagName");
    if (auto e = check_ibm_device_id(device_id.value_or(""))) co_return ibm_error(*e);
    if (auto e = check_ibm_tag_name(tag.value_or(""))) co_return ibm_error(*e);
    auto res = co_await agent_.unsubscribe(app, p, *device_id, *tag);
    if (auto* e = std::get_if<api_error>(&res)) co_return ibm_error(*e);
    co_return make_response(http::status::no_content, {}, {});
  }

  asio::awaitable<api_response> list_subscriptions(api_request& req, const std::string& app, const principal& p) {
    ibm_subscription_filter f{query_parameter(req.target(), "deviceId"), query_parameter(req.target(), "tagName"),
                              query_parameter(req.target(), "userId")};
    for (auto* v : {&f.device_id, &f.tag, &f.user_id})
      if (*v && (*v)->empty()) v->reset();
    auto paging = decode_ibm_paging(query_parameter(req.target(), "offset"), query_parameter(req.target(), "size"));
    if (auto* e = std::get_if<api_error>(&paging)) co_return ibm_error(*e);
    auto [offset, size] = std::get<std::pair<std::size_t, std::size_t>>(paging);
    auto res = co_await agent_.list_subscriptions(app, p, f, offset, size);
    if (auto* e = std::get_if<api_error>(&res)) co_return ibm_error(*e);
    const auto& page = std::get<ibm_page<ibm_subscription_view>>(res);
    std::vector<std::pair<std::string, std::string>> params;
    if (f.device_id) params.emplace_back("deviceId", *f.device_id);
    if (f.tag) params.emplace_back("tagName", *f.tag);
    if (f.user_id) params.emplace_back("userId", *f.user_id);
    auto info = make_ibm_page_info("/imfpush/v1/apps/" + app + "/subscriptions", params, offset, size, page.items.size(),
                                   page.total);
    co_return ibm_json(http::status::ok, encode_ibm_subscription_list(page.items, info));
  }

  asio::awaitable<api_response> post_message(api_request& req, const std::string& app, const principal& p) {
    auto dec = decode_ibm_message(req.body());
    if (auto* e = std::get_if<api_error>(&dec)) co_return ibm_error(*e);
    const auto& m = std::get<ibm_message_request>(dec);
    auto res = co_await agent_.send_message(app, p, m);
    if (auto* e = std::get_if<api_error>(&res)) co_return ibm_error(*e);
    co_return ibm_json(http::status::accepted, encode_ibm_message_accepted(m.message_json, std::get<std::string>(res)));
  }

  const authenticator& auth_;
  ibm_agent& agent_;
};

}  // namespace

std::unique_ptr<route_module> make_ibm_routes(const authenticator& auth, ibm_agent& agent) {
  return std::make_unique<ibm_routes>(auth, agent);
}

}  // namespace herald
