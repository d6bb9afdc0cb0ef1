#pragma once
// Pure decoding/encoding of the IBM MobileFirst push REST bodies
// (/imfpush/v1/apps/{applicationId}/..., docs/IBM-PUSH.md).
// No I/O: every 400 the IBM routes answer is decided here.
//
// Errors use api_error with `type` as the IBM-style code; the body is
// {"code":"<type>","message":"<message>"} (encode_ibm_error).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/common/api_error.hpp"
#include "model/device.hpp"
#include "model/push_message.hpp"

namespace herald {

// Bounds of the IBM surface (beyond model/device.hpp's field bounds).
inline constexpr std::size_t ibm_max_user_id_size = 254;    // IBM: "userId longer than 254 characters" is a 400
inline constexpr std::size_t ibm_max_app_id_size = 128;     // applicationId: [A-Za-z0-9._-]{1,128}
inline constexpr std::size_t ibm_default_page_size = 100;   // GET lists: size when not given
inline constexpr std::size_t ibm_max_page_size = 100;       // GET lists: a larger size is clamped to this
inline constexpr std::size_t ibm_max_target_list = 1000;    // messages: entries per target list
inline constexpr std::size_t ibm_max_alert_size = 4000;     // messages: message.alert (APNs payloads are 4 KiB)
inline constexpr std::size_t ibm_max_data_entries = 64;     // messages: settings.*.payload entries

// IBM platform values: A (Apple), G (Google), W (Windows), and for Herald's
// Web platform (browsers, Web Push) WEB, also accepted as IBM Cloud Push's
// browser values WEB_CHROME, WEB_FIREFOX and WEB_EDGE (WEB_SAFARI, Safari's
// APNs-based website push, is not Web Push and stays refused).
// A registration's value maps to the base NotificationPlatform; every
// variant maps back to its value (AppleDeveloper -> A, Web -> WEB).
std::optional<notification_platform> platform_from_ibm(std::string_view value);
// The one-letter code the registry indexes IBM platforms by (Web: 'B').
char ibm_platform_letter(notification_platform platform);
// The platform value IBM clients read back: "A", "G", "W" or "WEB".
std::string ibm_platform_value(notification_platform platform);
// The NotificationPlatform names one letter stands for in a message target
// ("A" -> Apple, AppleDeveloper, AppleAdHoc).
std::vector<std::string> platform_names_for_ibm(char letter);

// A userId that is a positive decimal integer without sign or leading zero
// (and fits int64) names the CRM associate; anything else names no associate.
std::optional<std::int64_t> associate_from_user_id(std::string_view user_id);

// applicationId as it may appear in Redis keys and scopes.
bool valid_ibm_app_id(std::string_view app_id);

// Content negotiation: IBM produces and consumes application/json only.
// accepts_json: empty Accept, application/json, application/*, */* (q > 0).
bool ibm_accepts_json(std::string_view accept);
// is_json_content_type: application/json with optional parameters.
bool ibm_is_json_content_type(std::string_view content_type);

// POST /devices.
struct ibm_device_registration {
  std::string device_id;
  std::string phone_number;
  notification_platform platform = notification_platform::apple;
  std::string token;
  std::optional<std::string> user_id;  // nullopt: not given
  std::string user_agent;
};
decoded<ibm_device_registration> decode_ibm_device_registration(std::string_view json);

// PUT /devices/{deviceId}: every field optional; a deviceId in the
// body must equal the path's.
struct ibm_device_update {
  std::optional<std::string> phone_number;
  std::optional<std::string> token;
  std::optional<std::string> user_id;
  std::optional<notification_platform> platform;
};
decoded<ibm_device_update> decode_ibm_device_update(std::string_view json, std::string_view path_device_id);

// POST /subscriptions {deviceId, tagName}; DELETE takes the same from the query.
struct ibm_subscription {
  std::string device_id;
  std::string tag_name;
};
decoded<ibm_subscription> decode_ibm_subscription(std::string_view json);
// tagName bounds: 1..max_tag_size bytes, no comma (Pocket joins tags with commas).
std::optional<api_error> check_ibm_tag_name(std::string_view tag_name);
std::optional<api_error> check_ibm_device_id(std::string_view device_id);

// POST /messages.
struct ibm_message_request {
  std::string alert;  // message.alert (required)
  std::string url;    // message.url
  std::string title;  // settings.apns.title, else settings.gcm.style.title
  bool silent = false;  // settings.apns.type == "SILENT"
  int time_to_live_s = 0;  // settings.gcm.timeToLive (seconds)
  std::vector<std::pair<std::string, std::string>> data;  // settings.apns.payload + settings.gcm.payload
  // target: an absent list is nullopt; a given list is never empty.
  std::optional<std::vector<std::string>> device_ids;
  std::optional<std::vector<std::string>> user_ids;
  std::optional<std::vector<char>> platforms;  // letters A/G/W
  std::optional<std::vector<std::string>> tag_names;
  std::string message_json;  // the "message" object, re-serialized for the 202 answer
};
decoded<ibm_message_request> decode_ibm_message(std::string_view json);

// The push_message for the broker; `extra_device_ids` are devices resolved
// by the caller (userIds that name no associate, or a broadcast to the app).
push_message to_push_message(const ibm_message_request& m, const std::string& app_id,
                             const std::vector<std::string>& extra_device_ids);

// GET /devices query: filter=platform==A[;userId==x], userId=, offset=, size=.
struct ibm_device_query {
  std::optional<char> platform;
  std::optional<std::string> user_id;
  std::size_t offset = 0;
  std::size_t size = ibm_default_page_size;
};
// Each argument is the raw decoded query value (nullopt when absent).
decoded<ibm_device_query> decode_ibm_device_query(const std::optional<std::string>& filter,
                                                  const std::optional<std::string>& user_id,
                                                  const std::optional<std::string>& offset,
                                                  const std::optional<std::string>& size);
// offset/size alone (GET /subscriptions).
decoded<std::pair<std::size_t, std::size_t>> decode_ibm_paging(const std::optional<std::string>& offset,
                                                               const std::optional<std::string>& size);

// "2015-05-20T11:42:11Z" (UTC, second precision).
std::string format_iso8601_utc(std::int64_t unix_ms);

// IBM's registration JSON (createdMode, createdTime, deviceId,
// lastUpdatedTime, phoneNumber, platform, token, userId, userAgent).
std::string encode_ibm_registration(const device_info& device);

struct ibm_page_info {
  std::size_t count = 0;
  std::size_t total_count = 0;
  std::string next;      // relative URL of the next page, "" when none
  std::string previous;  // relative URL of the previous page, "" when none
};
// next/previous links for `path` with `params` (in order) plus offset & size.
ibm_page_info make_ibm_page_info(std::string_view path, const std::vector<std::pair<std::string, std::string>>& params,
                                 std::size_t offset, std::size_t size, std::size_t count, std::size_t total_count);
std::string encode_ibm_device_list(const std::vector<device_info>& devices, const ibm_page_info& page);

struct ibm_subscription_view {
  std::string device_id;
  std::string tag_name;
  std::string user_id;
};
std::string encode_ibm_subscription(const ibm_subscription_view& s);
std::string encode_ibm_subscription_list(const std::vector<ibm_subscription_view>& subs, const ibm_page_info& page);

// 202 body: {"message":<message_json>,"messageId":"<id>"}.
std::string encode_ibm_message_accepted(const std::string& message_json, const std::string& message_id);

// {"code":"<type>","message":"<message>"}.
std::string encode_ibm_error(const api_error& error);

}  // namespace herald
