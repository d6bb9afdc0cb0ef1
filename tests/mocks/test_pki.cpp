// test_pki: a throwaway CA, a loopback server certificate, an APNs .p8 key,
// an APNs client certificate (PEM and PKCS#12) and an FCM service account,
// all made with the OpenSSL C API.
#include "tests/mocks/mock_push_server.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "tests/mocks/mock_crypto.hpp"

namespace herald::test {
namespace {

using detail::evp_key;

struct x509_free {
  void operator()(X509* x) const { X509_free(x); }
};
using x509_ptr = std::unique_ptr<X509, x509_free>;
struct bio_free {
  void operator()(BIO* b) const { BIO_free(b); }
};

void check(int ok, const char* what) {
  if (ok != 1) throw std::runtime_error(std::string("test_pki: ") + what + " failed");
}

evp_key make_ec_key() {
  evp_key k(EVP_EC_gen("P-256"));
  if (!k) throw std::runtime_error("test_pki: EC keygen failed");
  return k;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) throw std::runtime_error(std::string("test_pki: extension ") + value);
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  check(ok, "X509_add_ext");
}

enum class cert_kind { ca, server, client };

// Subject entries in order, e.g. {{"O", "Herald tests"}, {"CN", "..."}}.
using subject_entries = std::vector<std::pair<const char*, std::string>>;

// A certificate for `key`, signed by issuer_key (self-signed when issuer is null).
x509_ptr make_cert(EVP_PKEY* key, const subject_entries& subject, X509* issuer, EVP_PKEY* issuer_key,
                   cert_kind kind) {
  x509_ptr cert(X509_new());
  if (!cert) throw std::runtime_error("test_pki: X509_new failed");
  check(X509_set_version(cert.get(), 2), "X509_set_version");
  unsigned char serial[16];
  check(RAND_bytes(serial, sizeof serial), "RAND_bytes");
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60L * 60 * 24 * 365);
  check(X509_set_pubkey(cert.get(), key), "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(cert.get());
  for (const auto& [field, value] : subject) {
    check(X509_NAME_add_entry_by_txt(name, field, MBSTRING_ASC, reinterpret_cast<const unsigned char*>(value.c_str()),
                                     -1, -1, 0),
          "X509_NAME_add_entry_by_txt");
  }
  X509* signer = issuer ? issuer : cert.get();
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)), "X509_set_issuer_name");
  if (kind == cert_kind::ca) {
    add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(cert.get(), signer, NID_subject_key_identifier, "hash");
  } else {
    add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert.get(), signer, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    if (kind == cert_kind::server) {
      add_ext(cert.get(), signer, NID_ext_key_usage, "serverAuth");
      add_ext(cert.get(), signer, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
    } else {
      add_ext(cert.get(), signer, NID_ext_key_usage, "clientAuth");
    }
    add_ext(cert.get(), signer, NID_subject_key_identifier, "hash");
    add_ext(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
  }
  if (X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) <= 0) {
    throw std::runtime_error("test_pki: X509_sign failed");
  }
  return cert;
}

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string cert_pem(X509* cert) {
  std::unique_ptr<BIO, bio_free> bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_X509(bio.get(), cert), "PEM_write_bio_X509");
  return bio_string(bio.get());
}

// Encrypted (AES-256-CBC, PBKDF2) when a password is given.
std::string pkcs8_pem(EVP_PKEY* key, const std::string& password = {}) {
  std::unique_ptr<BIO, bio_free> bio(BIO_new(BIO_s_mem()));
  const EVP_CIPHER* cipher = password.empty() ? nullptr : EVP_aes_256_cbc();
  check(PEM_write_bio_PKCS8PrivateKey(bio.get(), key, cipher, password.c_str(), static_cast<int>(password.size()),
                                      nullptr, nullptr),
        "PEM_write_bio_PKCS8PrivateKey");
  return bio_string(bio.get());
}

// PKCS#12 (OpenSSL 3 defaults: AES-256-CBC, PBKDF2, SHA-256 MAC) holding
// key, certificate and the issuer as its chain.
std::string pkcs12_der(EVP_PKEY* key, X509* cert, X509* issuer, const std::string& password) {
  STACK_OF(X509)* chain = sk_X509_new_null();
  if (!chain || sk_X509_push(chain, issuer) <= 0) {
    sk_X509_free(chain);
    throw std::runtime_error("test_pki: sk_X509_push failed");
  }
  PKCS12* p12 = PKCS12_create(password.c_str(), "Herald test APNs", key, cert, chain, 0, 0, 0, 0, 0);
  sk_X509_free(chain);  // PKCS12_create encoded copies
  if (!p12) throw std::runtime_error("test_pki: PKCS12_create failed");
  std::unique_ptr<BIO, bio_free> bio(BIO_new(BIO_s_mem()));
  int ok = i2d_PKCS12_bio(bio.get(), p12);
  PKCS12_free(p12);
  check(ok, "i2d_PKCS12_bio");
  return bio_string(bio.get());
}

}  // namespace

