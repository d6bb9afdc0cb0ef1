#pragma once
// The broker's ports: everything the alarm broker needs from the outside,
// as small interfaces. broker/redis/ implements them on Redis (one Lua
// script per multi-key change, so several daemons on one Redis stay
// consistent); the unit tests implement them in memory, so takeover, slow
// sends, fencing and clock skew are tested without Redis or a provider.
//
// Every call answers a store error as an error (the broker then leaves the
// work pending and counts a failure); "not found" is a value, not an error.
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "model/appointment.hpp"
#include "broker/delivery_lease.hpp"
#include "model/delivery_event.hpp"
#include "model/device.hpp"
#include "model/push_message.hpp"
#include "providers/provider.hpp"

namespace herald {

template <typename T>
using port_result = boost::asio::awaitable<boost::system::result<T>>;
using port_status = boost::asio::awaitable<boost::system::error_code>;

// One entry of the work stream: its id and its fields (broker/work_kind.hpp decodes them).
struct work_item {
  std::string stream_id;  // "1700000000000-0"
  std::string kind;       // "alarm" | "retry" | "message"
  std::map<std::string, std::string> fields;
  std::string field(const std::string& name) const {
    auto it = fields.find(name);
    return it == fields.end() ? std::string() : it->second;
  }
};

struct put_outcome {
  std::int64_t revision = 0;
  bool rearmed = false;  // the alarm's timing changed (scheduled anew or cancelled)
  bool created = false;
};

// How many due alarms and retries one claim moved into the work queue.
struct claimed_due {
  std::int64_t alarms = 0;
  std::int64_t retries = 0;
};

// A claim and the read of the work queue right after it (one round trip).
struct claimed_work {
  claimed_due claimed;
  std::vector<work_item> items;
};

// What the schedules hold after a pass: alarms due by then, retries
// waiting, and the earliest due alarm and retry (ms, store time).
struct schedule_status {
  std::int64_t alarms_due = 0;
  std::int64_t retries_waiting = 0;
  std::optional<std::int64_t> next_alarm;
  std::optional<std::int64_t> next_retry;
};

// The alarm schedule and the retry schedule, and the one clock (the store's).
// Each call is one round trip to the store.
class schedule_port {
 public:
  virtual ~schedule_port() = default;
  // Moves up to `limit` due alarms and up to `limit` due retries into the
  // work queue, atomically, then reads up to `count` new entries of the
  // work queue, now owned by this daemon (as work_queue_port::read_work),
  // in the same round trip: the read sees what the claim moved.
  virtual port_result<claimed_work> claim_due_and_read(std::int64_t now_ms, int limit, int count) = 0;
  virtual port_result<schedule_status> status(std::int64_t now_ms) = 0;
  // The store's time (Redis TIME), ms since the epoch: every daemon decides
  // on this clock, whatever its own wall clock says.
  virtual port_result<std::int64_t> server_time_ms() = 0;
};

// The work queue shared by every daemon (a Redis Stream and its consumer group).
class work_queue_port {
 public:
  virtual ~work_queue_port() = default;
  virtual port_status ensure_group() = 0;
  // Up to `count` new entries, now owned by this daemon.
  virtual port_result<std::vector<work_item>> read_work(int count) = 0;
  // Entries idle longer than min_idle_ms (their owner stopped renewing
  // them: dead, or cut off from the store), taken over; `keep` are entries
  // this daemon is working on. Those whose processing failed `max_failures`
  // times or more come back in `poisoned` instead, claimed too, for the
  // caller to dead-letter and acknowledge.
  struct takeover {
    std::vector<work_item> items;
    std::vector<work_item> poisoned;
  };
  virtual port_result<takeover> take_over_stale(std::int64_t min_idle_ms, int count, std::int64_t max_failures,
                                                const std::set<std::string>& keep) = 0;
  // Acknowledges and deletes entries (and forgets their failure counts).
  virtual port_status ack_many(const std::vector<std::string>& stream_ids) = 0;
  // Counts one failed processing of each entry (max_deliveries counts these, not takeovers).
  virtual port_status count_failures(const std::vector<std::string>& stream_ids) = 0;
  // Resets the idle time of the entries this daemon still owns; returns how many it owns.
  virtual port_result<std::int64_t> renew_entries(const std::vector<std::string>& stream_ids) = 0;
  // Removes other consumers that own no entry and were idle at least min_idle_ms; returns how many.
  virtual port_result<std::int64_t> remove_idle_consumers(std::int64_t min_idle_ms) = 0;
  // A dead letter about a whole work entry (no delivery record).
  virtual port_status dead_letter(const std::map<std::string, std::string>& entry) = 0;
  // This daemon's name in the group (the owner written into leases).
  virtual const std::string& consumer() const = 0;
};

// Per-delivery records, fenced (broker/delivery_lease.hpp). Each call
// touches at most max_keys_per_call records per store command.
class delivery_records_port {
 public:
  static constexpr std::size_t max_keys_per_call = 512;
  virtual ~delivery_records_port() = default;
  // Claims take a lease of lease_ms (store time); `retrying` lets the retry
  // job claim a record in state "retry".
  virtual port_result<std::vector<claim_decision>> claim_deliveries(const std::vector<std::string>& delivery_ids, bool retrying,
                                                                    std::int64_t lease_ms) = 0;
  // Writes `state` where this daemon still holds the record; true per id where it did.
  virtual port_result<std::vector<bool>> finish_deliveries(const std::vector<std::string>& delivery_ids, const std::string& state) = 0;
  // Schedules a retry and sets the record to "retry", only while this daemon holds it.
  virtual port_result<bool> schedule_retry(const std::string& delivery_id, std::int64_t at_ms,
                                           const std::map<std::string, std::string>& job) = 0;
  // Writes a dead letter and the record's final `state` together, only while this daemon holds it.
  virtual port_result<bool> dead_letter_delivery(const std::string& delivery_id, const std::string& state,
                                                 const std::map<std::string, std::string>& entry) = 0;
  // Sets the lease of the records this daemon holds to store time + lease_ms
  // (0 releases them: anyone may claim them now); returns how many it held.
  virtual port_result<std::int64_t> renew_deliveries(const std::vector<std::string>& delivery_ids, std::int64_t lease_ms) = 0;
  // Appends one event to the delivery trace of its device and its alarm or
  // message (`herald trace`): sent without waiting for the answer, so it
  // never slows or fails a delivery (a lost event is only missing from the
  // trace). Events may wait for trace_flush() (or a full batch) before they
  // are sent. Default: not kept.
  virtual void trace(const delivery_event&) {}
  // Sends the events trace() has kept back.
  virtual void trace_flush() {}

