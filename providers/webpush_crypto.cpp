#include "providers/webpush_crypto.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>

namespace herald {

namespace {

struct pkey_deleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;
struct pkey_ctx_deleter {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_deleter>;
struct cipher_ctx_deleter {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct bld_deleter {
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct params_deleter {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct bn_deleter {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct sig_deleter {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// EVP_PKEY for P-256 from its raw parts; `scalar` empty for a public key.
pkey_ptr make_p256(std::string_view scalar, std::string_view point) {
  if (point.size() != 65 || point[0] != 0x04) return nullptr;
  if (!scalar.empty() && scalar.size() != 32) return nullptr;
  std::unique_ptr<OSSL_PARAM_BLD, bld_deleter> bld(OSSL_PARAM_BLD_new());
  std::unique_ptr<BIGNUM, bn_deleter> d;
  if (!bld) return nullptr;
  static char group[] = "prime256v1";
  if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1) return nullptr;
  if (OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1)
    return nullptr;
  if (!scalar.empty()) {
    d.reset(BN_bin2bn(bytes(scalar), 32, nullptr));
    if (!d || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get()) != 1) return nullptr;
  }
  std::unique_ptr<OSSL_PARAM, params_deleter> params(OSSL_PARAM_BLD_to_param(bld.get()));
  pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return nullptr;
  EVP_PKEY* raw = nullptr;
  int selection = scalar.empty() ? EVP_PKEY_PUBLIC_KEY : EVP_PKEY_KEYPAIR;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, selection, params.get()) != 1) return nullptr;
  pkey_ptr key(raw);
  // The point must lie on the curve (and not be the point at infinity); a
  // private scalar must match it. P-256 has cofactor 1, so every such point
  // is in the prime-order group: the quick check suffices and spares the
  // full check's extra scalar multiplication by the order on every message.
  pkey_ctx_ptr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check_quick(check.get()) != 1) return nullptr;
  if (!scalar.empty() && EVP_PKEY_pairwise_check(check.get()) != 1) return nullptr;
  return key;
}

std::string public_point_of(EVP_PKEY* key) {
  std::string out(65, '\0');
  size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                      reinterpret_cast<unsigned char*>(out.data()), out.size(), &len) != 1 ||
      len != 65)
    return {};
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::string out(32, '\0');
  size_t len = 0;
  if (!EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(), bytes(data), data.size(),
                 reinterpret_cast<unsigned char*>(out.data()), out.size(), &len) ||
      len != 32)
    return {};
  return out;
}

struct content_keys {
  std::string cek;    // 16 bytes
  std::string nonce;  // 12 bytes
};

// RFC 8291 section 3.4 then RFC 8188 section 2.2/2.3 (HKDF with one block each).
std::optional<content_keys> derive_keys(std::string_view ecdh, std::string_view auth, std::string_view ua_public,
                                        std::string_view as_public, std::string_view salt) {
  std::string prk_key = hmac_sha256(auth, ecdh);
  std::string key_info = "WebPush: info";
  key_info.push_back('\0');
  key_info.append(ua_public);
  key_info.append(as_public);
  key_info.push_back('\x01');
  std::string ikm = hmac_sha256(prk_key, key_info);
  std::string prk = hmac_sha256(salt, ikm);
  std::string cek_info("Content-Encoding: aes128gcm\0\x01", 29);
  std::string nonce_info("Content-Encoding: nonce\0\x01", 25);
  std::string cek = hmac_sha256(prk, cek_info);
  std::string nonce = hmac_sha256(prk, nonce_info);
  if (prk_key.empty() || ikm.empty() || prk.empty() || cek.empty() || nonce.empty()) return std::nullopt;
  return content_keys{cek.substr(0, 16), nonce.substr(0, 12)};
}

std::string json_quote(std::string_view s) { return boost::json::serialize(boost::json::string(s)); }

// ES256 raw r||s -> DER, for EVP_DigestVerify.
std::string es256_der(std::string_view raw) {
  if (raw.size() != 64) return {};
  std::unique_ptr<ECDSA_SIG, sig_deleter> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(bytes(raw), 32, nullptr);
  BIGNUM* s = BN_bin2bn(bytes(raw) + 32, 32, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return {};
  }
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return {};
  std::string der(static_cast<std::size_t>(len), '\0');
  auto out = reinterpret_cast<unsigned char*>(der.data());
  i2d_ECDSA_SIG(sig.get(), &out);
  return der;
}

}  // namespace

// --- p256_key

struct p256_key::impl {
  pkey_ptr key;
  bool has_private = false;
};

