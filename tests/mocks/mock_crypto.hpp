#pragma once
// OpenSSL helpers shared by the mocks and test_pki (internal to tests/mocks).
#include <openssl/evp.h>

#include <boost/json/object.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace herald::test::detail {

struct evp_pkey_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using evp_key = std::unique_ptr<EVP_PKEY, evp_pkey_free>;

std::string base64url_encode(std::string_view data);
std::optional<std::string> base64url_decode(std::string_view text);

// PEM private key (PKCS#8 or traditional); throws std::runtime_error.
evp_key load_private_key_pem(const std::string& pem);
evp_key load_private_key_file(const std::string& path);

std::string read_file(const std::string& path);
// Writes atomically (temp + rename) with the given mode; throws.
void write_file(const std::string& path, std::string_view content, unsigned mode);

// JWS signatures over `input`: ES256 as raw r||s (64 bytes), RS256 PKCS#1 v1.5.
std::string sign_es256(EVP_PKEY* key, std::string_view input);
std::string sign_rs256(EVP_PKEY* key, std::string_view input);
bool verify_es256(EVP_PKEY* key, std::string_view input, std::string_view raw_signature);
bool verify_rs256(EVP_PKEY* key, std::string_view input, std::string_view signature);

// Builds "b64(header).b64(claims).b64(sig)".
std::string make_jws(EVP_PKEY* key, const boost::json::object& header, const boost::json::object& claims, bool es256);

// A JWT split and decoded; signature checked separately.
struct parsed_jwt {
  boost::json::object header;
  boost::json::object claims;
  std::string signing_input;  // "b64(header).b64(claims)"
  std::string signature;      // decoded bytes
};
std::optional<parsed_jwt> parse_jwt(std::string_view token);

std::string random_hex(std::size_t bytes);
std::string random_uuid();  // lowercase canonical v4

}  // namespace herald::test::detail
