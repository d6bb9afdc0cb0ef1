#include "providers/jwt.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <array>
#include <fstream>
#include <sstream>

namespace herald {

namespace {
constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

struct pkey_deleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;
struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct bio_deleter {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct sig_deleter {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string json_quote(std::string_view s) { return boost::json::serialize(boost::json::string(s)); }
}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto at = [&](std::size_t k) { return static_cast<unsigned char>(bytes[k]); };
  for (; i + 3 <= bytes.size(); i += 3) {
    unsigned v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (bytes.size() - i == 1) {
    unsigned v = at(i) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
  } else if (bytes.size() - i == 2) {
    unsigned v = (at(i) << 16) | (at(i + 1) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-' || c == '+') v = 62;
    else if (c == '_' || c == '/') v = 63;
    else return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (bits >= 6) return std::nullopt;  // a single dangling character cannot encode a byte
  return out;
}

struct signing_key::impl {
  pkey_ptr key;
};

signing_key::signing_key(std::unique_ptr<impl> p, algorithm alg) : impl_(std::move(p)), alg_(alg) {}
signing_key::signing_key(signing_key&&) noexcept = default;
signing_key& signing_key::operator=(signing_key&&) noexcept = default;
signing_key::~signing_key() = default;

boost::system::result<signing_key> signing_key::from_pem(std::string_view pem, algorithm alg) {
  std::unique_ptr<BIO, bio_deleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return provider_error::key_invalid;
  pkey_ptr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return provider_error::key_invalid;
  if (alg == algorithm::es256) {
    if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_EC) return provider_error::key_invalid;
    char group[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key.get(), group, sizeof group, &len) != 1) return provider_error::key_invalid;
    std::string_view g(group, len);
    if (g != "prime256v1" && g != "P-256") return provider_error::key_invalid;
  } else {
    if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA || EVP_PKEY_get_bits(key.get()) < 2048)
      return provider_error::key_invalid;
  }
  return signing_key(std::make_unique<impl>(impl{std::move(key)}), alg);
}

boost::system::result<signing_key> signing_key::from_pem_file(const std::string& path, algorithm alg) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return provider_error::key_unreadable;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return provider_error::key_unreadable;
  return from_pem(text.str(), alg);
}

signing_key signing_key::generate(algorithm alg) {
  EVP_PKEY* raw = alg == algorithm::es256 ? EVP_EC_gen("P-256") : EVP_RSA_gen(2048);
  if (!raw) throw std::runtime_error("key generation failed");
  return signing_key(std::make_unique<impl>(impl{pkey_ptr(raw)}), alg);
}

boost::system::result<std::string> signing_key::sign(std::string_view data) const {
  std::unique_ptr<EVP_MD_CTX, md_ctx_deleter> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, impl_->key.get()) != 1)
    return provider_error::sign_failed;
  size_t len = 0;
  auto in = reinterpret_cast<const unsigned char*>(data.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, in, data.size()) != 1) return provider_error::sign_failed;
  std::string der(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &len, in, data.size()) != 1)
    return provider_error::sign_failed;
  der.resize(len);
  if (alg_ == algorithm::rs256) return der;
  // ES256 in JWS is the raw r||s, each left-padded to 32 bytes (RFC 7518 3.4), not DER.
  auto p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, sig_deleter> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return provider_error::sign_failed;
  std::string raw(64, '\0');
  auto out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, 32) != 32 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + 32, 32) != 32)
    return provider_error::sign_failed;
  return raw;
}

bool signing_key::verify(std::string_view data, std::string_view signature) const {
  std::string der;
  if (alg_ == algorithm::es256) {
    if (signature.size() != 64) return false;
    auto s = reinterpret_cast<const unsigned char*>(signature.data());
    std::unique_ptr<ECDSA_SIG, sig_deleter> sig(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(s, 32, nullptr);
    BIGNUM* ss = BN_bin2bn(s + 32, 32, nullptr);
    if (!sig || !r || !ss || ECDSA_SIG_set0(sig.get(), r, ss) != 1) {
      BN_free(r);
      BN_free(ss);
      return false;
    }
    int len = i2d_ECDSA_SIG(sig.get(), nullptr);
    if (len <= 0) return false;
    der.resize(static_cast<std::size_t>(len));
    auto out = reinterpret_cast<unsigned char*>(der.data());
    i2d_ECDSA_SIG(sig.get(), &out);
  } else {
    der = std::string(signature);
  }
  std::unique_ptr<EVP_MD_CTX, md_ctx_deleter> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, impl_->key.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

std::string signing_key::private_pem() const {
  std::unique_ptr<BIO, bio_deleter> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), impl_->key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return bio_text(bio.get());
}

std::string signing_key::public_pem() const {
  std::unique_ptr<BIO, bio_deleter> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), impl_->key.get());
  return bio_text(bio.get());
}

std::string signing_key::ec_public_point() const {
  if (alg_ != algorithm::es256) return {};
  std::string out(65, '\0');
  size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(impl_->key.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                      reinterpret_cast<unsigned char*>(out.data()), out.size(), &len) != 1 ||
      len != 65)
    return {};
  return out;
}

boost::system::result<std::string> sign_jwt(const signing_key& key, std::string_view header_json,
                                            std::string_view claims_json) {
  std::string input = base64url_encode(header_json);
  input += '.';
  input += base64url_encode(claims_json);
  auto sig = key.sign(input);
  if (!sig) return sig.error();
  input += '.';
  input += base64url_encode(*sig);
  return input;
}

std::optional<decoded_jwt> decode_jwt(std::string_view jwt) {
  auto first = jwt.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  auto second = jwt.find('.', first + 1);
  if (second == std::string_view::npos || jwt.find('.', second + 1) != std::string_view::npos) return std::nullopt;
  auto h = base64url_decode(jwt.substr(0, first));
  auto c = base64url_decode(jwt.substr(first + 1, second - first - 1));
  auto s = base64url_decode(jwt.substr(second + 1));
  if (!h || !c || !s) return std::nullopt;
  return decoded_jwt{std::move(*h), std::move(*c), std::move(*s)};
}

bool verify_jwt(const signing_key& key, std::string_view jwt) {
  auto last = jwt.rfind('.');
  auto parts = decode_jwt(jwt);
  if (!parts || last == std::string_view::npos) return false;
  return key.verify(jwt.substr(0, last), parts->signature);
}

boost::system::result<std::string> make_apns_jwt(const signing_key& key, std::string_view key_id,
                                                 std::string_view team_id, std::int64_t iat) {
  std::string header = "{\"alg\":\"ES256\",\"kid\":" + json_quote(key_id) + "}";
  std::string claims = "{\"iss\":" + json_quote(team_id) + ",\"iat\":" + std::to_string(iat) + "}";
  return sign_jwt(key, header, claims);
}

boost::system::result<std::string> make_google_assertion(const signing_key& key, std::string_view private_key_id,
                                                         std::string_view client_email, std::string_view token_uri,
                                                         std::string_view scope, std::int64_t iat) {
  std::string header = "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":" + json_quote(private_key_id) + "}";
  std::string claims = "{\"iss\":" + json_quote(client_email) + ",\"scope\":" + json_quote(scope) +
                       ",\"aud\":" + json_quote(token_uri) + ",\"iat\":" + std::to_string(iat) +
                       ",\"exp\":" + std::to_string(iat + 3600) + "}";
  return sign_jwt(key, header, claims);
}

}  // namespace herald
