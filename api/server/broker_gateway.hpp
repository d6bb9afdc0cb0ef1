#pragma once
// What the HTTP surfaces ask of the alarm broker, and the one way they reach
// it: SendPushNotification and IBM messages submit, RunAppointmentAlarmBroker
// runs a pass, the appointments routes read and write appointments. The
// daemon hands the running broker (make_broker_gateway); a test hands a fake.
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <memory>
#include <optional>
#include <string>

#include "model/appointment.hpp"
#include "model/push_message.hpp"

namespace herald {

class alarm_broker;

// An appointment write as the routes report it.
struct appointment_written {
  std::int64_t revision = 0;
  bool created = false;
  bool rearmed = false;  // the alarm's timing changed (scheduled anew or cancelled)
};

class broker_gateway {
 public:
  virtual ~broker_gateway() = default;
  // Persists and queues the message; returns its id.
  virtual boost::asio::awaitable<boost::system::result<std::string>> submit(push_message m) = 0;
  // One full pass of the broker (everything due is handed to the providers).
  virtual boost::asio::awaitable<boost::system::error_code> run_once() = 0;
  virtual boost::asio::awaitable<boost::system::result<appointment_written>> put_appointment(const appointment& a) = 0;
  virtual boost::asio::awaitable<boost::system::result<std::optional<appointment>>> get_appointment(const std::string& id) = 0;
  virtual boost::asio::awaitable<boost::system::result<bool>> delete_appointment(const std::string& id) = 0;
};

// The gateway to a running broker; `broker` outlives it.
std::unique_ptr<broker_gateway> make_broker_gateway(alarm_broker& broker);

}  // namespace herald