test_pki test_pki::generate(const std::string& dir) {
  test_pki pki;
  if (dir.empty()) {
    std::string tmpl = "/tmp/herald-pki-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data())) throw std::runtime_error("test_pki: mkdtemp failed");
    pki.dir = buf.data();
  } else {
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) throw std::runtime_error("test_pki: mkdir " + dir);
    pki.dir = dir;
  }

  evp_key ca_key = make_ec_key();
  x509_ptr ca = make_cert(ca_key.get(), {{"O", "Herald tests"}, {"CN", "Herald test CA"}}, nullptr, nullptr,
                          cert_kind::ca);
  evp_key server_key = make_ec_key();
  x509_ptr server = make_cert(server_key.get(), {{"O", "Herald tests"}, {"CN", "127.0.0.1"}}, ca.get(), ca_key.get(),
                              cert_kind::server);

  pki.ca_file = pki.dir + "/ca.pem";
  pki.server_cert_file = pki.dir + "/server.pem";
  pki.server_key_file = pki.dir + "/server.key";
  detail::write_file(pki.ca_file, cert_pem(ca.get()), 0644);
  // The chain file carries the leaf only; clients trust the CA directly.
  detail::write_file(pki.server_cert_file, cert_pem(server.get()), 0644);
  detail::write_file(pki.server_key_file, pkcs8_pem(server_key.get()), 0600);

  evp_key apns_key = make_ec_key();
  pki.apns_p8_file = pki.dir + "/AuthKey_" + pki.apns_key_id + ".p8";
  detail::write_file(pki.apns_p8_file, pkcs8_pem(apns_key.get()), 0600);

  // Subject like Apple's "Apple Push Services" certificates.
  evp_key client_key = make_ec_key();
  x509_ptr client = make_cert(client_key.get(),
                              {{"UID", pki.apns_topic},
                               {"CN", "Apple Push Services: " + pki.apns_topic},
                               {"OU", pki.apns_team_id},
                               {"O", "Herald tests"}},
                              ca.get(), ca_key.get(), cert_kind::client);
  pki.apns_cert_pem_file = pki.dir + "/apns-cert.pem";
  pki.apns_cert_encrypted_pem_file = pki.dir + "/apns-cert-encrypted.pem";
  pki.apns_cert_p12_file = pki.dir + "/apns-cert.p12";
  pki.apns_cert_password_file = pki.dir + "/apns-cert.password";
  const std::string client_pem = cert_pem(client.get());
  detail::write_file(pki.apns_cert_pem_file, client_pem + pkcs8_pem(client_key.get()), 0600);
  detail::write_file(pki.apns_cert_encrypted_pem_file,
                     client_pem + pkcs8_pem(client_key.get(), pki.apns_cert_password), 0600);
  detail::write_file(pki.apns_cert_p12_file,
                     pkcs12_der(client_key.get(), client.get(), ca.get(), pki.apns_cert_password), 0600);
  detail::write_file(pki.apns_cert_password_file, pki.apns_cert_password + "\n", 0600);

  evp_key fcm_key(EVP_RSA_gen(2048));
  if (!fcm_key) throw std::runtime_error("test_pki: RSA keygen failed");
  pki.fcm_private_key_id = detail::random_hex(20);
  pki.fcm_service_account_file = pki.dir + "/service-account.json";
  boost::json::object sa;
  sa["type"] = "service_account";
  sa["project_id"] = pki.fcm_project_id;
  sa["private_key_id"] = pki.fcm_private_key_id;
  sa["private_key"] = pkcs8_pem(fcm_key.get());
  sa["client_email"] = pki.fcm_client_email;
  sa["client_id"] = "100000000000000000001";
  sa["auth_uri"] = "https://accounts.google.com/o/oauth2/auth";
  sa["token_uri"] = "https://127.0.0.1:1/token";
  sa["universe_domain"] = "googleapis.com";
  detail::write_file(pki.fcm_service_account_file, boost::json::serialize(sa), 0600);
  return pki;
}

const test_pki& test_pki::shared() {
  struct owned {
    test_pki pki = generate();
    ~owned() { pki.remove_files(); }
  };
  static const owned holder;
  return holder.pki;
}

void test_pki::remove_files() const {
  if (dir.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

void test_pki::set_fcm_token_uri(const std::string& token_uri) const {
  auto v = boost::json::parse(detail::read_file(fcm_service_account_file));
  v.as_object()["token_uri"] = token_uri;
  detail::write_file(fcm_service_account_file, boost::json::serialize(v), 0600);
}

std::string make_apns_jwt(const std::string& p8_file, const std::string& key_id, const std::string& team_id,
                          std::int64_t iat_unix_seconds) {
  auto key = detail::load_private_key_file(p8_file);
  boost::json::object header{{"alg", "ES256"}, {"kid", key_id}};
  boost::json::object claims{{"iss", team_id}, {"iat", iat_unix_seconds}};
  return detail::make_jws(key.get(), header, claims, true);
}

std::string make_fcm_assertion(const std::string& service_account_file, std::int64_t iat_unix_seconds,
                               std::chrono::seconds lifetime) {
  auto sa = boost::json::parse(detail::read_file(service_account_file)).as_object();
  auto key = detail::load_private_key_pem(std::string(sa.at("private_key").as_string()));
  boost::json::object header{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", sa.at("private_key_id")}};
  boost::json::object claims{{"iss", sa.at("client_email")},
                             {"scope", "https://www.googleapis.com/auth/firebase.messaging"},
                             {"aud", sa.at("token_uri")},
                             {"iat", iat_unix_seconds},
                             {"exp", iat_unix_seconds + lifetime.count()}};
  return detail::make_jws(key.get(), header, claims, false);
}

}  // namespace herald::test
