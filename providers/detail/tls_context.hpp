#pragma once
// Internal: the TLS client context of a provider endpoint (trust store,
// client certificate as PEM or PKCS#12, ALPN "h2").
#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace herald::detail {

// TLS client settings: TLS 1.2+, peer verified against the system store plus
// `ca_file` (verification is never disabled), ALPN "h2".
struct tls_settings {
  std::string ca_file;
  std::string certificate_file;  // client certificate: PEM (cert + key) or PKCS#12 (.p12/.pfx)
  std::string certificate_password;
};
// nullptr and `error` set when a file cannot be used.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const tls_settings& settings, std::string& error);

}  // namespace herald::detail
