#pragma once
// The alarm broker's state and work, behind alarm_broker (internal to
// broker/). Everything runs on one strand. The definitions are split by
// job:
//   scheduler.cpp      the timer loop, passes (one at a time), the pipeline
//                      of batches, the clock and the lease renewer;
//   fan_out.cpp        one batch: alarms, messages and retries to their
//                      devices, claimed and sent in bounded chunks;
//   outcomes.cpp       a provider's answer carried out with fenced writes,
//                      and poisoned entries buried;
//   notifications.cpp  what an alarm or a message says to one device.
// The decisions themselves are pure: broker/delivery_policy (verdicts and
// plans), broker/delivery_lease (fencing, the clock), broker/work_kind.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/alarm_broker.hpp"
#include "broker/delivery_lease.hpp"
#include "broker/ports.hpp"
#include "broker/work_kind.hpp"
#include "l10n/localizer.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"

namespace herald {

// How one work entry ended in this pass; the worst outcome of its deliveries wins.
enum class entry_state {
  finished,  // every device has a final record (or was skipped): acknowledge
  held,      // a delivery is held by another daemon's lease: leave it pending, no failure
  failed,    // a store error or an escaped exception: leave it pending, count a failure
};
inline void worsen(entry_state& s, entry_state t) {
  if (static_cast<int>(t) > static_cast<int>(s)) s = t;
}

// co_await timer.async_wait(as_tuple_awaitable): a cancelled wait is not an exception.
inline constexpr auto as_tuple_awaitable = boost::asio::as_tuple(boost::asio::use_awaitable);

// The error a pass reports when entries failed (they stay pending and are retried).
boost::system::error_code work_failed();

struct broker_core : std::enable_shared_from_this<broker_core> {
  broker_core(boost::asio::any_io_executor ex, broker_options o, broker_ports p, const localizer& l, logger& lg, metrics_registry& m);

  boost::asio::strand<boost::asio::any_io_executor> strand;
  broker_options opts;
  broker_ports ports;
  localizer l10n;
  logger& log;
  boost::asio::steady_timer wake;
  boost::asio::steady_timer pass_ended;  // cancelled whenever a pass ends (drain waits on it)
  std::size_t passes_running = 0;
  bool stopped = false;            // stop claiming and reading new work
  bool dirty = false;              // the schedule changed while a pass ran: re-evaluate before sleeping
  std::int64_t last_sweep_ms = 0;  // store time
  redis_clock clock;               // strand
  std::atomic<std::int64_t> clock_offset{0};  // published for other threads: store time - steady time
  std::atomic<bool> clock_synced{false};

  counter& scheduled;
  counter& cancelled;
  counter& claimed;
  counter& alarms_sent;
  counter& late_dropped;
  counter& stale;
  counter& taken_over;
  counter& duplicates;
  counter& held_elsewhere;
  counter& consumers_removed;
  counter& not_wanted;
  counter& messages;
  gauge& due_gauge;
  gauge& retry_depth;
  counter& tz_fallback;
  histogram& due_to_sent;
  metrics_registry& metrics;
  std::map<std::string, counter*, std::less<>> outcome_counters;  // strand-confined cache of the labelled counters

  // --- scheduler.cpp ---------------------------------------------------------
  // The schedule changed: re-evaluate the next wake-up (strand).
  void poke();
  // Store time, ms since the epoch (any thread). Before the first TIME answer, the local wall clock.
  std::int64_t now() const;
  boost::asio::awaitable<void> sync_clock();
  std::int64_t lease_ms() const { return opts.settings.takeover_after.count(); }

  // Entries and delivery records this daemon is working on (strand): the
  // renewer keeps their idle time and leases fresh every takeover_after/3.
  std::map<std::string, int, std::less<>> inflight_entries;
  std::map<std::string, int, std::less<>> inflight_records;
  bool renewer_running = false;
  static void hold(std::map<std::string, int, std::less<>>& set, const std::string& id) { ++set[id]; }
  static void unhold(std::map<std::string, int, std::less<>>& set, const std::string& id) {
    auto it = set.find(id);
    if (it != set.end() && --it->second <= 0) set.erase(it);
  }
  boost::asio::awaitable<void> renew_loop();
  void ensure_renewer();

