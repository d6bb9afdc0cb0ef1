#pragma once
// Shared pieces of every route module: responses, errors, authorization.
#include <boost/beast/http/status.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "api/common/api_error.hpp"
#include "api/access/auth.hpp"
#include "api/server/http_server.hpp"
#include "api/common/negotiation.hpp"

namespace boost::system {
class error_code;
}

namespace herald {

api_response make_response(boost::beast::http::status status, std::string body, std::string_view content_type);
// The WebAPI error body in JSON or XML; 401 adds WWW-Authenticate, 503 Retry-After.
api_response error_response(const api_error& e, media_type media);
// A store failure for the caller: Redis unavailable is 503, never 500.
api_error store_error(const boost::system::error_code& ec);
// Authenticates the Authorization header and checks `scope` ("" = any credential).
decoded<principal> authorize(const authenticator& auth, const api_request& req, std::string_view scope);
// 415 unless the body is JSON (an empty body without Content-Type passes when not required).
std::optional<api_error> check_json_body(const api_request& req, bool body_required);
// The body of a Pocket/ForeignSystem REST call as JSON text: JSON passes
// through, an application/xml or text/xml body (WebAPI style: root element
// named after the request, one child per property) is converted with
// xml_request_to_json. 415 for other types; an empty body gives "" when not required.
decoded<std::string> agent_body_json(const api_request& req, bool body_required);
std::int64_t unix_ms_now();

}  // namespace herald
