#pragma once
// One event of the delivery trace (`herald trace`, the admin deliveries
// routes): what happened to one delivery, or why a device got nothing.
#include <cstdint>
#include <string>

namespace herald {

struct delivery_event {
  std::int64_t at_ms = 0;    // when the outcome was known (ms since epoch)
  std::string kind;          // alarm | message
  std::string id;            // AppointmentId or message id
  std::string device;        // DeviceIdentifier; "" for an event of the whole alarm/message (late_dropped)
  std::string app;           // application whose credentials were used
  std::string outcome;       // provider: delivered, device_gone, retry_after, rejected, config_error, no_provider;
                             // Herald: not_wanted (tags said no), late_dropped
  std::string action;        // what Herald did: delivered, removed, kept, retry, dead_letter, skipped, dropped, none
  int status = 0;            // provider HTTP status, 0 when none answered
  std::string reason;        // provider or Herald reason ("Unregistered", "no provider", ...)
  std::string provider_id;   // apns-id or FCM message name
};

}  // namespace herald