p256_key::p256_key(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
p256_key::p256_key(p256_key&&) noexcept = default;
p256_key& p256_key::operator=(p256_key&&) noexcept = default;
p256_key::~p256_key() = default;

p256_key p256_key::generate() {
  EVP_PKEY* raw = EVP_EC_gen("P-256");
  if (!raw) throw std::runtime_error("P-256 key generation failed");
  return p256_key(std::make_unique<impl>(impl{pkey_ptr(raw), true}));
}

std::optional<p256_key> p256_key::from_private(std::string_view scalar, std::string_view public_point) {
  auto key = make_p256(scalar, public_point);
  if (!key || scalar.empty()) return std::nullopt;
  return p256_key(std::make_unique<impl>(impl{std::move(key), true}));
}

std::optional<p256_key> p256_key::from_public(std::string_view public_point) {
  auto key = make_p256({}, public_point);
  if (!key) return std::nullopt;
  return p256_key(std::make_unique<impl>(impl{std::move(key), false}));
}

std::string p256_key::public_point() const { return public_point_of(impl_->key.get()); }
bool p256_key::has_private() const { return impl_->has_private; }

std::optional<std::string> p256_key::derive(const p256_key& peer) const {
  if (!impl_->has_private) return std::nullopt;
  pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, impl_->key.get(), nullptr));
  // The peer was checked when it became a p256_key (generated, or imported
  // through make_p256): no second check per derivation.
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer_ex(ctx.get(), peer.impl_->key.get(), 0) != 1)
    return std::nullopt;
  size_t len = 0;
  if (EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1) return std::nullopt;
  std::string out(len, '\0');
  if (EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len) != 1 || len != 32)
    return std::nullopt;
  return out;
}

bool is_valid_p256_point(std::string_view point) { return make_p256({}, point) != nullptr; }

// --- encryption

std::string_view to_string(webpush_encrypt_error e) {
  switch (e) {
    case webpush_encrypt_error::payload_too_large: return "PayloadTooLarge";
    case webpush_encrypt_error::bad_subscription_key: return "BadSubscriptionKey";
    case webpush_encrypt_error::bad_auth_secret: return "BadAuthSecret";
    case webpush_encrypt_error::crypto_failed: return "EncryptionFailed";
  }
  return "EncryptionFailed";
}

std::variant<std::string, webpush_encrypt_error> webpush_encrypt(std::string_view plaintext,
                                                                 std::string_view ua_public,
                                                                 std::string_view auth_secret,
                                                                 const webpush_encrypt_fixed& fixed) {
  if (plaintext.size() > webpush_max_plaintext) return webpush_encrypt_error::payload_too_large;
  if (auth_secret.size() != 16) return webpush_encrypt_error::bad_auth_secret;
  auto receiver = p256_key::from_public(ua_public);
  if (!receiver) return webpush_encrypt_error::bad_subscription_key;

  std::optional<p256_key> ephemeral;
  const p256_key* sender = fixed.sender;
  if (!sender) {
    ephemeral.emplace(p256_key::generate());
    sender = &*ephemeral;
  }
  std::string salt(fixed.salt);
  if (salt.empty()) {
    salt.resize(16);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), 16) != 1) return webpush_encrypt_error::crypto_failed;
  }
  if (salt.size() != 16) return webpush_encrypt_error::crypto_failed;

  auto ecdh = sender->derive(*receiver);
  std::string as_public = sender->public_point();
  if (!ecdh || as_public.size() != 65) return webpush_encrypt_error::crypto_failed;
  auto keys = derive_keys(*ecdh, auth_secret, ua_public, as_public, salt);
  if (!keys) return webpush_encrypt_error::crypto_failed;

  std::string out = salt;
  out.push_back(static_cast<char>((webpush_record_size >> 24) & 0xff));
  out.push_back(static_cast<char>((webpush_record_size >> 16) & 0xff));
  out.push_back(static_cast<char>((webpush_record_size >> 8) & 0xff));
  out.push_back(static_cast<char>(webpush_record_size & 0xff));
  out.push_back(static_cast<char>(65));
  out += as_public;

  std::string record(plaintext);
  record.push_back('\x02');  // delimiter of the last (only) record, no padding
  std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_deleter> ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, bytes(keys->cek), bytes(keys->nonce)) != 1)
    return webpush_encrypt_error::crypto_failed;
  const std::size_t start = out.size();
  out.resize(start + record.size() + 16);
  auto* dst = reinterpret_cast<unsigned char*>(out.data()) + start;
  int len = 0;
  int final_len = 0;
  if (EVP_EncryptUpdate(ctx.get(), dst, &len, bytes(record), static_cast<int>(record.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), dst + len, &final_len) != 1 ||
      static_cast<std::size_t>(len + final_len) != record.size() ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, dst + record.size()) != 1)
    return webpush_encrypt_error::crypto_failed;
  return out;
}

