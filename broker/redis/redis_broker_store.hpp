#pragma once
// The broker's ports on Redis (docs/DATA-MODEL.md, "Broker"): appointments,
// the alarm schedule, the work stream with its consumer group, retries,
// per-delivery records, dead letters and pending messages. Every multi-key
// change is one Lua script (broker/redis/lua/, compiled in), so several
// daemons on one Redis stay consistent; every script touches at most
// delivery_records_port::max_keys_per_call keys.
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "broker/ports.hpp"
#include "config/config.hpp"
#include "store/redis_client.hpp"

namespace herald {

class redis_broker_store final : public schedule_port,
                                 public work_queue_port,
                                 public delivery_records_port,
                                 public appointment_port,
                                 public message_port {
 public:
  redis_broker_store(std::shared_ptr<redis_client> redis, std::string key_prefix, std::string consumer);

  // schedule_port (schedule.cpp)
  port_result<claimed_work> claim_due_and_read(std::int64_t now_ms, int limit, int count) override;
  port_result<schedule_status> status(std::int64_t now_ms) override;
  port_result<std::int64_t> server_time_ms() override;

  // work_queue_port (work_queue.cpp)
  port_status ensure_group() override;
  port_result<std::vector<work_item>> read_work(int count) override;
  port_result<takeover> take_over_stale(std::int64_t min_idle_ms, int count, std::int64_t max_failures,
                                        const std::set<std::string>& keep) override;
  port_status ack_many(const std::vector<std::string>& stream_ids) override;
  port_status count_failures(const std::vector<std::string>& stream_ids) override;
  port_result<std::int64_t> renew_entries(const std::vector<std::string>& stream_ids) override;
  port_result<std::int64_t> remove_idle_consumers(std::int64_t min_idle_ms) override;
  port_status dead_letter(const std::map<std::string, std::string>& entry) override;
  const std::string& consumer() const override { return consumer_; }

  // delivery_records_port (delivery_records.cpp)
  port_result<std::vector<claim_decision>> claim_deliveries(const std::vector<std::string>& delivery_ids, bool retrying,
                                                            std::int64_t lease_ms) override;
  port_result<std::vector<bool>> finish_deliveries(const std::vector<std::string>& delivery_ids, const std::string& state) override;
  port_result<bool> schedule_retry(const std::string& delivery_id, std::int64_t at_ms,
                                   const std::map<std::string, std::string>& job) override;
  port_result<bool> dead_letter_delivery(const std::string& delivery_id, const std::string& state,
                                         const std::map<std::string, std::string>& entry) override;
  port_result<std::int64_t> renew_deliveries(const std::vector<std::string>& delivery_ids, std::int64_t lease_ms) override;
  void trace(const delivery_event& e) override;  // store/delivery_trace, batched
  void trace_flush() override;
  // The trace's bounds (trace.max_events, trace.max_age); the defaults until set.
  void set_trace_limits(const trace_settings& limits) { trace_limits_ = limits; }

  // appointment_port (content.cpp)
  port_result<put_outcome> put(const appointment& a) override;
  port_result<std::optional<appointment>> get(const std::string& id) override;
  port_result<std::vector<std::optional<appointment>>> get_many(const std::vector<std::string>& ids) override;
  port_result<bool> remove(const std::string& id) override;

  // message_port (content.cpp)
  port_result<std::string> enqueue_message(const push_message& m, std::int64_t now_ms) override;
  port_result<std::optional<push_message>> get_message(const std::string& id) override;

  std::string key(std::string_view suffix) const { return prefix_ + ":" + std::string(suffix); }

 private:
  std::shared_ptr<redis_client> redis_;
  std::string prefix_;
  std::string consumer_;
  trace_settings trace_limits_;
  std::mutex trace_mutex_;
  std::vector<delivery_event> trace_batch_;
};

// A message as stored (JSON); pure.
std::string encode_push_message(const push_message& m);
std::optional<push_message> decode_push_message(std::string_view json);

}  // namespace herald
