// What an alarm or a message says to one device, in its language and time
// zone (broker_core.hpp).
#include "broker/broker_core.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "broker/delivery_policy.hpp"

namespace herald {

using namespace std::chrono;

notification broker_core::alarm_notification(const appointment& a, const device_info& device) {
  alarm_message_input in{a.title, a.location, a.start, a.lead_time, a.is_private};
  auto msg = l10n.alarm(in, device.language, device.time_zone_id, time_point_cast<seconds>(system_clock::time_point(milliseconds(now()))));
  if (msg.zone_fallback) tz_fallback.inc();
  notification n;
  n.title = std::move(msg.title);
  n.body = std::move(msg.body);
  boost::json::object herald;
  herald["appointment_id"] = a.id;
  herald["event"] = std::string(alarm_event);
  boost::json::object custom;
  custom["herald"] = std::move(herald);
  n.custom_json = boost::json::serialize(custom);
  n.collapse_id = "alarm-" + a.id.substr(0, 50);
  return n;
}

notification broker_core::message_notification(const push_message& m, const std::string& id) {
  notification n;
  n.title = m.title;
  n.body = m.body;
  n.data = m.data;
  if (!m.url.empty()) n.data.emplace_back("url", m.url);
  if (m.silent) {
    n.push_type = "background";
    n.priority = 5;
  }
  if (m.time_to_live_s > 0) n.expiration = now() / 1000 + m.time_to_live_s;
  boost::json::object herald;
  herald["message_id"] = id;
  herald["event"] = m.event;
  boost::json::object custom;
  custom["herald"] = std::move(herald);
  n.custom_json = boost::json::serialize(custom);
  return n;
}

}  // namespace herald
