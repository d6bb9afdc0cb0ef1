// REST ForeignSystem agent: POST /api/v1/Agents/ForeignSystem/<Method>
// (the CRM's ForeignSystem operations, docs/API.md). JSON or WebAPI-XML bodies, JSON or XML answers.
#include <boost/beast/http/field.hpp>

#include "api/common/agent_value.hpp"
#include "api/foreign_system/foreign_system_agent.hpp"
#include "api/foreign_system/foreign_system_routes.hpp"
#include "api/server/http_helpers.hpp"
#include "api/server/route_module.hpp"
#include "api/soap/soap_codec.hpp"

namespace herald {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

constexpr std::string_view foreign_prefix = "/api/v1/agents/foreignsystem/";

class foreign_system_routes final : public route_module {
 public:
  foreign_system_routes(const authenticator& auth, foreign_system_agent& agent) : auth_(auth), agent_(agent) {}

  asio::awaitable<std::optional<api_response>> handle(api_request& req, const std::string& path, std::string& route_name) override {
    if (path.rfind(foreign_prefix, 0) != 0) co_return std::nullopt;
    // The operation names are the SOAP service's (one list for both).
    auto op = soap_operation(soap_service{soap_agent::foreign_system, 88}, path.substr(foreign_prefix.size()));
    if (!op) co_return std::nullopt;
    route_name = "foreignsystem." + *op;
    auto media = negotiate_accept(req[http::field::accept]);
    if (!media)
      co_return error_response({406, "NotAcceptable", "cannot produce any of Accept: " + std::string(req[http::field::accept]) +
                                                          " (application/json, text/json, application/xml, text/xml)"},
                               media_type::json);
    if (req.method() != http::verb::post)
      co_return error_response({405, "MethodNotAllowed", "ForeignSystem agent methods are called with POST"}, *media);
    auto who = authorize(auth_, req, "");
    if (auto* e = std::get_if<api_error>(&who)) co_return error_response(*e, *media);
    auto body = agent_body_json(req, true);
    if (auto* e = std::get_if<api_error>(&body)) co_return error_response(*e, *media);
    auto res = co_await agent_.call(*op, std::get<principal>(who), std::get<std::string>(body));
    if (auto* e = std::get_if<api_error>(&res)) co_return error_response(*e, *media);
    const auto& value = std::get<std::optional<agent_value>>(res);
    if (!value) co_return make_response(http::status::no_content, {}, {});
    if (*media == media_type::xml) co_return make_response(http::status::ok, encode_value_xml(*value), "application/xml; charset=utf-8");
    co_return make_response(http::status::ok, encode_value_json(*value), "application/json; charset=utf-8");
  }

 private:
  const authenticator& auth_;
  foreign_system_agent& agent_;
};

}  // namespace

std::unique_ptr<route_module> make_foreign_system_routes(const authenticator& auth, foreign_system_agent& agent) {
  return std::make_unique<foreign_system_routes>(auth, agent);
}

}  // namespace herald
