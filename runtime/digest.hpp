#pragma once
// Herald's one place for digests and hex: SHA-256 (token hashes, apns-id
// derivation), SHA-1 (Redis script ids) and lowercase hex. OpenSSL 3 EVP,
// with each algorithm fetched once and a context reused per thread.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace herald {

// Lowercase hex of `bytes`.
std::string to_hex(std::span<const std::uint8_t> bytes);

std::array<std::uint8_t, 32> sha256_digest(std::string_view text);
std::string sha256_hex(std::string_view text);
std::string sha1_hex(std::string_view text);

}  // namespace herald
