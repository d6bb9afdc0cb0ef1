#include "providers/detail/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/pkcs12.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>

#include <fstream>
#include <sstream>

namespace herald::detail {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
std::string read_file(const std::string& path, bool& ok) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  ok = static_cast<bool>(in) && !in.bad();
  return text.str();
}

bool use_pkcs12(SSL_CTX* ctx, const std::string& path, const std::string& password, std::string& error) {
  bool ok = false;
  std::string der = read_file(path, ok);
  if (!ok) {
    error = path + ": cannot read";
    return false;
  }
  auto p = reinterpret_cast<const unsigned char*>(der.data());
  PKCS12* p12 = d2i_PKCS12(nullptr, &p, static_cast<long>(der.size()));
  if (!p12) {
    error = path + ": not a PKCS#12 file";
    return false;
  }
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* chain = nullptr;
  ERR_clear_error();
  bool parsed = PKCS12_parse(p12, password.c_str(), &key, &cert, &chain) == 1;
  // OpenSSL's own reason: "mac verify failure" (wrong password), or
  // "unsupported" for a file encrypted with RC2-40 (old Keychain and
  // OpenSSL 1.x exports), which OpenSSL 3 reads only with its legacy module.
  std::string reason;
  if (unsigned long e = ERR_peek_last_error(); !parsed && e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    reason = buf;
  }
  ERR_clear_error();
  PKCS12_free(p12);
  bool used = parsed && cert && key && SSL_CTX_use_certificate(ctx, cert) == 1 && SSL_CTX_use_PrivateKey(ctx, key) == 1;
  if (used && chain) {
    for (int i = 0; i < sk_X509_num(chain); ++i) {
      X509* extra = sk_X509_value(chain, i);
      X509_up_ref(extra);
      if (SSL_CTX_add_extra_chain_cert(ctx, extra) != 1) X509_free(extra);
    }
  }
  EVP_PKEY_free(key);
  X509_free(cert);
  sk_X509_pop_free(chain, X509_free);
  if (!used) {
    error = path + ": wrong password or no certificate/key inside";
    if (!reason.empty()) error += " (openssl: " + reason + ")";
    if (reason.find("unsupported") != std::string::npos)
      error += "; a .p12 encrypted with RC2-40 needs re-exporting with AES (openssl pkcs12 -export -keypbe AES-256-CBC -certpbe AES-256-CBC)";
  }
  return used;
}
}  // namespace

std::shared_ptr<asio::ssl::context> make_tls_context(const tls_settings& settings, std::string& error) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_compression);
  error_code ec;
  ctx->set_default_verify_paths(ec);
  if (!settings.ca_file.empty()) {
    ctx->load_verify_file(settings.ca_file, ec);
    if (ec) {
      error = "ca_file " + settings.ca_file + ": " + ec.message();
      return nullptr;
    }
  }
  ctx->set_verify_mode(asio::ssl::verify_peer);
  static constexpr unsigned char alpn[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(native, alpn, sizeof alpn);
  if (!settings.certificate_file.empty()) {
    const auto& f = settings.certificate_file;
    bool p12 = f.ends_with(".p12") || f.ends_with(".pfx");
    if (p12) {
      if (!use_pkcs12(native, f, settings.certificate_password, error)) {
        error = "certificate_file " + error;
        return nullptr;
      }
    } else {
      // An encrypted key is opened with the password (OpenSSL's default would prompt on the terminal).
      ctx->set_password_callback(
          [password = settings.certificate_password](std::size_t, asio::ssl::context::password_purpose) {
            return password;
          });
      ctx->use_certificate_chain_file(f, ec);
      if (!ec) ctx->use_private_key_file(f, asio::ssl::context::pem, ec);
      if (ec) {
        error = "certificate_file " + f + ": " + ec.message();
        return nullptr;
      }
    }
  }
  return ctx;
}

}  // namespace herald::detail
