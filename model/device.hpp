#pragma once
// A registered device, as the Pocket agent's PocketDeviceInfo describes it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace herald {

// SuperOffice NotificationPlatform, by its JSON/SOAP name, plus Herald's
// extension `Web` (a browser's Web Push subscription; not a SuperOffice value).
enum class notification_platform { apple, google, microsoft, apple_developer, apple_ad_hoc, google_developer, web };

std::string_view to_string(notification_platform platform);
// Case-insensitive match of the NotificationPlatform names; nullopt if unknown.
std::optional<notification_platform> parse_platform(std::string_view name);

// Field size bounds, enforced by every decoder that accepts a device.
inline constexpr std::size_t max_device_identifier_size = 256;
inline constexpr std::size_t max_pns_handle_size = 4096;
inline constexpr std::size_t max_device_text_size = 256;  // DeviceName, PocketVersion, Language, OSVersion
inline constexpr std::size_t max_device_tags = 64;          // tags per device
inline constexpr std::size_t max_tag_size = 128;

struct device_info {
  std::string device_identifier;  // stable per device; the registry key
  std::string device_name;
  std::string pocket_version;
  std::string language;
  std::string pns_handle;  // the token at APNs/FCM, WNS channel URI, or (Web) the subscription JSON
  notification_platform platform = notification_platform::apple;
  std::string os_version;
  std::int32_t time_zone_id = 0;  // SuperOffice TZLocation id; 0 = unknown
  std::int64_t associate_id = 0;  // owner
  std::int64_t registered_at_ms = 0;  // last registration, ms since epoch (UTC)
  std::int64_t created_at_ms = 0;     // first registration (0 = same as registered_at_ms)

  // Event names the device wants (Pocket SetPushNotificationTagsFor*).
  // nullopt = never set: the defaults apply (appointment alarms on).
  std::optional<std::vector<std::string>> tags;

  // IBM MobileFirst registration fields (empty for Pocket-only devices).
  std::string user_id;
  std::string phone_number;
  std::string app_id;  // applicationId it was registered through ("" = the default app)
  std::string user_agent;
  // IBM subscriptions (tagName): topics for IBM messages sent to tagNames.
  // Kept apart from the Pocket tags, so that subscribing to a topic never
  // turns the device's appointment alarms off. At most max_device_tags.
  std::vector<std::string> subscriptions;

  bool operator==(const device_info&) const = default;
};

}  // namespace herald
