#pragma once
// The kinds of work in the work stream (docs/DATA-MODEL.md, "Broker") as
// types, with pure encoding to and from stream fields.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace herald {

// A due alarm claimed from the schedule: kind=alarm id rev due.
struct alarm_work {
  std::string appointment_id;
  std::int64_t revision = 0;
  std::int64_t due_ms = 0;  // Redis time
  bool operator==(const alarm_work&) const = default;
};

// A message to fan out (SendPushNotification, IBM): kind=message id due.
struct message_work {
  std::string message_id;
  std::int64_t due_ms = 0;  // when it was queued (Redis time)
  bool operator==(const message_work&) const = default;
};

// One delivery to try again: kind=retry job_kind id rev due device attempt app.
struct retry_work {
  std::string job_kind;  // "alarm" | "message": the delivery's own kind
  std::string id;        // appointment or message id
  std::int64_t revision = 0;
  std::int64_t due_ms = 0;
  std::string device;  // DeviceIdentifier
  int attempt = 1;     // this attempt's number (the first send was 0)
  std::string app;     // the job's application ("" = default)
  bool operator==(const retry_work&) const = default;
};

using work = std::variant<alarm_work, message_work, retry_work>;
using stream_fields = std::vector<std::pair<std::string, std::string>>;

// Field/value pairs of the stream entry, `kind` first.
stream_fields encode_work(const work& w);
// nullopt for an unknown kind, a missing id or a field that is not a number.
std::optional<work> decode_work(const std::map<std::string, std::string>& fields);

}  // namespace herald
