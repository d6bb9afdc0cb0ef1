#pragma once
// The ownership rule of every surface, in one place (docs/SECURITY.md).
//
// A *service* credential has no associate_id: it acts for any associate
// within its scopes. A *bound* credential acts for its associate only: it
// reads and changes that associate's devices and the appointments it takes
// part in, and messages reach only that associate unless it holds
// `messages.any`. What a bound credential may not see answers exactly like
// something unknown, so the answer never tells whether it exists.
//
// Pure: every route asks these functions and carries out the verdict.
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "api/access/auth.hpp"

namespace herald::authz {

// Scopes (a credential's `scopes` in tokens.yaml).
namespace scope {
inline constexpr std::string_view devices_read = "devices.read";
inline constexpr std::string_view devices_write = "devices.write";
inline constexpr std::string_view subscriptions_read = "subscriptions.read";
inline constexpr std::string_view subscriptions_write = "subscriptions.write";
inline constexpr std::string_view messages_write = "messages.write";
inline constexpr std::string_view messages_any = "messages.any";
inline constexpr std::string_view appointments_read = "appointments.read";
inline constexpr std::string_view appointments_write = "appointments.write";
inline constexpr std::string_view broker_run = "broker.run";
inline constexpr std::string_view admin_read = "admin.read";
inline constexpr std::string_view admin_write = "admin.write";
}  // namespace scope

// The owner recorded for something nobody registered for (an IBM device
// written by a service credential with a non-numeric userId, a ForeignSystem
// device added by a service credential).
inline constexpr std::int64_t no_associate = 0;

enum class credential_kind { service, bound };
credential_kind kind_of(const principal& who);

// True when `who` acts for `owner`: a service credential acts for anyone, a
// bound one for its own associate only.
bool acts_for(const principal& who, std::int64_t owner);

// What a route shows of something owned by `owner`.
enum class visibility {
  visible,
  hidden,  // answer exactly as for an unknown identifier
};
visibility visibility_of(const principal& who, std::int64_t owner);

// The associate a request names (AssociateId of GetRegisteredDevices,
// SetPushNotificationTagsForUser, RegisterDeviceForPushNotification).
// Naming another associate is a refusal of the request itself (it reveals
// nothing stored), so it is `foreign` (403), not hidden.
enum class target_verdict { ok, missing, foreign };
struct associate_target {
  target_verdict verdict = target_verdict::missing;
  std::int64_t associate = 0;  // valid when ok
};
associate_target target_associate(const principal& who, std::optional<std::int64_t> requested);

// Registering a DeviceIdentifier. The stored registration, if any:
struct stored_registration {
  std::int64_t owner = no_associate;
  std::string_view pns_handle;
};
enum class registration_verdict {
  create,           // a new device
  update,           // the owner registers again
  move_with_proof,  // another owner's device, and the request carries its stored PNSHandle
  move_by_service,  // a service credential moves it
  refuse,           // another owner's device without proof: 409, nothing changes
};
// `new_owner` is the associate the device will belong to (target_associate).
registration_verdict decide_registration(const principal& who, std::int64_t new_owner,
                                         const std::optional<stored_registration>& stored,
                                         std::string_view presented_pns_handle);
// The owner a bound registration requires of the stored record, for the
// store's atomic check (the store refuses a different owner whose PNSHandle
// is not the presented one): nullopt for a service credential (no check).
std::optional<std::int64_t> registration_guard(const principal& who, std::int64_t new_owner);

// Appointments: a bound credential takes part when its associate is among
// the appointment's AssociateIds.
bool participates(const principal& who, std::span<const std::int64_t> associate_ids);
enum class appointment_verdict {
  allow,
  hidden,           // an existing appointment the caller does not take part in: 404
  must_participate  // a bound credential stores one without its own associate: 403
};
appointment_verdict appointment_read(const principal& who, std::span<const std::int64_t> associate_ids);
// `existing`: the stored appointment's participants (nullopt: new).
appointment_verdict appointment_write(const principal& who,
                                      const std::optional<std::span<const std::int64_t>>& existing,
                                      std::span<const std::int64_t> requested);
appointment_verdict appointment_delete(const principal& who, std::span<const std::int64_t> existing);

// Messages: whether `who` may address `associates` (SendPushNotification,
// IBM userIds) and whole applications or other associates' devices.
bool may_message_anyone(const principal& who);
bool may_message(const principal& who, std::span<const std::int64_t> associates);

// Admin routes (/api/v1/admin/...: delivery traces, dead letters) show and
// change every associate's data: only a service credential with the scope
// (admin.read to read, admin.write to replay or purge) may use them. A bound
// credential is refused even with the scope (403, like a missing scope).
enum class admin_access { read, write };
std::string_view admin_scope(admin_access access);
enum class admin_verdict {
  allow,
  missing_scope,    // 403
  bound_credential  // 403: acts for one associate, these routes concern all
};
admin_verdict admin_decision(const principal& who, admin_access access);

}  // namespace herald::authz
