#include "broker/delivery_policy.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "api/appointments/appointment_codec.hpp"
#include "model/appointment.hpp"

namespace herald {
namespace {

using namespace std::chrono;

TEST(Appointment, Iso8601) {
  auto t = parse_iso8601("2026-11-24T13:00:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_iso8601(*t), "2026-11-24T13:00:00Z");
  EXPECT_EQ(parse_iso8601("2026-11-24T14:00:00+01:00"), t);
  EXPECT_EQ(parse_iso8601("2026-11-24T08:00:00.250-05:00"), t);
  EXPECT_FALSE(parse_iso8601("2026-11-24T13:00:00"));  // no offset
  EXPECT_FALSE(parse_iso8601("2026-02-30T13:00:00Z"));
  EXPECT_FALSE(parse_iso8601("2026-11-24 13:00"));
  EXPECT_FALSE(parse_iso8601("2026-11-24T13:00:00+1:00"));
}

TEST(Appointment, TimeSpan) {
  EXPECT_EQ(parse_timespan("00:15:00"), seconds(900));
  EXPECT_EQ(parse_timespan("1.02:00:00"), seconds(86400 + 7200));
  EXPECT_FALSE(parse_timespan("15:00"));
  EXPECT_FALSE(parse_timespan("00:61:00"));
  EXPECT_FALSE(parse_timespan("-00:15:00"));
  EXPECT_EQ(format_timespan(seconds(900)), "00:15:00");
  EXPECT_EQ(format_timespan(seconds(86400 + 60)), "1.00:01:00");
}

TEST(Appointment, DueTimeAndTiming) {
  appointment a;
  a.start = *parse_iso8601("2026-11-24T13:00:00Z");
  a.lead_time = minutes(15);
  EXPECT_FALSE(alarm_due_ms(a));
  EXPECT_EQ(alarm_timing(a), "off");
  a.has_alarm = true;
  EXPECT_EQ(*alarm_due_ms(a), duration_cast<milliseconds>((*parse_iso8601("2026-11-24T12:45:00Z")).time_since_epoch()).count());
  auto before = alarm_timing(a);
  a.title = "renamed";
  EXPECT_EQ(alarm_timing(a), before);  // a title change does not re-arm
  a.lead_time = minutes(10);
  EXPECT_NE(alarm_timing(a), before);
}

TEST(Appointment, RecordRoundTrip) {
  appointment a;
  a.id = "A-1";
  a.associate_ids = {919, 42};
  a.title = "Board";
  a.location = "Room 4";
  a.type = "Meeting";
  a.start = *parse_iso8601("2026-11-24T13:00:00Z");
  a.end = *parse_iso8601("2026-11-24T14:00:00Z");
  a.has_alarm = true;
  a.lead_time = minutes(15);
  a.is_private = true;
  a.revision = 3;
  auto back = decode_appointment_record(encode_appointment(a));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, a);
}

TEST(AppointmentCodec, ValidationErrors) {
  auto err = [](std::string_view body, std::string_view id = "A1") {
    auto r = decode_appointment_request(body, id);
    auto* e = std::get_if<api_error>(&r);
    return e ? e->message : std::string("ok");
  };
  const std::string good = R"({"AssociateIds":[919],"Title":"T","StartDate":"2026-11-24T13:00:00Z","HasAlarm":true,"AlarmLeadTime":"00:15:00"})";
  EXPECT_EQ(err(good), "ok");
  EXPECT_NE(err(good, "bad id!").find("AppointmentId"), std::string::npos);
  EXPECT_NE(err(R"({"AssociateIds":[],"StartDate":"2026-11-24T13:00:00Z"})").find("AssociateIds"), std::string::npos);
  EXPECT_NE(err(R"({"AssociateIds":[919],"StartDate":"2026-11-24T13:00:00"})").find("StartDate"), std::string::npos);
  EXPECT_NE(err(R"({"AssociateIds":[919],"StartDate":"2026-11-24T13:00:00Z","HasAlarm":true})").find("AlarmLeadTime is required"), std::string::npos);
  EXPECT_NE(err(R"({"AssociateIds":[919],"StartDate":"2026-11-24T13:00:00Z","HasAlarm":true,"AlarmLeadTime":"15 min"})").find("AlarmLeadTime"), std::string::npos);
  EXPECT_NE(err(R"({"AssociateIds":[919],"StartDate":"2026-11-24T13:00:00Z","EndDate":"2026-11-24T12:00:00Z"})").find("EndDate"), std::string::npos);
  EXPECT_NE(err(R"({"AssociateIds":[919],"StartDate":"2026-11-24T13:00:00Z","Title":")" + std::string(2000, 'x') + "\"}").find("Title"), std::string::npos);
  EXPECT_NE(err("{").find("malformed"), std::string::npos);
}

device_info device_with_tags(std::optional<std::vector<std::string>> tags) {
  device_info d;
  d.device_identifier = "d";
  d.tags = std::move(tags);
  return d;
}

TEST(DeliveryPolicy, Tags) {
  EXPECT_TRUE(device_wants(device_with_tags(std::nullopt), alarm_event));
  EXPECT_TRUE(device_wants(device_with_tags(std::vector<std::string>{"appointmentalarm"}), alarm_event));
  EXPECT_TRUE(device_wants(device_with_tags(std::vector<std::string>{"All"}), alarm_event));
  EXPECT_FALSE(device_wants(device_with_tags(std::vector<std::string>{"NewTicket"}), alarm_event));
  EXPECT_FALSE(device_wants(device_with_tags(std::vector<std::string>{}), alarm_event));
}

delivery_result result_of(delivery_result::outcome kind, std::string reason = {}, std::chrono::milliseconds delay = {}) {
  delivery_result r;
  r.kind = kind;
  r.reason = std::move(reason);
  r.retry_delay = delay;
  return r;
}

TEST(DeliveryPolicy, Outcomes) {
  device_info d;
  d.registered_at_ms = 5'000;
  const std::int64_t now = 100'000, due = 90'000, lateness = 60'000;
  auto ok = result_of(delivery_result::outcome::delivered);
  EXPECT_EQ(plan_delivery(ok, d, now, due, lateness).action, delivery_action::record_delivered);

  auto gone = result_of(delivery_result::outcome::device_gone, "Unregistered");
  gone.gone_timestamp_ms = 4'000;  // token died before the device registered again? no: registered at 5000 > 4000
  EXPECT_EQ(plan_delivery(gone, d, now, due, lateness).action, delivery_action::keep_device);
  gone.gone_timestamp_ms = 6'000;
  EXPECT_EQ(plan_delivery(gone, d, now, due, lateness).action, delivery_action::remove_device);
  gone.gone_timestamp_ms.reset();  // FCM UNREGISTERED: no timestamp
  EXPECT_EQ(plan_delivery(gone, d, now, due, lateness).action, delivery_action::remove_device);

  auto retry = result_of(delivery_result::outcome::retry_after, "ServiceUnavailable", milliseconds(2'000));
  auto p = plan_delivery(retry, d, now, due, lateness);
  EXPECT_EQ(p.action, delivery_action::schedule_retry);
  EXPECT_EQ(p.retry_at_ms, now + 2'000);
  retry.retry_delay = milliseconds(60'000);  // past max_lateness: give up
  EXPECT_EQ(plan_delivery(retry, d, now, due, lateness).action, delivery_action::dead_letter);
  // A Retry-After far in the future (or one that would overflow) never schedules a retry past max_lateness.
  retry.retry_delay = milliseconds(std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(plan_delivery(retry, d, now, due, lateness).action, delivery_action::dead_letter);

  auto rejected = result_of(delivery_result::outcome::rejected, "PayloadTooLarge");
  auto r = plan_delivery(rejected, d, now, due, lateness);
  EXPECT_EQ(r.action, delivery_action::dead_letter);
  EXPECT_EQ(r.reason, "PayloadTooLarge");
  EXPECT_EQ(plan_delivery(result_of(delivery_result::outcome::no_provider, "no provider for this platform"), d, now, due, lateness).action,
            delivery_action::dead_letter);
  EXPECT_EQ(plan_delivery(result_of(delivery_result::outcome::config_error, "InvalidProviderToken", milliseconds(5'000)), d, now, due, lateness).action,
            delivery_action::schedule_retry);
}

TEST(DeliveryPolicy, Lateness) {
  EXPECT_FALSE(is_late(1000, 1000 + 60'000, 60'000));
  EXPECT_TRUE(is_late(1000, 1001 + 60'000, 60'000));
}

TEST(DeliveryPolicy, MessageTargets) {
  device_info d = device_with_tags(std::vector<std::string>{"NewTicket"});  // Pocket tags: not consulted
  d.platform = notification_platform::google;
  d.subscriptions = {"Gold", "Silver"};
  push_message m;
  EXPECT_TRUE(message_targets(m, d));  // no restriction
  m.platforms = {"Apple"};
  EXPECT_FALSE(message_targets(m, d));
  m.platforms = {"Apple", "Google"};
  EXPECT_TRUE(message_targets(m, d));
  m.tags = {"Bronze"};
  EXPECT_FALSE(message_targets(m, d));
  m.tags = {"Bronze", "Silver"};
  EXPECT_TRUE(message_targets(m, d));
  m.tags = {"NewTicket"};  // a Pocket tag is not a subscription
  EXPECT_FALSE(message_targets(m, d));
  m.tags.clear();
  m.app_id = "crm";  // an IBM message: devices of its application and Pocket-only ones
  EXPECT_TRUE(message_targets(m, d));
  d.app_id = "other";
  EXPECT_FALSE(message_targets(m, d));
  d.app_id = "crm";
  EXPECT_TRUE(message_targets(m, d));
  m.app_id.clear();  // a Pocket message: every device of the associate
  d.app_id = "other";
  EXPECT_TRUE(message_targets(m, d));
  EXPECT_TRUE(device_wants(d, "NewTicket"));
  EXPECT_FALSE(device_wants(d, alarm_event));
}

TEST(DeliveryPolicy, JudgeAlarm) {
  appointment a;
  a.has_alarm = true;
  a.revision = 3;
  const std::int64_t due = 10'000, lateness = 60'000;
  EXPECT_EQ(judge_alarm(a, 3, due, due + 5, lateness), alarm_verdict::fan_out);
  EXPECT_EQ(judge_alarm(std::nullopt, 3, due, due, lateness), alarm_verdict::stale);  // deleted
  EXPECT_EQ(judge_alarm(a, 2, due, due, lateness), alarm_verdict::stale);             // re-armed meanwhile
  a.has_alarm = false;
  EXPECT_EQ(judge_alarm(a, 3, due, due, lateness), alarm_verdict::stale);  // alarm switched off
  a.has_alarm = true;
  EXPECT_EQ(judge_alarm(a, 3, due, due + lateness + 1, lateness), alarm_verdict::late);
  a.revision = 4;  // stale wins over late: a re-armed alarm has its own due time
  EXPECT_EQ(judge_alarm(a, 3, due, due + lateness + 1, lateness), alarm_verdict::stale);
}

device_info device_of(std::string id, std::int64_t owner, std::optional<std::vector<std::string>> tags = std::nullopt) {
  device_info d = device_with_tags(std::move(tags));
  d.device_identifier = std::move(id);
  d.associate_id = owner;
  return d;
}

TEST(DeliveryPolicy, TraceActionNamesWhatHeraldDid) {
  EXPECT_EQ(trace_action(delivery_action::record_delivered), "delivered");
  EXPECT_EQ(trace_action(delivery_action::remove_device), "removed");
  EXPECT_EQ(trace_action(delivery_action::keep_device), "kept");
  EXPECT_EQ(trace_action(delivery_action::schedule_retry), "retry");
  EXPECT_EQ(trace_action(delivery_action::dead_letter), "dead_letter");
}

TEST(DeliveryPolicy, TargetsOfAssociates) {
  const std::vector<std::int64_t> listed{5, 7, 9};
  const std::vector<std::vector<device_info>> lists{
      {device_of("a", 5), device_of("b", 5, std::vector<std::string>{"NewTicket"})},
      {device_of("a", 7), device_of("c", 7, std::vector<std::string>{"All"})},  // "a" also listed under 7 (racing move)
      {}};
  auto t = targets_of({7, 5, 9, 11}, listed, lists, alarm_event);  // 11 was not listed: no devices
  ASSERT_EQ(t.wanted.size(), 2u);
  EXPECT_EQ(t.wanted[0]->device_identifier, "a");
  EXPECT_EQ(t.wanted[0]->associate_id, 7);  // first associate wins
  EXPECT_EQ(t.wanted[1]->device_identifier, "c");
  EXPECT_EQ(t.not_wanted, 1u);  // "b" opted out of alarms
  ASSERT_EQ(t.unwanted.size(), 1u);  // named, for the delivery trace
  EXPECT_EQ(t.unwanted[0]->device_identifier, "b");

  auto one = targets_of({5}, listed, lists, alarm_event);
  ASSERT_EQ(one.wanted.size(), 1u);
  EXPECT_EQ(one.wanted[0], &lists[0][0]);
  EXPECT_TRUE(targets_of({}, listed, lists, alarm_event).wanted.empty());
}

}  // namespace
}  // namespace herald