std::optional<std::string> webpush_decrypt(std::string_view body, const p256_key& ua_private,
                                           std::string_view auth_secret) {
  if (body.size() < webpush_header_size + 17 || auth_secret.size() != 16) return std::nullopt;
  std::string_view salt = body.substr(0, 16);
  std::uint32_t rs = (static_cast<std::uint32_t>(static_cast<unsigned char>(body[16])) << 24) |
                     (static_cast<std::uint32_t>(static_cast<unsigned char>(body[17])) << 16) |
                     (static_cast<std::uint32_t>(static_cast<unsigned char>(body[18])) << 8) |
                     static_cast<std::uint32_t>(static_cast<unsigned char>(body[19]));
  if (static_cast<unsigned char>(body[20]) != 65) return std::nullopt;
  std::string_view as_public = body.substr(21, 65);
  std::string_view ciphertext = body.substr(webpush_header_size);
  if (rs < 18 || ciphertext.size() > rs || ciphertext.size() < 17) return std::nullopt;  // exactly one record
  auto sender = p256_key::from_public(as_public);
  if (!sender) return std::nullopt;
  auto ecdh = ua_private.derive(*sender);
  if (!ecdh) return std::nullopt;
  auto keys = derive_keys(*ecdh, auth_secret, ua_private.public_point(), as_public, salt);
  if (!keys) return std::nullopt;

  const std::size_t n = ciphertext.size() - 16;
  std::string plain(n, '\0');
  std::string tag(ciphertext.substr(n));
  std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_deleter> ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  int final_len = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_128_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, bytes(keys->cek), bytes(keys->nonce)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len, bytes(ciphertext),
                        static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, 16, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + len, &final_len) != 1)
    return std::nullopt;
  // Padding: zeros after the delimiter, which is 0x02 in the last record.
  while (!plain.empty() && plain.back() == '\0') plain.pop_back();
  if (plain.empty() || plain.back() != '\x02') return std::nullopt;
  plain.pop_back();
  return plain;
}

// --- VAPID

std::optional<std::string> origin_of(std::string_view url) {
  constexpr std::string_view scheme = "https://";
  if (url.size() <= scheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(url[i])) != scheme[i]) return std::nullopt;
  std::string_view rest = url.substr(scheme.size());
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  std::string host_port;
  for (char c : authority) host_port.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (host_port.size() > 4 && host_port.ends_with(":443")) host_port.resize(host_port.size() - 4);
  return "https://" + host_port;
}

boost::system::result<std::string> make_vapid_jwt(const signing_key& key, std::string_view audience,
                                                  std::int64_t expires_at_unix_s, std::string_view subject) {
  std::string claims = "{\"aud\":" + json_quote(audience) + ",\"exp\":" + std::to_string(expires_at_unix_s) +
                       ",\"sub\":" + json_quote(subject) + "}";
  return sign_jwt(key, "{\"typ\":\"JWT\",\"alg\":\"ES256\"}", claims);
}

std::string vapid_authorization(std::string_view jwt, std::string_view public_point) {
  return "vapid t=" + std::string(jwt) + ", k=" + base64url_encode(public_point);
}

std::string check_vapid_jwt(std::string_view jwt, std::string_view public_point, std::string_view expected_audience,
                            std::int64_t now_unix_s) {
  auto parts = decode_jwt(jwt);
  if (!parts) return "not a compact JWS";
  auto key = make_p256({}, public_point);
  if (!key) return "k is not a P-256 public key";
  std::string der = es256_der(parts->signature);
  if (der.empty()) return "signature is not 64 bytes (ES256 r||s)";
  std::unique_ptr<EVP_MD_CTX, md_ctx_deleter> md(EVP_MD_CTX_new());
  std::string_view signed_part = jwt.substr(0, jwt.rfind('.'));
  if (!md || EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestVerify(md.get(), bytes(der), der.size(), bytes(signed_part), signed_part.size()) != 1)
    return "signature does not verify with k";
  boost::system::error_code ec;
  auto header = boost::json::parse(parts->header_json, ec);
  if (ec || !header.is_object()) return "header is not a JSON object";
  auto* alg = header.as_object().if_contains("alg");
  if (!alg || !alg->is_string() || alg->as_string() != "ES256") return "alg is not ES256";
  auto claims = boost::json::parse(parts->claims_json, ec);
  if (ec || !claims.is_object()) return "claims are not a JSON object";
  const auto& c = claims.as_object();
  auto* aud = c.if_contains("aud");
  if (!aud || !aud->is_string() || aud->as_string() != expected_audience) return "aud is not the endpoint's origin";
  auto* exp = c.if_contains("exp");
  if (!exp || !exp->is_int64()) return "exp missing";
  if (exp->as_int64() <= now_unix_s) return "exp is in the past";
  if (exp->as_int64() > now_unix_s + 24 * 3600) return "exp is more than 24 hours ahead";
  auto* sub = c.if_contains("sub");
  if (!sub || !sub->is_string() ||
      !(sub->as_string().starts_with("mailto:") || sub->as_string().starts_with("https:")))
    return "sub is not a mailto: or https: contact";
  return {};
}

