#include "api/access/authorization.hpp"

#include <algorithm>

namespace herald::authz {

credential_kind kind_of(const principal& who) {
  return who.associate_id ? credential_kind::bound : credential_kind::service;
}

bool acts_for(const principal& who, std::int64_t owner) { return !who.associate_id || *who.associate_id == owner; }

visibility visibility_of(const principal& who, std::int64_t owner) {
  return acts_for(who, owner) ? visibility::visible : visibility::hidden;
}

associate_target target_associate(const principal& who, std::optional<std::int64_t> requested) {
  if (!requested) requested = who.associate_id;
  if (!requested) return {target_verdict::missing, 0};
  if (!acts_for(who, *requested)) return {target_verdict::foreign, 0};
  return {target_verdict::ok, *requested};
}

registration_verdict decide_registration(const principal& who, std::int64_t new_owner,
                                         const std::optional<stored_registration>& stored,
                                         std::string_view presented_pns_handle) {
  if (!stored) return registration_verdict::create;
  if (stored->owner == new_owner) return registration_verdict::update;
  if (kind_of(who) == credential_kind::service) return registration_verdict::move_by_service;
  // A phone handed to a new user keeps its push token: knowing it is the proof.
  if (!presented_pns_handle.empty() && presented_pns_handle == stored->pns_handle)
    return registration_verdict::move_with_proof;
  return registration_verdict::refuse;
}

std::optional<std::int64_t> registration_guard(const principal& who, std::int64_t new_owner) {
  if (kind_of(who) == credential_kind::service) return std::nullopt;
  return new_owner;
}

bool participates(const principal& who, std::span<const std::int64_t> associate_ids) {
  if (!who.associate_id) return true;
  return std::find(associate_ids.begin(), associate_ids.end(), *who.associate_id) != associate_ids.end();
}

appointment_verdict appointment_read(const principal& who, std::span<const std::int64_t> associate_ids) {
  return participates(who, associate_ids) ? appointment_verdict::allow : appointment_verdict::hidden;
}

appointment_verdict appointment_write(const principal& who,
                                      const std::optional<std::span<const std::int64_t>>& existing,
                                      std::span<const std::int64_t> requested) {
  if (existing && !participates(who, *existing)) return appointment_verdict::hidden;
  if (!participates(who, requested)) return appointment_verdict::must_participate;
  return appointment_verdict::allow;
}

appointment_verdict appointment_delete(const principal& who, std::span<const std::int64_t> existing) {
  return appointment_read(who, existing);
}

bool may_message_anyone(const principal& who) {
  return kind_of(who) == credential_kind::service || who.has_scope(scope::messages_any);
}

bool may_message(const principal& who, std::span<const std::int64_t> associates) {
  if (may_message_anyone(who)) return true;
  return std::all_of(associates.begin(), associates.end(), [&](std::int64_t a) { return a == *who.associate_id; });
}

std::string_view admin_scope(admin_access access) {
  return access == admin_access::read ? scope::admin_read : scope::admin_write;
}

admin_verdict admin_decision(const principal& who, admin_access access) {
  if (!who.has_scope(admin_scope(access))) return admin_verdict::missing_scope;
  if (kind_of(who) == credential_kind::bound) return admin_verdict::bound_credential;
  return admin_verdict::allow;
}

}  // namespace herald::authz
