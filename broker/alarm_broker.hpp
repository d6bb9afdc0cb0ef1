#pragma once
// The appointment-alarm broker: an Asio timer armed for the earliest due
// alarm (re-armed when any daemon on the same store schedules an earlier
// one: schedule_changed), the broker.interval sweep as a safety net, atomic
// claims into a shared work queue, takeover of a dead daemon's entries, and
// the fan-out to every device with fenced per-delivery records, so that
// each alarm reaches each device once. It works through its ports
// (broker/ports.hpp): broker/redis/ provides them on Redis, the unit tests
// in memory.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "model/appointment.hpp"
#include "broker/ports.hpp"
#include "config/config.hpp"
#include "model/push_message.hpp"

namespace herald {

class localizer;
class logger;
class metrics_registry;
struct broker_core;

// hostname:pid, the default name of this daemon in the work group.
std::string default_consumer_name();

struct broker_options {
  broker_settings settings;
  int claim_batch = 500;                // alarms moved into the stream per claim
  int read_batch = 256;                 // stream entries read per XREADGROUP (one batch)
  int max_batches_in_flight = 3;        // batches processed at once (a pipeline)
  int max_sends_per_batch = 512;        // notifications of one batch's alarms sent concurrently
  int max_sends_per_entry = 256;        // devices of one message or retry sent concurrently; entries of a batch processed at once
};

class alarm_broker {
 public:
  // The ports must outlive the broker.
  alarm_broker(boost::asio::any_io_executor ex, broker_options options, broker_ports ports, const localizer& l10n, logger& log,
               metrics_registry& metrics);
  ~alarm_broker();

  // Starts the timer loop and the sweep.
  void start();
  // Another daemon (or anything else) changed the schedule: re-evaluate the
  // next wake-up now (any thread). Without it, only this daemon's own
  // changes and the sweep re-arm the timer.
  void schedule_changed();
  void stop();
  // Graceful stop: claims and reads no new work, lets the batches in flight
  // finish (their sends answered, their records written, their entries
  // acknowledged), then calls done(true) — or done(false) once `grace` has
  // passed with batches still running (their entries stay pending and are
  // taken over after broker.takeover_after). `done` runs on the broker's strand.
  void async_drain(std::chrono::milliseconds grace, std::function<void(bool clean)> done);

  // Appointments API.
  boost::asio::awaitable<boost::system::result<put_outcome>> put_appointment(const appointment& a);
  boost::asio::awaitable<boost::system::result<std::optional<appointment>>> get_appointment(const std::string& id);
  boost::asio::awaitable<boost::system::result<bool>> delete_appointment(const std::string& id);

  // SendPushNotification / IBM messages: persisted and queued; returns the message id.
  boost::asio::awaitable<boost::system::result<std::string>> submit(push_message m);

  // One full pass: claims every due alarm and retry, then processes the work
  // stream until it is empty; returns once everything due was handed to the
  // providers (RunAppointmentAlarmBroker, `herald broker run-once`).
  boost::asio::awaitable<boost::system::error_code> run_once();

 private:
  std::shared_ptr<broker_core> impl_;
};

}  // namespace herald