// --- subscriptions

std::vector<std::string> default_webpush_allowed_hosts() {
  return {"fcm.googleapis.com", "*.push.services.mozilla.com", "*.push.apple.com", "*.notify.windows.com"};
}

bool host_allowed(std::string_view host, const std::vector<std::string>& allowed_hosts) {
  if (host.empty()) return false;
  for (const auto& entry : allowed_hosts) {
    if (entry.size() > 2 && entry.starts_with("*.")) {
      std::string_view suffix = std::string_view(entry).substr(1);  // ".example.com"
      if (host.size() > suffix.size() && host.ends_with(suffix)) return true;
    } else if (host == entry) {
      return true;
    }
  }
  return false;
}

namespace {
subscription_error sub_error(std::string field, std::string message) {
  return subscription_error{std::move(field), std::move(message)};
}

// The endpoint's host (lowercase, IPv6 without brackets), or an error message.
std::variant<std::string, std::string> endpoint_host(std::string_view url) {
  constexpr std::string_view scheme = "https://";
  if (url.size() <= scheme.size() || !std::equal(scheme.begin(), scheme.end(), url.begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      }))
    return std::variant<std::string, std::string>(std::in_place_index<1>, "endpoint must be an https:// URL");
  for (char c : url)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return std::variant<std::string, std::string>(std::in_place_index<1>,
                                                    "endpoint contains spaces or control characters");
  std::string_view rest = url.substr(scheme.size());
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos)
    return std::variant<std::string, std::string>(std::in_place_index<1>, "endpoint must not carry user info");
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return std::variant<std::string, std::string>(std::in_place_index<1>, "endpoint host is malformed");
    host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return std::variant<std::string, std::string>(std::in_place_index<1>, "endpoint host is malformed");
      port = after.substr(1);
    }
  } else if (auto colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return std::variant<std::string, std::string>(std::in_place_index<1>, "endpoint has no host");
  if (!port.empty() || authority.ends_with(":")) {
    unsigned value = 0;
    bool ok = !port.empty() && port.size() <= 5;
    for (char c : port) {
      if (c < '0' || c > '9') ok = false;
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (!ok || value == 0 || value > 65535)
      return std::variant<std::string, std::string>(std::in_place_index<1>, "endpoint port is invalid");
  }
  std::string lower;
  for (char c : host) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return std::variant<std::string, std::string>(std::in_place_index<0>, std::move(lower));
}
}  // namespace

std::variant<web_subscription, subscription_error> parse_web_subscription(
    std::string_view json, const std::vector<std::string>& allowed_hosts) {
  boost::system::error_code ec;
  auto value = boost::json::parse(json, ec);
  if (ec || !value.is_object())
    return sub_error("", "PNSHandle of a Web device must be the subscription JSON {endpoint, keys:{p256dh, auth}}");
  const auto& obj = value.as_object();
  web_subscription out;

  auto* endpoint = obj.if_contains("endpoint");
  if (!endpoint || !endpoint->is_string() || endpoint->as_string().empty())
    return sub_error("endpoint", "endpoint is required (a string)");
  out.endpoint = std::string(endpoint->as_string());
  auto host = endpoint_host(out.endpoint);
  if (host.index() == 1) return sub_error("endpoint", std::get<1>(host));
  if (!host_allowed(std::get<0>(host), allowed_hosts))
    return sub_error("endpoint", "endpoint host '" + std::get<0>(host) + "' is not an allowed push service");

  auto* keys = obj.if_contains("keys");
  if (!keys || !keys->is_object()) return sub_error("keys", "keys is required (an object with p256dh and auth)");
  auto* p256dh = keys->as_object().if_contains("p256dh");
  if (!p256dh || !p256dh->is_string()) return sub_error("keys.p256dh", "keys.p256dh is required (base64url)");
  auto point = base64url_decode(p256dh->as_string());
  if (!point || point->size() != 65 || !is_valid_p256_point(*point))
    return sub_error("keys.p256dh", "keys.p256dh is not an uncompressed P-256 public key (65 bytes, base64url)");
  out.p256dh = std::move(*point);
  auto* auth = keys->as_object().if_contains("auth");
  if (!auth || !auth->is_string()) return sub_error("keys.auth", "keys.auth is required (base64url)");
  auto secret = base64url_decode(auth->as_string());
  if (!secret || secret->size() != 16) return sub_error("keys.auth", "keys.auth is not 16 bytes (base64url)");
  out.auth = std::move(*secret);
  return out;
}

}  // namespace herald