  boost::asio::awaitable<boost::system::result<std::vector<work_item>>> claim_and_read(bool& more_due);
  boost::asio::awaitable<boost::system::error_code> pass(bool takeover);
  // One pass at a time per daemon (strand only); a caller that finds a pass
  // running joins the next one.
  std::uint64_t passes_started = 0;
  std::uint64_t passes_finished = 0;
  bool pass_active = false;
  bool rerun = false;
  bool rerun_takeover = false;
  boost::system::error_code last_pass_error;
  // The earliest due alarm or retry the last pass saw at its end (store
  // time; nullopt: none): when the timer loop wakes next.
  std::optional<std::int64_t> next_due_after_pass;
  boost::asio::awaitable<boost::system::error_code> exclusive_pass(bool takeover);
  // A pass with takeover asked for from outside (run_once): on the strand.
  boost::asio::awaitable<boost::system::error_code> requested_pass();
  boost::asio::awaitable<void> loop();

  // --- fan_out.cpp -----------------------------------------------------------
  struct delivery_job {
    std::string kind;  // alarm | message
    std::string id;    // appointment or message id
    std::int64_t revision = 0;
    std::int64_t due_ms = 0;
    std::string app_id;
  };
  static std::string delivery_id_of(const delivery_job& job, const std::string& device_identifier) {
    return job.kind + ":" + job.id + ":" + std::to_string(job.revision) + ":" + device_identifier;
  }
  // One delivery of a batch: the job, the device, and which entry of the batch it belongs to.
  struct send_target {
    const delivery_job* job;
    const device_info* device;
    std::size_t owner;
  };
  template <typename Build>
  boost::asio::awaitable<void> deliver_targets(const std::vector<send_target>& targets, bool retrying, std::size_t chunk, Build& build,
                                               std::vector<entry_state>& states);
  boost::asio::awaitable<std::optional<std::vector<device_info>>> devices_of(const std::vector<std::int64_t>& associates,
                                                                             const std::vector<std::string>& device_ids);
  boost::asio::awaitable<void> process_alarms(const std::vector<std::pair<std::size_t, alarm_work>>& which, std::vector<entry_state>& states);
  boost::asio::awaitable<entry_state> process_message(const message_work& w);
  boost::asio::awaitable<entry_state> process_retry(const retry_work& w);
  boost::asio::awaitable<entry_state> retry_claimed(const delivery_job& job, const std::string& device_id, int attempt,
                                                    const std::string& delivery_id);
  boost::asio::awaitable<boost::system::error_code> process_batch(const std::vector<work_item>& items);

  // --- outcomes.cpp ----------------------------------------------------------
  void count_outcome(std::string_view kind, std::string_view outcome, std::string_view reason);
  // A record write that ends a delivery: finished when this daemon still
  // held it, held when another daemon had taken it (its outcome stands),
  // failed on a store error.
  static entry_state ended(const boost::system::result<bool>& r) {
    if (!r) return entry_state::failed;
    return *r ? entry_state::finished : entry_state::held;
  }
  boost::asio::awaitable<entry_state> send_claimed(const delivery_job& job, const device_info& device, notification n,
                                                   std::vector<std::string>* delivered_batch = nullptr);
  boost::asio::awaitable<entry_state> carry_out(const delivery_job& job, const device_info& device, const notification& n,
                                                const delivery_result& result, std::vector<std::string>* delivered_batch);
  boost::asio::awaitable<entry_state> end_unbuildable(const delivery_job& job, const device_info& device, const std::string& delivery_id,
                                                      int attempt, const std::string& error);
  boost::asio::awaitable<boost::system::error_code> bury(const std::vector<work_item>& entries);

  // --- notifications.cpp -----------------------------------------------------
  notification alarm_notification(const appointment& a, const device_info& device);
  notification message_notification(const push_message& m, const std::string& id);
};

}  // namespace herald
