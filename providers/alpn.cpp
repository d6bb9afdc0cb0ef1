#include "providers/alpn.hpp"

namespace herald {

std::string_view to_string(http_version v) { return v == http_version::h2 ? "h2" : "http/1.1"; }

std::string_view alpn_offer_h2_or_http11() {
  static constexpr char wire[] = "\x02h2\x08http/1.1";
  return {wire, sizeof wire - 1};
}

std::optional<http_version> http_version_for_alpn(std::string_view selected) {
  if (selected == "h2") return http_version::h2;
  if (selected.empty() || selected == "http/1.1") return http_version::http11;
  return std::nullopt;
}

bool renegotiate_after(provider_error e) { return e == provider_error::connect_failed; }

}  // namespace herald
