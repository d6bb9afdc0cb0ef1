#pragma once
// The broker's state in Redis (docs/DATA-MODEL.md, "Broker"): appointments,
// the alarm schedule, the work stream with its consumer group, retries,
// per-delivery records, dead letters and pending messages. Every multi-key
// change is one Lua script, so several daemons on one Redis stay consistent.
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "broker/appointment.hpp"
#include "broker/delivery_lease.hpp"
#include "model/push_message.hpp"
#include "store/redis_client.hpp"

namespace herald {

// One entry of the work stream.
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


class alarm_store {
 public:
  alarm_store(std::shared_ptr<redis_client> redis, std::string key_prefix, std::string consumer);

  template <typename T>
  using result = boost::system::result<T>;
  using awaitable_ec = boost::asio::awaitable<boost::system::error_code>;

  // Appointments
  boost::asio::awaitable<result<put_outcome>> put(const appointment& a);
  boost::asio::awaitable<result<std::optional<appointment>>> get(const std::string& id);
  // Many appointments in one round trip (one script), in the order of `ids`;
  // nullopt for one that does not exist or whose record does not decode
  // (one bad record must not hold up the alarms batched with it).
  boost::asio::awaitable<result<std::vector<std::optional<appointment>>>> get_many(const std::vector<std::string>& ids);
  boost::asio::awaitable<result<bool>> remove(const std::string& id);

  // Schedule: earliest due alarm and retry (ms), or nullopt.
  boost::asio::awaitable<result<std::optional<std::int64_t>>> next_alarm_due();
  boost::asio::awaitable<result<std::optional<std::int64_t>>> next_retry_due();
  // Moves up to `limit` due alarms into the work stream (atomic); returns how many.
  boost::asio::awaitable<result<std::int64_t>> claim_due_alarms(std::int64_t now_ms, int limit);
  boost::asio::awaitable<result<std::int64_t>> claim_due_retries(std::int64_t now_ms, int limit);
  boost::asio::awaitable<result<std::int64_t>> alarms_due_count(std::int64_t now_ms);
  boost::asio::awaitable<result<std::int64_t>> retry_depth();

  // Work stream (consumer group "herald").
  awaitable_ec ensure_group();
  boost::asio::awaitable<result<std::vector<work_item>>> read_work(int count);
  // Entries idle longer than min_idle_ms (their owner stopped renewing
  // them: dead, or cut off from Redis), taken over; `keep` are entries this
  // daemon is working on. Those whose processing failed `max_failures`
  // times or more (count_failures) come back in `poisoned` instead, claimed
  // too, for the caller to dead-letter and acknowledge.
  struct takeover {
    std::vector<work_item> items;
    std::vector<work_item> poisoned;
  };
  boost::asio::awaitable<result<takeover>> take_over_stale(std::int64_t min_idle_ms, int count, std::int64_t max_failures,
                                                           const std::set<std::string>& keep);
  // Acknowledges and deletes entries (and forgets their failure counts).
  awaitable_ec ack_many(const std::vector<std::string>& stream_ids);
  // Counts one failed processing of each entry (max_deliveries counts these,
  // not takeovers).
  awaitable_ec count_failures(const std::vector<std::string>& stream_ids);
  // Resets the idle time of the entries this daemon still owns (XCLAIM
  // JUSTID); returns how many it owns.
  boost::asio::awaitable<result<std::int64_t>> renew_entries(const std::vector<std::string>& stream_ids);
  // Sets the lease of the delivery records this daemon holds to Redis time
  // + lease_ms (0: releases them, anyone may claim them now); returns how many it held.
  boost::asio::awaitable<result<std::int64_t>> renew_deliveries(const std::vector<std::string>& delivery_ids, std::int64_t lease_ms);
  // Removes other consumers of the group that own no pending entry and were
  // idle at least min_idle_ms; returns how many.
  boost::asio::awaitable<result<std::int64_t>> remove_idle_consumers(std::int64_t min_idle_ms);
  // Redis server time (TIME), ms since the epoch.
  boost::asio::awaitable<result<std::int64_t>> server_time_ms();
  // A message to fan out (SendPushNotification, IBM messages): stored, then queued.
  boost::asio::awaitable<result<std::string>> enqueue_message(const push_message& m, std::int64_t now_ms);
  boost::asio::awaitable<result<std::optional<push_message>>> get_message(const std::string& id);

  // Per-delivery records, fenced (broker/delivery_lease.hpp). Claims take
  // a lease of lease_ms (Redis time); `retrying` lets the retry job claim a
  // record in state "retry". Every call touches at most 512 keys per script.
  boost::asio::awaitable<result<std::vector<claim_decision>>> claim_deliveries(const std::vector<std::string>& delivery_ids,
                                                                               bool retrying, std::int64_t lease_ms);
  // Writes `state` where this daemon still holds the record; true per id where it did.
  boost::asio::awaitable<result<std::vector<bool>>> finish_deliveries(const std::vector<std::string>& delivery_ids, const std::string& state);
  boost::asio::awaitable<result<bool>> finish_delivery(const std::string& delivery_id, const std::string& state);
  // Schedules a retry and sets the record to "retry", only while this daemon holds it.
  boost::asio::awaitable<result<bool>> schedule_retry(const std::string& delivery_id, std::int64_t at_ms,
                                                      const std::map<std::string, std::string>& job);
  // Writes a dead letter and the record's final `state` together, only while this daemon holds it.
  boost::asio::awaitable<result<bool>> dead_letter_delivery(const std::string& delivery_id, const std::string& state,
                                                            const std::map<std::string, std::string>& entry);
  // A dead letter about a whole work entry (no delivery record).
  awaitable_ec dead_letter(const std::map<std::string, std::string>& entry);

  const std::string& consumer() const { return consumer_; }
  std::string key(const std::string& suffix) const { return prefix_ + ":" + suffix; }

 private:
  std::shared_ptr<redis_client> redis_;
  std::string prefix_;
  std::string consumer_;
};

std::string encode_push_message(const push_message& m);
std::optional<push_message> decode_push_message(std::string_view json);

}  // namespace herald
