#pragma once
// Pure SOAP 1.1/1.2 and WebAPI-XML handling for the Pocket and ForeignSystem
// agents (the CRM's SOAP envelopes, docs/API.md): request decoding, response/fault encoding and
// the WSDL. No I/O. pugixml stays inside soap_codec.cpp.
//
// Untrusted XML: documents with a DOCTYPE or an entity declaration are refused
// outright (no DTD processing at all: no billion laughs, no XXE); at most
// max_xml_size bytes, max_xml_depth levels and max_xml_elements elements.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "api/common/agent_value.hpp"
#include "api/common/api_error.hpp"

namespace herald {

inline constexpr std::size_t max_xml_size = 1 << 20;
inline constexpr std::size_t max_xml_depth = 32;
inline constexpr std::size_t max_xml_elements = 10'000;

// A WebAPI XML request body (root element named after the request, one child
// element per property) as the equivalent JSON object text, so the JSON
// decoders serve both. Names are local (prefixes dropped); numeric/boolean
// properties (AssociateId, TimeZoneId, RecordId, TimeToLive, Silent, ...)
// become JSON numbers/booleans, AssociateIds (<int> children) a JSON array,
// ExtraValues (<KeyValueOfstringstring><Key/><Value/>) a JSON object, and
// xsi:nil="true" null.
decoded<std::string> xml_request_to_json(std::string_view xml);

enum class soap_version { soap11, soap12 };
enum class soap_agent { pocket, foreign_system };

// One SOAP endpoint: agent and NetServer release (84, 87, 88).
struct soap_service {
  soap_agent agent = soap_agent::pocket;
  int release = 88;
  std::string ns() const;               // http://www.superoffice.net/ws/crm/NetServer/Services88
  std::string_view prefix() const;      // "Pocket" or "ForeignSystem" (the CRM's envelope prefixes)
  std::string path() const;             // /Remote/Services88/Pocket.svc
};
// The endpoint for a lowercased request path, if it is one of ours:
// services84/foreignsystem.svc, services87/pocket.svc, services88/{pocket,foreignsystem}.svc.
std::optional<soap_service> soap_service_for_path(std::string_view lowercase_path);
// The operation's canonical name if `svc` has it (case-insensitive).
std::optional<std::string> soap_operation(const soap_service& svc, std::string_view name);

struct soap_request {
  soap_version version = soap_version::soap11;
  std::string operation;  // local name, as sent (see soap_operation for the canonical one)
  std::optional<std::string> application_token;
  std::optional<std::string> ticket;  // Credentials/Ticket
  std::string parameters_json;        // the operation element's children, as xml_request_to_json makes them
};

struct soap_decode_failure {
  soap_version version = soap_version::soap11;  // for the Fault's shape (guessed from Content-Type if unparsable)
  api_error error;
};

// The envelope (1.1 or 1.2 by its namespace), ApplicationToken and
// Credentials/Ticket either directly under Envelope (as the CRM's own clients send them) or
// inside Header, and the operation from the Body's first element (or, for an
// empty Body, from SOAPAction / the action parameter of Content-Type). A
// SOAPAction naming another operation than the Body is refused.
std::variant<soap_request, soap_decode_failure> decode_soap_request(std::string_view body, std::string_view content_type,
                                                                     std::string_view soap_action);

// The response envelope as the CRM answers: <P:OpResponse> holding
// <P:Response xsi:type=...> unless `result` is null (void methods).
std::string encode_soap_response(soap_version v, const soap_service& svc, std::string_view operation,
                                 const agent_value* result);
// A Fault (Client/Sender for 4xx, Server/Receiver otherwise) with
// ExceptionInfo{Message, StackTrace, FriendlyText, ExceptionType, Source} in
// its detail, and the Succeeded=false / ExceptionInfo response headers.
std::string encode_soap_fault(soap_version v, const soap_service& svc, const api_error& error);
std::string_view soap_content_type(soap_version v);

// document/literal WSDL 1.1 with a SOAP 1.1 and a SOAP 1.2 binding, every
// operation of `svc`, its types, and `endpoint_url` as the address.
std::string generate_wsdl(const soap_service& svc, std::string_view endpoint_url);

}  // namespace herald
