#pragma once
// Pure decisions of the broker: who wants a notification, whether an alarm
// is too late, and what to do with each provider outcome.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <optional>
#include <vector>

#include "model/appointment.hpp"
#include "model/device.hpp"
#include "model/push_message.hpp"
#include "providers/provider.hpp"

namespace herald {

inline constexpr std::string_view alarm_event = "AppointmentAlarm";

// A device wants `event` when it never set tags (defaults: alarms on), or
// when its tags name the event (case-insensitive) or "All".
bool device_wants(const device_info& device, std::string_view event);

// Whether a message (SendPushNotification, IBM) goes to a device it
// addresses: an IBM message (app_id set) only to devices of its application
// or Pocket-only ones (a numeric userId names an associate, whose devices in
// other applications are not the sender's); its platform is among
// `platforms` (when given); it is subscribed to one of the IBM `tags` (when
// given). Pocket tags are not consulted: they opt in and out of Pocket
// events such as alarms.
bool message_targets(const push_message& m, const device_info& d);

// Later than max_lateness after its due time: dropped and counted, not sent.
bool is_late(std::int64_t due_ms, std::int64_t now_ms, std::int64_t max_lateness_ms);

// What to do with a claimed alarm (revision `revision`, due at `due_ms`)
// given the appointment as stored now.
enum class alarm_verdict {
  fan_out,  // send it
  stale,    // deleted, re-armed (other revision) or alarm switched off: skip
  late,     // later than max_lateness: drop and count
};
alarm_verdict judge_alarm(const std::optional<appointment>& stored, std::int64_t revision, std::int64_t due_ms,
                          std::int64_t now_ms, std::int64_t max_lateness_ms);

// The targets of one notification: every device of `associates`, each once
// (an identifier listed under two associates counts once), split by whether
// it wants `event`. `lists[i]` holds the devices of `listed[i]`; `listed` is
// sorted. Pointers point into `lists`.
struct fan_out_targets {
  std::vector<const device_info*> wanted;
  std::size_t not_wanted = 0;
  std::vector<const device_info*> unwanted;  // the not_wanted devices (for the delivery trace)
};
fan_out_targets targets_of(const std::vector<std::int64_t>& associates, const std::vector<std::int64_t>& listed,
                           const std::vector<std::vector<device_info>>& lists, std::string_view event);

enum class delivery_action {
  record_delivered,  // provider accepted it
  remove_device,     // token gone: drop the registration
  keep_device,       // token reported gone before the device re-registered: keep it
  schedule_retry,    // temporary failure: retry at `retry_at_ms` (same delivery id)
  dead_letter,       // permanent: dead-letter stream with the reason
};

// What Herald did with an outcome, as the delivery trace names it:
// delivered, removed, kept, retry, dead_letter.
std::string_view trace_action(delivery_action a);

struct delivery_plan {
  delivery_action action = delivery_action::dead_letter;
  std::int64_t retry_at_ms = 0;
  std::string reason;
};

// `due_ms` is when the notification was due (alarm time or submission);
// retries stop once the next attempt would be later than max_lateness.
delivery_plan plan_delivery(const delivery_result& result, const device_info& device, std::int64_t now_ms,
                            std::int64_t due_ms, std::int64_t max_lateness_ms);

}  // namespace herald
