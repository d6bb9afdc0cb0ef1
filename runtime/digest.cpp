#include "runtime/digest.hpp"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

namespace herald {

namespace {

// `in` through the algorithm `name` into `out` (its size must be the digest's).
void digest(const char* name, std::string_view in, std::span<std::uint8_t> out) {
  struct md_deleter {
    void operator()(EVP_MD* m) const { EVP_MD_free(m); }
  };
  struct ctx_deleter {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  // Fetched once per algorithm and process (an implicit fetch per call costs a lookup each time).
  static const std::unique_ptr<EVP_MD, md_deleter> sha256(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  static const std::unique_ptr<EVP_MD, md_deleter> sha1(EVP_MD_fetch(nullptr, "SHA1", nullptr));
  thread_local std::unique_ptr<EVP_MD_CTX, ctx_deleter> ctx(EVP_MD_CTX_new());
  const EVP_MD* md = std::string_view(name) == "SHA256" ? sha256.get() : sha1.get();
  unsigned int length = 0;
  if (!md || !ctx || EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1 || EVP_DigestUpdate(ctx.get(), in.data(), in.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out.data(), &length) != 1 || length != out.size())
    throw std::runtime_error(std::string(name) + " failed");
}

}  // namespace

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (auto b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 0x0f];
  }
  return out;
}

std::array<std::uint8_t, 32> sha256_digest(std::string_view text) {
  std::array<std::uint8_t, 32> out{};
  digest("SHA256", text, out);
  return out;
}

std::string sha256_hex(std::string_view text) { return to_hex(sha256_digest(text)); }

std::string sha1_hex(std::string_view text) {
  std::array<std::uint8_t, 20> out{};
  digest("SHA1", text, out);
  return to_hex(out);
}

}  // namespace herald
