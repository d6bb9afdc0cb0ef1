// The ownership rule (api/authorization), one table per decision.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "api/access/authorization.hpp"

namespace herald {
namespace {

using namespace authz;

principal service(std::vector<std::string> scopes = {}) { return principal{"svc", std::move(scopes), std::nullopt}; }
principal bound(std::int64_t associate, std::vector<std::string> scopes = {}) {
  return principal{"app", std::move(scopes), associate};
}

TEST(Authorization, KindAndActsFor) {
  struct row {
    principal who;
    std::int64_t owner;
    bool acts;
  };
  const std::vector<row> rows = {
      {service(), 42, true},         {service(), no_associate, true}, {bound(919), 919, true},
      {bound(919), 42, false},       {bound(919), no_associate, false},
  };
  for (const auto& r : rows) {
    EXPECT_EQ(acts_for(r.who, r.owner), r.acts) << r.who.name << " owner " << r.owner;
    EXPECT_EQ(visibility_of(r.who, r.owner), r.acts ? visibility::visible : visibility::hidden);
  }
  EXPECT_EQ(kind_of(service()), credential_kind::service);
  EXPECT_EQ(kind_of(bound(1)), credential_kind::bound);
}

TEST(Authorization, TargetAssociate) {
  struct row {
    principal who;
    std::optional<std::int64_t> requested;
    target_verdict verdict;
    std::int64_t associate;
  };
  const std::vector<row> rows = {
      {service(), 42, target_verdict::ok, 42},
      {service(), std::nullopt, target_verdict::missing, 0},
      {bound(919), std::nullopt, target_verdict::ok, 919},
      {bound(919), 919, target_verdict::ok, 919},
      {bound(919), 42, target_verdict::foreign, 0},
  };
  for (const auto& r : rows) {
    auto t = target_associate(r.who, r.requested);
    EXPECT_EQ(t.verdict, r.verdict) << r.who.name << " requested " << r.requested.value_or(-1);
    if (r.verdict == target_verdict::ok) {
      EXPECT_EQ(t.associate, r.associate);
    }
  }
}

TEST(Authorization, Registration) {
  struct row {
    const char* name;
    principal who;
    std::int64_t new_owner;
    std::optional<stored_registration> stored;
    std::string_view presented;
    registration_verdict verdict;
  };
  const std::vector<row> rows = {
      {"new device", bound(919), 919, std::nullopt, "tok", registration_verdict::create},
      {"own device again", bound(919), 919, stored_registration{919, "old"}, "new", registration_verdict::update},
      {"another's, no proof", bound(919), 919, stored_registration{42, "tok-42"}, "mine", registration_verdict::refuse},
      {"another's, empty handle", bound(919), 919, stored_registration{42, ""}, "", registration_verdict::refuse},
      {"phone handed over", bound(919), 919, stored_registration{42, "tok-42"}, "tok-42", registration_verdict::move_with_proof},
      {"nobody's, no proof", bound(919), 919, stored_registration{no_associate, "t"}, "x", registration_verdict::refuse},
      {"service moves", service(), 919, stored_registration{42, "tok-42"}, "other", registration_verdict::move_by_service},
      {"service same owner", service(), 42, stored_registration{42, "a"}, "b", registration_verdict::update},
  };
  for (const auto& r : rows) EXPECT_EQ(decide_registration(r.who, r.new_owner, r.stored, r.presented), r.verdict) << r.name;
  EXPECT_EQ(registration_guard(service(), 42), std::nullopt);
  EXPECT_EQ(registration_guard(bound(919), 919), 919);
}

TEST(Authorization, Appointments) {
  const std::vector<std::int64_t> with_919 = {42, 919};
  const std::vector<std::int64_t> without_919 = {42, 43};
  const std::vector<std::int64_t> none;
  using span = std::span<const std::int64_t>;
  EXPECT_EQ(appointment_read(bound(919), with_919), appointment_verdict::allow);
  EXPECT_EQ(appointment_read(bound(919), without_919), appointment_verdict::hidden);
  EXPECT_EQ(appointment_read(service(), without_919), appointment_verdict::allow);
  EXPECT_EQ(appointment_delete(bound(919), without_919), appointment_verdict::hidden);
  EXPECT_EQ(appointment_delete(bound(919), with_919), appointment_verdict::allow);
  struct row {
    const char* name;
    principal who;
    std::optional<span> existing;
    span requested;
    appointment_verdict verdict;
  };
  const std::vector<row> rows = {
      {"new, invites colleagues", bound(919), std::nullopt, with_919, appointment_verdict::allow},
      {"new, only others", bound(919), std::nullopt, without_919, appointment_verdict::must_participate},
      {"new, nobody", bound(919), std::nullopt, none, appointment_verdict::must_participate},
      {"change own", bound(919), span(with_919), with_919, appointment_verdict::allow},
      {"leave own", bound(919), span(with_919), without_919, appointment_verdict::must_participate},
      {"overwrite another's", bound(919), span(without_919), with_919, appointment_verdict::hidden},
      {"service anything", service(), span(without_919), none, appointment_verdict::allow},
  };
  for (const auto& r : rows) EXPECT_EQ(appointment_write(r.who, r.existing, r.requested), r.verdict) << r.name;
}

TEST(Authorization, Messages) {
  const std::vector<std::int64_t> self = {919};
  const std::vector<std::int64_t> other = {42};
  const std::vector<std::int64_t> both = {919, 42};
  const std::vector<std::int64_t> none;
  EXPECT_TRUE(may_message(bound(919), self));
  EXPECT_TRUE(may_message(bound(919), none));
  EXPECT_FALSE(may_message(bound(919), other));
  EXPECT_FALSE(may_message(bound(919), both));
  EXPECT_TRUE(may_message(bound(919, {"messages.any"}), both));
  EXPECT_TRUE(may_message(service(), both));
  EXPECT_FALSE(may_message_anyone(bound(919, {"messages.write"})));
  EXPECT_TRUE(may_message_anyone(bound(919, {"messages.any"})));
  EXPECT_TRUE(may_message_anyone(service()));
}

TEST(Authorization, Admin) {
  struct row {
    principal who;
    admin_access access;
    admin_verdict verdict;
  };
  const std::vector<row> rows = {
      {service({"admin.read"}), admin_access::read, admin_verdict::allow},
      {service({"admin.read"}), admin_access::write, admin_verdict::missing_scope},
      {service({"admin.write"}), admin_access::write, admin_verdict::allow},
      {service({"admin.write"}), admin_access::read, admin_verdict::missing_scope},  // write does not imply read
      {service({"admin.read", "admin.write"}), admin_access::write, admin_verdict::allow},
      {service({"devices.read", "broker.run"}), admin_access::read, admin_verdict::missing_scope},
      {service(), admin_access::read, admin_verdict::missing_scope},
      {bound(42, {"admin.read"}), admin_access::read, admin_verdict::bound_credential},
      {bound(42, {"admin.read", "admin.write"}), admin_access::write, admin_verdict::bound_credential},
      {bound(42, {"devices.read"}), admin_access::read, admin_verdict::missing_scope},
  };
  for (std::size_t i = 0; i < rows.size(); ++i)
    EXPECT_EQ(admin_decision(rows[i].who, rows[i].access), rows[i].verdict) << "row " << i;
  EXPECT_EQ(admin_scope(admin_access::read), "admin.read");
  EXPECT_EQ(admin_scope(admin_access::write), "admin.write");
}

}  // namespace
}  // namespace herald
