#pragma once
// Pure decoding/encoding of the Pocket agent's REST bodies (docs/API.md).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/common/api_error.hpp"
#include "api/common/agent_value.hpp"
#include "api/common/negotiation.hpp"
#include "model/device.hpp"
#include "model/text.hpp"
#include "model/push_message.hpp"

namespace herald {

struct register_device_request {
  device_info device;                       // associate_id not yet set
  std::optional<std::int64_t> associate_id;  // "AssociateId" at the top level, if given
};

// `{"DeviceInfo":{DeviceName, DeviceIdentifier, PocketVersion, Language,
// PNSHandle, Platform, OSVersion, TimeZoneId}, "AssociateId"?}`; property
// names are case-insensitive as in the WebAPI.
decoded<register_device_request> decode_register_device(std::string_view json);

// `{"AssociateId":919}`; an empty body gives nullopt.
decoded<std::optional<std::int64_t>> decode_associate_request(std::string_view json);

// PocketDeviceInfo[] with every property outside `select` nulled out.
std::string encode_devices_json(const std::vector<device_info>& devices, const field_selection& select);
std::string encode_devices_xml(const std::vector<device_info>& devices, const field_selection& select);

// PocketDeviceInfo[] as a typed value (SOAP responses).
agent_value devices_value(const std::vector<device_info>& devices);

// --- Tags (SetPushNotificationTagsFor{Device,User}, GetPushNotificationTagsForDevice)
//
// Accepted tag names (case-insensitive, stored in this spelling): the
// NotificationEventType values except Unknown (NewTicket, AppointmentInvitation,
// AppointmentMoved, AppointmentCancelled, NewTicketMessage, TicketActivated,
// TicketEscalated, QuoteApprovalRequest, QuoteApprovalApproved,
// QuoteApprovalDenied, AppointmentDeclined), "AppointmentAlarm" (the broker's
// alarms) and "All" (every event). Blanks around names and empty items are
// dropped, duplicates collapse; at most max_device_tags names of at most
// max_tag_size bytes. An empty string means "no notifications".
const std::vector<std::string_view>& accepted_tags();
decoded<std::vector<std::string>> parse_tags(std::string_view comma_separated);
// Comma-separated; a device that never set tags answers "All" (the default:
// every event, see broker/delivery_policy).
std::string join_tags(const std::optional<std::vector<std::string>>& tags);

struct device_tags_request {
  std::string device_identifier;
  std::vector<std::string> tags;
};
// {"DeviceIdentifier":"..","Tags":"AppointmentAlarm,NewTicket"} (Tags may also be a JSON array of names).
decoded<device_tags_request> decode_device_tags(std::string_view json);

struct user_tags_request {
  std::optional<std::int64_t> associate_id;  // nullopt: the credential's associate
  std::vector<std::string> tags;
};
// {"AssociateId":919,"Tags":".."}
decoded<user_tags_request> decode_user_tags(std::string_view json);

// {"DeviceIdentifier":".."} (GetPushNotificationTagsForDevice).
decoded<std::string> decode_device_identifier_request(std::string_view json);

// --- SendPushNotification
inline constexpr std::size_t max_push_associates = 1000;
inline constexpr std::size_t max_push_title_size = 512;
inline constexpr std::size_t max_push_body_size = 4000;
inline constexpr std::size_t max_push_url_size = 2048;
inline constexpr std::size_t max_push_extra_values = 32;
inline constexpr std::int64_t max_push_time_to_live_s = 2'419'200;  // 28 days (FCM's maximum)

// {"AssociateIds":[919],"Message":{Title, Message, Url, Silent, Type,
// TimeToLive, RecordId, Date, Duration, ExtraValues}} as a push_message:
// title/body/url/silent/time_to_live_s from the same-named fields, event =
// Type (Message, ImportantMessage, RemoteAction, YesNoQuestion, ShowWebPage;
// default Message), data = ExtraValues plus Type, RecordId, Date and Duration
// when given. Title or Message is required unless Silent.
decoded<push_message> decode_send_push(std::string_view json);

// The WebAPI error body.
std::string encode_error_json(const api_error& error);
std::string encode_error_xml(const api_error& error);


}  // namespace herald
