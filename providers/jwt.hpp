#pragma once
// JWS signing for APNs provider tokens (ES256) and Google OAuth2 assertions
// (RS256). Pure: no I/O besides reading a key from memory. OpenSSL stays in
// the .cpp (pimpl).
#include <boost/system/result.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "providers/errors.hpp"

namespace herald {

// RFC 4648 section 5, no padding.
std::string base64url_encode(std::string_view bytes);
// Accepts missing padding; nullopt on characters outside the alphabet.
std::optional<std::string> base64url_decode(std::string_view text);

// A private key (EC P-256 for ES256, RSA for RS256). Move-only.
class signing_key {
 public:
  enum class algorithm { es256, rs256 };

  // PEM (PKCS#8 "PRIVATE KEY", or "EC PRIVATE KEY"/"RSA PRIVATE KEY").
  static boost::system::result<signing_key> from_pem(std::string_view pem, algorithm alg);
  static boost::system::result<signing_key> from_pem_file(const std::string& path, algorithm alg);
  // A fresh key (tests and benchmarks).
  static signing_key generate(algorithm alg);

  signing_key(signing_key&&) noexcept;
  signing_key& operator=(signing_key&&) noexcept;
  ~signing_key();

  algorithm alg() const { return alg_; }
  // JWS signature of `data`: ES256 as raw r||s (64 bytes), RS256 PKCS#1 v1.5.
  boost::system::result<std::string> sign(std::string_view data) const;
  bool verify(std::string_view data, std::string_view signature) const;
  std::string private_pem() const;  // PKCS#8
  std::string public_pem() const;   // SubjectPublicKeyInfo
  // ES256 keys: the uncompressed public point (65 bytes); empty otherwise.
  std::string ec_public_point() const;

 private:
  struct impl;
  signing_key(std::unique_ptr<impl> p, algorithm alg);
  std::unique_ptr<impl> impl_;
  algorithm alg_;
};

// header.claims.signature with base64url parts; header/claims are JSON text.
boost::system::result<std::string> sign_jwt(const signing_key& key, std::string_view header_json,
                                            std::string_view claims_json);
// Checks the signature of a compact JWS with `key` (its public half).
bool verify_jwt(const signing_key& key, std::string_view jwt);

// The parts of a compact JWS, decoded (no signature check).
struct decoded_jwt {
  std::string header_json;
  std::string claims_json;
  std::string signature;
};
std::optional<decoded_jwt> decode_jwt(std::string_view jwt);

// APNs provider token: {"alg":"ES256","kid":key_id} {"iss":team_id,"iat":iat}.
boost::system::result<std::string> make_apns_jwt(const signing_key& key, std::string_view key_id,
                                                 std::string_view team_id, std::int64_t iat);

// Google service-account assertion: {"alg":"RS256","typ":"JWT","kid":private_key_id}
// {"iss":client_email,"scope":scope,"aud":token_uri,"iat":iat,"exp":iat+3600}.
boost::system::result<std::string> make_google_assertion(const signing_key& key, std::string_view private_key_id,
                                                         std::string_view client_email, std::string_view token_uri,
                                                         std::string_view scope, std::int64_t iat);

}  // namespace herald
