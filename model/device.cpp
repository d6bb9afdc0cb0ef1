#include "model/device.hpp"

#include "model/text.hpp"

#include <array>
#include <cctype>

namespace herald {

namespace {
struct platform_name {
  notification_platform value;
  std::string_view name;
};
constexpr std::array<platform_name, 7> platform_names{{
    {notification_platform::apple, "Apple"},
    {notification_platform::google, "Google"},
    {notification_platform::microsoft, "Microsoft"},
    {notification_platform::apple_developer, "AppleDeveloper"},
    {notification_platform::apple_ad_hoc, "AppleAdHoc"},
    {notification_platform::google_developer, "GoogleDeveloper"},
    {notification_platform::web, "Web"},
}};

}  // namespace

std::string_view to_string(notification_platform platform) {
  for (const auto& p : platform_names)
    if (p.value == platform) return p.name;
  return "Apple";
}

std::optional<notification_platform> parse_platform(std::string_view name) {
  for (const auto& p : platform_names)
    if (iequals(p.name, name)) return p.value;
  return std::nullopt;
}

}  // namespace herald
