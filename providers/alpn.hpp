#pragma once
// Which HTTP version to speak to a push service, as its TLS ALPN answer
// decides (RFC 7301; HTTP/2 over TLS only when "h2" was selected, RFC 9113
// section 3.2). Pure; the transport that carries it out is
// detail/origin_pool.
#include <optional>
#include <string_view>

#include "providers/errors.hpp"

namespace herald {

enum class http_version { http11, h2 };

std::string_view to_string(http_version v);

// ALPN protocol list offered when either version will do, preferring h2,
// in wire format (length-prefixed names): "h2", "http/1.1".
std::string_view alpn_offer_h2_or_http11();

// The version to speak after the handshake, from the protocol the server
// selected: "h2" -> HTTP/2; "http/1.1" or nothing selected (a server without
// ALPN) -> HTTP/1.1; anything else (a protocol we never offered) -> nullopt,
// the connection is unusable.
std::optional<http_version> http_version_for_alpn(std::string_view selected);

// Whether a transport failure of the pool in use makes the origin's protocol
// be negotiated again on the next request: only a failed connection setup
// (the server may have changed what it offers, e.g. no longer h2).
bool renegotiate_after(provider_error e);

}  // namespace herald