  // One record (finish_deliveries of one id).
  boost::asio::awaitable<boost::system::result<bool>> finish_delivery(const std::string& delivery_id, const std::string& state);
};

// Appointments (the API writes them, the broker reads them).
class appointment_port {
 public:
  virtual ~appointment_port() = default;
  virtual port_result<put_outcome> put(const appointment& a) = 0;
  virtual port_result<std::optional<appointment>> get(const std::string& id) = 0;
  // Many in one round trip, in the order of `ids`; nullopt for one that
  // does not exist or does not decode (one bad record must not hold up the
  // alarms batched with it).
  virtual port_result<std::vector<std::optional<appointment>>> get_many(const std::vector<std::string>& ids) = 0;
  virtual port_result<bool> remove(const std::string& id) = 0;
};

// Messages to fan out (SendPushNotification, IBM messages): stored, then queued.
class message_port {
 public:
  virtual ~message_port() = default;
  // Returns the message id.
  virtual port_result<std::string> enqueue_message(const push_message& m, std::int64_t now_ms) = 0;
  // nullopt once expired.
  virtual port_result<std::optional<push_message>> get_message(const std::string& id) = 0;
};

// What removing a gone device did.
enum class device_removal { removed, already_gone, kept_new_token };

// The device registrations the broker reads.
class device_port {
 public:
  virtual ~device_port() = default;
  // One list per associate, in the order of `associate_ids`.
  virtual port_result<std::vector<std::vector<device_info>>> list_by_associates(const std::vector<std::int64_t>& associate_ids) = 0;
  virtual port_result<std::optional<device_info>> get(const std::string& device_identifier) = 0;
  // Removes the device only while its push token is still `pns_handle` (the provider called it gone).
  virtual port_result<device_removal> remove_if_token(const std::string& device_identifier, const std::string& pns_handle) = 0;
};

// The providers.
class sender_port {
 public:
  virtual ~sender_port() = default;
  virtual bool has_app(std::string_view app_id) const = 0;
  // May throw: the broker ends that delivery as a retry.
  virtual boost::asio::awaitable<delivery_result> async_send(std::string_view app_id, const device_info& device, const notification& n) = 0;
};

struct broker_ports {
  schedule_port& schedule;
  work_queue_port& work;
  delivery_records_port& records;
  appointment_port& appointments;
  message_port& messages;
  device_port& devices;
  sender_port& sender;
};

}  // namespace herald
