#include "api/server/http_helpers.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>

#include "api/pocket/pocket_codec.hpp"
#include "api/soap/soap_codec.hpp"
#include "store/redis_client.hpp"

namespace herald {

namespace http = boost::beast::http;

api_response make_response(http::status status, std::string body, std::string_view content_type) {
  api_response res{status, 11};
  if (!body.empty() || status == http::status::ok) res.set(http::field::content_type, content_type);
  res.body() = std::move(body);
  return res;
}

api_response error_response(const api_error& e, media_type media) {
  auto status = static_cast<http::status>(e.status);
  auto res = media == media_type::xml ? make_response(status, encode_error_xml(e), "application/xml; charset=utf-8")
                                      : make_response(status, encode_error_json(e), "application/json; charset=utf-8");
  if (e.status == 401) res.set(http::field::www_authenticate, "Bearer realm=\"herald\", SOTicket realm=\"herald\"");
  if (e.status == 503) res.set(http::field::retry_after, "1");
  return res;
}

api_error store_error(const boost::system::error_code& ec) {
  if (ec.category() == redis_category() && static_cast<redis_error>(ec.value()) != redis_error::server_error &&
      static_cast<redis_error>(ec.value()) != redis_error::unexpected_reply)
    return api_error{503, "ServiceUnavailable", "store unavailable: " + ec.message()};
  return api_error{500, "StoreException", "store error: " + ec.message()};
}

decoded<principal> authorize(const authenticator& auth, const api_request& req, std::string_view scope) {
  auto outcome = auth.authenticate(req[http::field::authorization]);
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

std::optional<api_error> check_json_body(const api_request& req, bool body_required) {
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

decoded<std::string> agent_body_json(const api_request& req, bool body_required) {
  auto ct = req[http::field::content_type];
  if (ct.empty()) {
    if (!body_required && req.body().empty()) return std::string();
    return api_error{415, "UnsupportedMediaType", "Content-Type must be application/json, text/json, application/xml or text/xml"};
  }
  auto m = request_media_type(ct);
  if (!m)
    return api_error{415, "UnsupportedMediaType",
                     "Content-Type '" + std::string(ct) + "' is not supported; use application/json, text/json, application/xml or text/xml"};
  if (*m == media_type::json) return req.body();
  if (!body_required && req.body().find_first_not_of(" \t\r\n") == std::string::npos) return std::string();
  return xml_request_to_json(req.body());
}

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace herald
