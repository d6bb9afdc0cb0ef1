#include "providers/reason_label.hpp"

#include <algorithm>
#include <array>

namespace herald {

namespace {
// APNs reasons, FCM error codes, then Herald's own.
constexpr std::array<std::string_view, 63> known_reasons = {
    "BadCertificate",
    "BadCertificateEnvironment",
    "BadCollapseId",
    "BadDeviceToken",
    "BadExpirationDate",
    "BadMessageId",
    "BadPath",
    "BadPriority",
    "BadRequest",
    "BadTopic",
    "DeviceTokenNotForTopic",
    "DuplicateHeaders",
    "ExpiredProviderToken",
    "ExpiredToken",
    "Forbidden",
    "IdleTimeout",
    "InternalServerError",
    "InvalidProviderToken",
    "InvalidPushType",
    "MethodNotAllowed",
    "MissingDeviceToken",
    "MissingProviderToken",
    "MissingTopic",
    "PayloadEmpty",
    "PayloadTooLarge",
    "ServiceUnavailable",
    "Shutdown",
    "TokenExchangeFailed",
    "TokenExchangeUnavailable",
    "TooManyProviderTokenUpdates",
    "TooManyRequests",
    "TopicDisallowed",
    "Unregistered",
    "INTERNAL",
    "INVALID_ARGUMENT",
    "NOT_FOUND",
    "PERMISSION_DENIED",
    "QUOTA_EXCEEDED",
    "SENDER_ID_MISMATCH",
    "THIRD_PARTY_AUTH_ERROR",
    "UNAUTHENTICATED",
    "UNAVAILABLE",
    "UNREGISTERED",
    "UNSPECIFIED_ERROR",
    // WNS and Web Push
    "BadAuthSecret",
    "BadChannelUri",
    "BadSubscription",
    "BadSubscriptionKey",
    "ChannelExpired",
    "ChannelNotFound",
    "EncryptionFailed",
    "SubscriptionGone",
    "SubscriptionNotFound",
    "Throttled",
    "Unauthorized",
    "VapidRejected",
    "connection",
    "late",
    "no_provider",
    "send_failed",
    "timeout",
    "token",
    "transport",
};
}  // namespace

std::string_view reason_label(std::string_view reason) {
  if (reason.empty()) return "none";
  if (std::find(known_reasons.begin(), known_reasons.end(), reason) != known_reasons.end()) return reason;
  if (reason.starts_with("TokenExchange")) return "TokenExchangeFailed";
  if (reason.starts_with("VapidRejected")) return "VapidRejected";  // carries the service's text
  return "other";
}

}  // namespace herald
