#pragma once
// Failures of the providers module itself (not provider answers, which are
// delivery_result values). Registered as a boost::system error category.
#include <boost/system/error_code.hpp>

#include <type_traits>

namespace herald {

enum class provider_error {
  key_unreadable = 1,       // a key/certificate/service-account file could not be read
  key_invalid,              // not a PEM private key of the expected type (EC P-256 / RSA)
  sign_failed,              // OpenSSL refused to sign
  service_account_invalid,  // service-account JSON lacks a field or is not JSON
  bad_endpoint,             // endpoint is not "https://host[:port][/path]"
  // HTTP/2 transport (see detail/h2_connection.hpp)
  not_sent,                 // the request never left Herald (queued on a failed connection, refused, above GOAWAY): safe to resend
  connect_failed,           // TCP/TLS/ALPN setup failed; nothing was sent
  connection_lost,          // the connection died after the request was sent, before the whole answer
  stream_reset,             // the server reset the stream (other than REFUSED_STREAM)
  response_timeout,         // no complete answer within the response timeout
  queue_full,               // the connection's bounded queue is full
  response_too_large,       // the answer exceeded max_response_body
  shut_down,                // the connection/provider was shut down
};

const boost::system::error_category& provider_category() noexcept;

inline boost::system::error_code make_error_code(provider_error e) noexcept {
  return {static_cast<int>(e), provider_category()};
}

}  // namespace herald

template <>
struct boost::system::is_error_code_enum<herald::provider_error> : std::true_type {};
