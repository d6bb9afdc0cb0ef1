#include "providers/http_types.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>

namespace herald {

void set_authorization(http_request& request, std::string_view scheme, std::string_view credentials) {
  http_header* h = nullptr;
  for (auto& existing : request.headers)
    if (existing.name == "authorization") {
      h = &existing;
      break;
    }
  if (!h) h = &request.headers.emplace_back(http_header{"authorization", {}, true});
  h->value.clear();
  h->value.reserve(scheme.size() + 1 + credentials.size());
  h->value.append(scheme).append(" ").append(credentials);
  h->sensitive = true;
}

std::optional<std::string_view> http_response::header(std::string_view name) const {
  for (const auto& h : headers)
    if (h.name == name) return std::string_view(h.value);
  return std::nullopt;
}

std::string https_url::authority() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return port == 443 ? h : h + ":" + std::to_string(port);
}

std::optional<https_url> parse_https_url(std::string_view url) {
  constexpr std::string_view scheme = "https://";
  if (url.substr(0, scheme.size()) != scheme) return std::nullopt;
  url.remove_prefix(scheme.size());
  https_url out;
  auto slash = url.find('/');
  std::string_view hostport = url.substr(0, slash);
  out.path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  std::string_view port_text;
  if (!hostport.empty() && hostport.front() == '[') {
    auto close = hostport.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.host = std::string(hostport.substr(1, close - 1));
    auto rest = hostport.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port_text = rest.substr(1);
    }
  } else {
    auto colon = hostport.find(':');
    out.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) port_text = hostport.substr(colon + 1);
  }
  if (out.host.empty()) return std::nullopt;
  if (!port_text.empty() || hostport.ends_with(':')) {
    unsigned port = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || p != port_text.data() + port_text.size() || port == 0 || port > 65535) return std::nullopt;
    out.port = static_cast<std::uint16_t>(port);
  }
  return out;
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, std::int64_t now_unix_s) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (value.front() >= '0' && value.front() <= '9') {
    std::int64_t s = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), s);
    if (ec == std::errc::result_out_of_range && p == value.data() + value.size()) return max_retry_after;
    if (ec != std::errc{} || p != value.data() + value.size()) return std::nullopt;
    return std::min(std::chrono::seconds(s), max_retry_after);
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  std::tm tm{};
  std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  std::int64_t at = timegm(&tm);
  return std::min(std::chrono::seconds(at > now_unix_s ? at - now_unix_s : 0), max_retry_after);
}

}  // namespace herald
