// SOAP endpoints of the Pocket and ForeignSystem agents (docs/API.md):
// POST /Remote/Services84/ForeignSystem.svc, /Remote/Services87/Pocket.svc,
// /Remote/Services88/Pocket.svc, /Remote/Services88/ForeignSystem.svc, and
// GET <endpoint>?wsdl. Decoding and encoding are in soap_codec (pure); the
// operations in pocket_agent / foreign_system_agent, shared with REST.
//
// Every error is a SOAP Fault in the request's SOAP version with HTTP 500
// (SOAP 1.1 section 6.2); ExceptionType tells them apart (e.g.
// SoAuthenticationException, SoAccessDeniedException, ArgumentException,
// SerializationException, ServiceUnavailable for a broker not wired).
#include <boost/beast/http/field.hpp>

#include "api/foreign_system/foreign_system_agent.hpp"
#include "api/server/http_helpers.hpp"
#include "api/pocket/pocket_agent.hpp"
#include "api/soap/soap_routes.hpp"
#include "api/server/route_module.hpp"
#include "api/soap/soap_codec.hpp"
#include "model/text.hpp"
#include "runtime/log.hpp"

namespace herald {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

class soap_routes final : public route_module {
 public:
  soap_routes(const authenticator& auth, logger& log, pocket_agent& pocket, foreign_system_agent& foreign)
      : auth_(auth), log_(log), pocket_(pocket), foreign_(foreign) {}

  asio::awaitable<std::optional<api_response>> handle(api_request& req, const std::string& path, std::string& route_name) override {
    auto svc = soap_service_for_path(path);
    if (!svc) co_return std::nullopt;
    std::string agent = svc->agent == soap_agent::pocket ? "Pocket" : "ForeignSystem";
    auto query = to_lower(req.target().substr(std::min(req.target().size(), req.target().find('?'))));
    if (req.method() == http::verb::get || req.method() == http::verb::head) {
      if (query == "?wsdl" || query == "?singlewsdl" || query.rfind("?wsdl&", 0) == 0) {
        route_name = "soap." + agent + ".wsdl";
        std::string host(req[http::field::host]);
        if (host.empty()) host = "localhost";
        co_return make_response(http::status::ok, generate_wsdl(*svc, "http://" + host + svc->path()), "text/xml; charset=utf-8");
      }
      route_name = "soap.method_not_allowed";
      auto res = make_response(http::status::method_not_allowed, "SOAP endpoint: POST an envelope, or GET " + svc->path() + "?wsdl\n",
                               "text/plain; charset=utf-8");
      res.set(http::field::allow, "POST, GET");
      co_return res;
    }
    if (req.method() != http::verb::post) {
      route_name = "soap.method_not_allowed";
      auto res = make_response(http::status::method_not_allowed, {}, {});
      res.set(http::field::allow, "POST, GET");
      co_return res;
    }
    route_name = "soap." + agent + ".invalid";
    auto content_type = to_lower(req[http::field::content_type]);
    auto fault_version = content_type.find("application/soap+xml") != std::string::npos ? soap_version::soap12 : soap_version::soap11;
    auto media = content_type.substr(0, content_type.find(';'));
    while (!media.empty() && media.back() == ' ') media.pop_back();
    if (media != "text/xml" && media != "application/soap+xml" && media != "application/xml")
      co_return fault(fault_version, *svc, {415, "UnsupportedMediaType", "Content-Type must be text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2)"});

    auto decoded_req = decode_soap_request(req.body(), req[http::field::content_type], req["SOAPAction"]);
    if (auto* f = std::get_if<soap_decode_failure>(&decoded_req)) {
      log_.info("soap.rejected").kv("service", svc->path()).kv("error", f->error.message);
      co_return fault(f->version, *svc, f->error);
    }
    auto& sreq = std::get<soap_request>(decoded_req);
    auto op = soap_operation(*svc, sreq.operation);
    if (!op)
      co_return fault(sreq.version, *svc,
                      {404, "SoNotFoundException", "the " + agent + " agent (" + svc->path() + ") has no operation " + sreq.operation});
    route_name = "soap." + agent + "." + *op;

    if (!auth_.application_token_ok(sreq.application_token.value_or("")))
      co_return fault(sreq.version, *svc, {401, "SoAuthenticationException", "ApplicationToken missing or not valid"});
    auto outcome = sreq.ticket ? auth_.authenticate_token(*sreq.ticket) : auth_.authenticate(req[http::field::authorization]);
    switch (outcome.status) {
      case auth_status::ok: break;
      case auth_status::missing:
        co_return fault(sreq.version, *svc, {401, "SoAuthenticationException", "credentials required: Credentials/Ticket in the SOAP header"});
      case auth_status::malformed:
      case auth_status::invalid: co_return fault(sreq.version, *svc, {401, "SoAuthenticationException", "invalid credentials"});
    }

    // (No co_await inside ?: : GCC 12 miscompiles it.)
    decoded<std::optional<agent_value>> res;
    if (svc->agent == soap_agent::pocket) res = co_await pocket_.call(*op, outcome.who, sreq.parameters_json);
    else res = co_await foreign_.call(*op, outcome.who, sreq.parameters_json);
    if (auto* e = std::get_if<api_error>(&res)) co_return fault(sreq.version, *svc, *e);
    const auto& value = std::get<std::optional<agent_value>>(res);
    co_return make_response(http::status::ok, encode_soap_response(sreq.version, *svc, *op, value ? &*value : nullptr),
                            soap_content_type(sreq.version));
  }

 private:
  static api_response fault(soap_version v, const soap_service& svc, const api_error& e) {
    return make_response(http::status::internal_server_error, encode_soap_fault(v, svc, e), soap_content_type(v));
  }

  const authenticator& auth_;
  logger& log_;
  pocket_agent& pocket_;
  foreign_system_agent& foreign_;
};

}  // namespace

std::unique_ptr<route_module> make_soap_routes(const authenticator& auth, logger& log, pocket_agent& pocket,
                                               foreign_system_agent& foreign) {
  return std::make_unique<soap_routes>(auth, log, pocket, foreign);
}

}  // namespace herald
