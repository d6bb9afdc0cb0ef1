#include "broker/alarm_broker.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <unordered_map>

#include "broker/delivery_lease.hpp"
#include "broker/delivery_policy.hpp"
#include "broker/work_kind.hpp"
#include "l10n/localizer.hpp"
#include "providers/provider.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "store/device_registry.hpp"
#include "store/lua_script.hpp"
#include "store/redis_client.hpp"

namespace herald {

namespace asio = boost::asio;
using boost::system::error_code;
using namespace std::chrono;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

namespace {

std::string default_consumer() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(::getpid());
}

// Runs fn(i) for i in [0, n) with at most `limit` at once on `ex` (a strand);
// returns when all finished, with the number of calls that threw. fn is
// expected to end its own delivery on an exception; one escaping here is
// logged and counted, and the caller must not acknowledge the work it
// belonged to.
template <typename Fn>
asio::awaitable<std::size_t> for_each_bounded(asio::any_io_executor ex, std::size_t n, std::size_t limit, Fn& fn, logger& log) {
  if (n == 0) co_return 0;
  struct join_state {
    explicit join_state(asio::any_io_executor e) : done(e, steady_clock::time_point::max()) {}
    std::size_t next = 0;
    std::size_t running = 0;
    std::size_t failed = 0;
    asio::steady_timer done;
  };
  auto st = std::make_shared<join_state>(ex);
  std::size_t workers = std::min(n, std::max<std::size_t>(limit, 1));
  st->running = workers;
  for (std::size_t w = 0; w < workers; ++w) {
    asio::co_spawn(
        ex,
        [st, n, &fn, &log]() -> asio::awaitable<void> {
          while (st->next < n) {
            auto i = st->next++;
            try {
              co_await fn(i);
            } catch (const std::exception& e) {
              ++st->failed;
              log.err("broker.task_failed").kv("error", e.what());
            }
          }
          if (--st->running == 0) st->done.cancel();
        },
        asio::detached);
  }
  while (st->running > 0) co_await st->done.async_wait(tuple_awaitable);
  co_return st->failed;
}

std::int64_t steady_ms() { return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count(); }

// How one work entry ended in this pass; the worst outcome of its deliveries wins.
enum class entry_state {
  finished,  // every device has a final record (or was skipped): acknowledge
  held,      // a delivery is held by another daemon's lease: leave it pending, no failure
  failed,    // a store error or an escaped exception: leave it pending, count a failure
};
void worsen(entry_state& s, entry_state t) {
  if (static_cast<int>(t) > static_cast<int>(s)) s = t;
}

}  // namespace

struct alarm_broker::impl : std::enable_shared_from_this<impl> {
  impl(asio::any_io_executor ex, broker_options o, std::shared_ptr<redis_client> r, std::shared_ptr<redis_client> wr,
       device_registry& d, provider_router& p, const localizer& l, logger& lg, metrics_registry& m)
      : strand(asio::make_strand(ex)),
        opts(std::move(o)),
        redis(std::move(r)),
        watch_redis(std::move(wr)),
        store(redis, opts.key_prefix, opts.consumer.empty() ? default_consumer() : opts.consumer),
        devices(d),
        providers(p),
        l10n(l),
        log(lg),
        wake(strand),
        pass_ended(strand, steady_clock::time_point::max()),
        scheduled(m.get_counter("herald_broker_alarms_scheduled_total", "Appointment PUTs that armed or re-armed an alarm")),
        cancelled(m.get_counter("herald_broker_alarms_cancelled_total", "Alarms cancelled by DELETE or HasAlarm=false")),
        claimed(m.get_counter("herald_broker_alarms_claimed_total", "Due alarms claimed into the work stream by this daemon")),
        alarms_sent(m.get_counter("herald_broker_alarms_sent_total", "Alarms whose devices were all handed to the providers")),
        late_dropped(m.get_counter("herald_broker_alarms_late_dropped_total", "Alarms found later than broker.max_lateness: dropped, not sent")),
        stale(m.get_counter("herald_broker_alarms_stale_total", "Claimed alarms whose appointment changed or was deleted meanwhile")),
        taken_over(m.get_counter("herald_broker_entries_taken_over_total", "Work entries taken over from a dead daemon (XAUTOCLAIM)")),
        duplicates(m.get_counter("herald_broker_deliveries_skipped_total", "Deliveries skipped because their record says done (takeover, duplicate)")),
        held_elsewhere(m.get_counter("herald_broker_deliveries_held_elsewhere_total", "Deliveries not sent because another daemon's lease on them still runs")),
        consumers_removed(m.get_counter("herald_broker_consumers_removed_total", "Consumers of gone daemons removed from the work group")),
        not_wanted(m.get_counter("herald_broker_deliveries_not_wanted_total", "Devices whose tags opt out of the event")),
        messages(m.get_counter("herald_broker_messages_total", "Messages accepted for fan-out (SendPushNotification, IBM)")),
        due_gauge(m.get_gauge("herald_broker_alarms_due", "Alarms due and not yet claimed (at the last pass)")),
        retry_depth(m.get_gauge("herald_broker_retry_queue_depth", "Deliveries waiting for a retry")),
        tz_fallback(m.get_counter("herald_l10n_timezone_fallback_total", "Notifications formatted in the default zone because the TimeZoneId is unknown")),
        due_to_sent(m.get_histogram("herald_broker_due_to_sent_seconds", "From an alarm's due time until the provider answered",
                                    {}, {0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300})),
        metrics(m) {}

  asio::strand<asio::any_io_executor> strand;
  broker_options opts;
  std::shared_ptr<redis_client> redis;
  std::shared_ptr<redis_client> watch_redis;
  alarm_store store;
  device_registry& devices;
  provider_router& providers;
  localizer l10n;
  logger& log;
  asio::steady_timer wake;
  asio::steady_timer pass_ended;  // cancelled whenever a pass ends (drain waits on it)
  std::size_t passes_running = 0;
  bool stopped = false;  // stop claiming and reading new work
  bool dirty = false;  // the schedule changed while a pass ran: re-evaluate before sleeping
  std::int64_t last_sweep_ms = 0;  // Redis time
  redis_clock clock;                // strand
  std::atomic<std::int64_t> clock_offset{0};  // published for other threads: Redis time - steady time
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

  void count_outcome(std::string_view kind, std::string_view outcome, std::string_view reason) {
    std::string key = std::string(kind) + "/" + std::string(outcome);
    auto it = outcome_counters.find(key);
    if (it == outcome_counters.end())
      it = outcome_counters
               .emplace(key, &metrics.get_counter("herald_broker_notifications_total",
                                                  "Notifications handed to the providers, by job kind and outcome",
                                                  {{"kind", std::string(kind)}, {"outcome", std::string(outcome)}}))
               .first;
    it->second->inc();
    if (outcome == "dead_letter")
      metrics.get_counter("herald_broker_dead_letters_total", "Deliveries written to the dead-letter stream", {{"reason", std::string(reason)}}).inc();
  }

  void poke() {
    dirty = true;
    wake.cancel();
  }

  // --- the clock ----------------------------------------------------------

  // Redis server time, ms since the epoch (any thread: submit() runs on the
  // caller's executor). Before the first TIME answer, the local wall clock.
  std::int64_t now() const {
    if (!clock_synced.load(std::memory_order_acquire)) return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    return steady_ms() + clock_offset.load(std::memory_order_relaxed);
  }

  // Samples TIME when the last sample is older than 10 s (strand).
  asio::awaitable<void> sync_clock() {
    if (!clock.stale(steady_ms(), 10'000)) co_return;
    const auto sent = steady_ms();
    auto t = co_await store.server_time_ms();
    if (!t) co_return;  // keep the previous offset (or the wall clock)
    clock.sample(*t, sent, steady_ms());
    clock_offset.store(clock.now_ms(0, 0), std::memory_order_relaxed);
    clock_synced.store(true, std::memory_order_release);
  }

  // --- leases ---------------------------------------------------------------

  std::int64_t lease_ms() const { return opts.takeover_idle.count(); }

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

  // Runs while a pass runs: renews the leases of the delivery records first,
  // then the entries, so a record's lease never outlives its entry's idle time.
  asio::awaitable<void> renew_loop() {
    auto self = shared_from_this();
    asio::steady_timer tick(strand);
    const auto period = std::max<milliseconds>(opts.takeover_idle / 3, milliseconds(10));
    while (passes_running > 0) {
      tick.expires_after(period);
      co_await tick.async_wait(tuple_awaitable);
      if (passes_running == 0) break;
      std::vector<std::string> records, entries;
      for (const auto& [id, n] : inflight_records) records.push_back(id);
      for (const auto& [id, n] : inflight_entries) entries.push_back(id);
      if (!records.empty()) {
        if (auto r = co_await store.renew_deliveries(records, lease_ms()); !r)
          log.warning("broker.renew_failed").kv("what", "deliveries").kv("error", r.error().message());
      }
      if (!entries.empty()) {
        auto r = co_await store.renew_entries(entries);
        if (!r) log.warning("broker.renew_failed").kv("what", "entries").kv("error", r.error().message());
        else if (static_cast<std::size_t>(*r) < entries.size())
          // Acknowledged since the list was taken, or taken over by another
          // daemon (this one was cut off too long): their writes stay fenced.
          log.info("broker.entries_not_renewed").kv("entries", static_cast<unsigned long long>(entries.size() - static_cast<std::size_t>(*r)));
      }
    }
    renewer_running = false;
  }

  void ensure_renewer() {
    if (renewer_running) return;
    renewer_running = true;
    asio::co_spawn(strand, renew_loop(), asio::detached);
  }

  // --- one device -------------------------------------------------------

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

  // A record write that ends a delivery: done when this daemon still held
  // it, held when another daemon had taken it (its outcome stands), failed
  // on a store error.
  static entry_state ended(const boost::system::result<bool>& r) {
    if (!r) return entry_state::failed;
    return *r ? entry_state::finished : entry_state::held;
  }

  // Sends one claimed notification and carries out the outcome with fenced
  // writes. An exception from building or sending ends it as a retry (or a
  // dead letter once late), never as silence. `delivered_batch`: when set, a
  // delivered record is appended there for the caller to write.
  asio::awaitable<entry_state> send_claimed(const delivery_job& job, const device_info& device, notification n,
                                            std::vector<std::string>* delivered_batch = nullptr) {
    // A device registered through a configured IBM application holds a token
    // of that application: its credentials send (alarms and Pocket messages
    // included); else the job's app (IBM message) or the default app.
    const std::string& app = !device.app_id.empty() && providers.has_app(device.app_id) ? device.app_id : job.app_id;
    delivery_result result;
    try {
      result = co_await providers.async_send(app, device, n);
    } catch (const std::exception& e) {
      log.err("delivery.send_failed").kv("device", shorten_token(device.device_identifier)).kv("error", e.what());
      result = delivery_result{};
      result.kind = delivery_result::outcome::retry_after;
      result.reason = std::string("send failed: ") + e.what();
      result.retry_delay = milliseconds(1000);
    }
    co_return co_await carry_out(job, device, n, result, delivered_batch);
  }

  asio::awaitable<entry_state> carry_out(const delivery_job& job, const device_info& device, const notification& n,
                                         const delivery_result& result, std::vector<std::string>* delivered_batch) {
    auto at = now();
    if (job.kind == "alarm") due_to_sent.observe(std::max<double>(0, static_cast<double>(at - job.due_ms) / 1000.0));
    auto plan = plan_delivery(result, device, at, job.due_ms, opts.settings.max_lateness.count());
    switch (plan.action) {
      case delivery_action::record_delivered:
        count_outcome(job.kind, "delivered", "");
        if (delivered_batch) {
          delivered_batch->push_back(n.delivery_id);
          co_return entry_state::finished;
        }
        co_return ended(co_await store.finish_delivery(n.delivery_id, "delivered"));
      case delivery_action::remove_device: {
        count_outcome(job.kind, "device_gone", plan.reason);
        // Only while the device still has the token the provider called
        // gone: a re-registration with a new token that raced this send wins.
        auto removed = co_await devices.remove_if_token(device.device_identifier, device.pns_handle);
        if (!removed) co_return entry_state::failed;
        log.info("device.removed")
            .kv("device", shorten_token(device.device_identifier))
            .kv("reason", plan.reason)
            .kv("outcome", *removed == remove_outcome::removed      ? "removed"
                           : *removed == remove_outcome::not_found ? "already_gone"
                                                                   : "kept_new_token");
        co_return ended(co_await store.finish_delivery(n.delivery_id, "gone"));
      }
      case delivery_action::keep_device:
        count_outcome(job.kind, "device_gone_kept", plan.reason);
        co_return ended(co_await store.finish_delivery(n.delivery_id, "gone-reregistered"));
      case delivery_action::schedule_retry: {
        count_outcome(job.kind, "retry", plan.reason);
        // The job hash holds the retry entry's fields but `kind` (the claim script adds it).
        std::map<std::string, std::string> retry_job;
        for (auto& [k, v] : encode_work(retry_work{job.kind, job.id, job.revision, job.due_ms, device.device_identifier, n.attempt + 1, job.app_id}))
          if (k != "kind") retry_job.emplace(std::move(k), std::move(v));
        auto r = co_await store.schedule_retry(n.delivery_id, plan.retry_at_ms, retry_job);
        log.info("delivery.retry_scheduled")
            .kv("delivery", n.delivery_id.substr(0, n.delivery_id.size() - device.device_identifier.size()) + shorten_token(device.device_identifier))
            .kv("reason", plan.reason)
            .kv("in_ms", static_cast<long long>(plan.retry_at_ms - at))
            .kv("attempt", n.attempt + 1)
            .kv("recorded", r && *r);
        poke();  // the next wake-up may now be this retry
        co_return ended(r);
      }
      case delivery_action::dead_letter: {
        count_outcome(job.kind, "dead_letter", plan.reason);
        log.warning("delivery.dead_letter").kv("device", shorten_token(device.device_identifier)).kv("kind", job.kind).kv("id", job.id).kv("reason", plan.reason);
        std::map<std::string, std::string> entry{{"delivery", n.delivery_id},
                                                 {"kind", job.kind},
                                                 {"id", job.id},
                                                 {"device", device.device_identifier},
                                                 {"platform", std::string(to_string(device.platform))},
                                                 {"reason", plan.reason},
                                                 {"status", std::to_string(result.http_status)}};
        co_return ended(co_await store.dead_letter_delivery(n.delivery_id, "dead", entry));
      }
    }
    co_return entry_state::failed;
  }

  // Building the notification threw (a localization or payload bug): the
  // delivery ends as a retry (a dead letter once late), like a failed send.
  asio::awaitable<entry_state> end_unbuildable(const delivery_job& job, const device_info& device, const std::string& delivery_id,
                                               int attempt, const std::string& error) {
    log.err("delivery.build_failed").kv("device", shorten_token(device.device_identifier)).kv("error", error);
    notification n;
    n.delivery_id = delivery_id;
    n.attempt = attempt;
    delivery_result r;
    r.kind = delivery_result::outcome::retry_after;
    r.reason = "build failed: " + error;
    r.retry_delay = milliseconds(1000);
    co_return co_await carry_out(job, device, n, r, nullptr);
  }

  // One delivery of a batch: the job, the device, and which entry (or alarm)
  // of the batch it belongs to.
  struct send_target {
    const delivery_job* job;
    const device_info* device;
    std::size_t owner;
  };

  // Claims, sends and records `targets` in chunks of at most `chunk` (one
  // claim script and one "delivered" script per chunk: no Redis command
  // grows with the size of an appointment), `chunk` sends at once. The
  // outcome of each target is folded into states[target.owner]. `build`
  // makes the notification of target i; it may throw (the delivery then
  // ends as a retry).
  template <typename Build>
  asio::awaitable<void> deliver_targets(const std::vector<send_target>& targets, bool retrying, std::size_t chunk, Build& build,
                                        std::vector<entry_state>& states) {
    for (auto [b, e] : key_chunks(targets.size(), chunk)) {
      std::vector<std::string> ids;
      ids.reserve(e - b);
      for (auto i = b; i < e; ++i) ids.push_back(delivery_id_of(*targets[i].job, targets[i].device->device_identifier));
      auto claims = co_await store.claim_deliveries(ids, retrying, lease_ms());
      if (!claims) {
        for (auto i = b; i < targets.size(); ++i) worsen(states[targets[i].owner], entry_state::failed);
        co_return;
      }
      for (std::size_t k = 0; k < ids.size(); ++k)
        if ((*claims)[k] == claim_decision::go) hold(inflight_records, ids[k]);
      std::vector<std::string> delivered;
      std::vector<char> settled(ids.size(), 0);  // ended by an owned write (or lost): nothing to release
      auto send_one = [&](std::size_t k) -> asio::awaitable<void> {
        const send_target& t = targets[b + k];
        switch ((*claims)[k]) {
          case claim_decision::done:
            duplicates.inc();
            settled[k] = 1;
            co_return;
          case claim_decision::held:
            held_elsewhere.inc();
            worsen(states[t.owner], entry_state::held);
            settled[k] = 1;
            co_return;
          case claim_decision::go: break;
        }
        std::optional<notification> n;
        std::string build_error;
        try {
          n = build(b + k);
        } catch (const std::exception& ex) {
          build_error = ex.what();
        }
        entry_state st;
        if (n) {
          n->delivery_id = ids[k];
          st = co_await send_claimed(*t.job, *t.device, std::move(*n), &delivered);
        } else {
          st = co_await end_unbuildable(*t.job, *t.device, ids[k], 0, build_error);
        }
        if (st != entry_state::failed) settled[k] = 1;
        worsen(states[t.owner], st);
      };
      auto escaped = co_await for_each_bounded(strand, ids.size(), chunk, send_one, log);
      if (escaped > 0)
        for (auto i = b; i < e; ++i) worsen(states[targets[i].owner], entry_state::failed);
      // The "delivered" records of the chunk are written together. A daemon
      // dying before this line leaves them in "sending"; once its lease has
      // expired a takeover resends them with the same apns-id (docs/DATA-MODEL.md).
      if (!delivered.empty()) {
        auto written = co_await store.finish_deliveries(delivered, "delivered");
        std::unordered_map<std::string_view, std::size_t> index;
        for (std::size_t k = 0; k < ids.size(); ++k) index.emplace(ids[k], k);
        for (std::size_t j = 0; j < delivered.size(); ++j) {
          auto k = index.at(delivered[j]);
          if (!written) {
            settled[k] = 0;
            worsen(states[targets[b + k].owner], entry_state::failed);
          } else if (!(*written)[j]) {
            worsen(states[targets[b + k].owner], entry_state::held);  // taken over meanwhile: the new owner's outcome stands
          }
        }
      }
      // Records claimed here and not ended (a store error on the way): their
      // lease ends now, so the next attempt need not wait for it to expire.
      std::vector<std::string> release;
      for (std::size_t k = 0; k < ids.size(); ++k)
        if ((*claims)[k] == claim_decision::go && !settled[k]) release.push_back(ids[k]);
      if (!release.empty()) (void)co_await store.renew_deliveries(release, 0);
      for (std::size_t k = 0; k < ids.size(); ++k)
        if ((*claims)[k] == claim_decision::go) unhold(inflight_records, ids[k]);
    }
  }

  notification alarm_notification(const appointment& a, const device_info& device) {
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

  notification message_notification(const push_message& m, const std::string& id) {
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

  // Every device of the associates and of `device_ids` (each once), or a store error.
  asio::awaitable<std::optional<std::vector<device_info>>> devices_of(const std::vector<std::int64_t>& associates,
                                                                      const std::vector<std::string>& device_ids) {
    std::vector<device_info> out;
    std::set<std::string> seen;
    std::vector<std::int64_t> listed = associates;
    std::sort(listed.begin(), listed.end());
    listed.erase(std::unique(listed.begin(), listed.end()), listed.end());
    auto lists = co_await devices.list_by_associates(listed);
    if (!lists) co_return std::nullopt;
    for (auto a : associates) {
      auto at = static_cast<std::size_t>(std::lower_bound(listed.begin(), listed.end(), a) - listed.begin());
      for (auto& d : (*lists)[at])
        if (seen.insert(d.device_identifier).second) out.push_back(std::move(d));
    }
    for (const auto& id : device_ids) {
      if (seen.count(id)) continue;
      auto d = co_await devices.get(id);
      if (!d) co_return std::nullopt;
      if (*d && seen.insert(id).second) out.push_back(std::move(**d));
    }
    co_return out;
  }

  // --- one work batch -----------------------------------------------------

  // The alarm entries of one batch (`which` indexes `items`), together: one
  // script reads their appointments, one their associates' devices; then
  // the deliveries go in chunks (deliver_targets). Sets states[i] for each
  // entry i of `which`.
  asio::awaitable<void> process_alarms(const std::vector<std::pair<std::size_t, alarm_work>>& which, std::vector<entry_state>& states) {
    auto fail_all = [&] {
      for (const auto& [i, a] : which) worsen(states[i], entry_state::failed);
    };
    std::vector<std::string> ids;
    ids.reserve(which.size());
    for (const auto& [i, a] : which) ids.push_back(a.appointment_id);
    auto appts = co_await store.get_many(ids);
    if (!appts) co_return fail_all();

    struct live_alarm {
      std::size_t item;
      delivery_job job;
      const appointment* appt;
      std::size_t devices = 0;
    };
    std::vector<live_alarm> live;
    std::vector<std::int64_t> listed;
    const auto at = now();
    for (std::size_t k = 0; k < which.size(); ++k) {
      const alarm_work& w = which[k].second;
      delivery_job job{"alarm", std::move(ids[k]), w.revision, w.due_ms, ""};
      const auto& stored = (*appts)[k];
      switch (judge_alarm(stored, job.revision, job.due_ms, at, opts.settings.max_lateness.count())) {
        case alarm_verdict::stale:
          stale.inc();
          continue;
        case alarm_verdict::late:
          late_dropped.inc();
          log.warning("alarm.late_dropped").kv("appointment", job.id).kv("late_ms", static_cast<long long>(at - job.due_ms));
          continue;
        case alarm_verdict::fan_out:
          break;
      }
      listed.insert(listed.end(), stored->associate_ids.begin(), stored->associate_ids.end());
      live.push_back(live_alarm{which[k].first, std::move(job), &*stored});
    }
    std::sort(listed.begin(), listed.end());
    listed.erase(std::unique(listed.begin(), listed.end()), listed.end());
    auto lists = co_await devices.list_by_associates(listed);
    if (!lists) co_return fail_all();

    std::vector<send_target> targets;
    for (auto& alarm : live) {
      auto t = targets_of(alarm.appt->associate_ids, listed, *lists, alarm_event);
      not_wanted.inc(t.not_wanted);
      alarm.devices = t.wanted.size() + t.not_wanted;
      for (const auto* d : t.wanted) targets.push_back(send_target{&alarm.job, d, alarm.item});
    }
    std::map<const delivery_job*, const appointment*> appt_of;
    for (const auto& alarm : live) appt_of[&alarm.job] = alarm.appt;
    auto build = [&](std::size_t i) { return alarm_notification(*appt_of.at(targets[i].job), *targets[i].device); };
    co_await deliver_targets(targets, false, static_cast<std::size_t>(opts.max_sends_per_batch), build, states);
    for (const auto& alarm : live) {
      if (states[alarm.item] != entry_state::finished) continue;
      alarms_sent.inc();
      log.info("alarm.sent")
          .kv("appointment", alarm.job.id)
          .kv("revision", static_cast<long long>(alarm.job.revision))
          .kv("devices", static_cast<unsigned long long>(alarm.devices));
    }
  }

  asio::awaitable<entry_state> process_message(const message_work& w) {
    const auto& id = w.message_id;
    auto msg = co_await store.get_message(id);
    if (!msg) co_return entry_state::failed;
    if (!*msg) co_return entry_state::finished;  // expired
    const push_message& m = **msg;
    delivery_job job{"message", id, 0, w.due_ms, m.app_id};
    if (is_late(job.due_ms, now(), opts.settings.max_lateness.count())) {
      late_dropped.inc();
      co_return entry_state::finished;
    }
    auto found = co_await devices_of(m.associate_ids, m.device_identifiers);
    if (!found) co_return entry_state::failed;
    // Messages go to every targeted device; IBM tagNames narrow the targets
    // to the devices subscribed to one of them. Pocket tags apply to alarms.
    std::vector<send_target> targets;
    for (const auto& d : *found)
      if (message_targets(m, d)) targets.push_back(send_target{&job, &d, 0});
    std::vector<entry_state> state(1, entry_state::finished);
    auto build = [&](std::size_t) { return message_notification(m, id); };
    co_await deliver_targets(targets, false, static_cast<std::size_t>(opts.max_sends_per_entry), build, state);
    co_return state[0];
  }

  // A retry job: claims its one delivery record (state "retry"), then checks
  // that the device, the appointment revision or the message still exist
  // and that it is not too late, and sends. Every write is fenced.
  asio::awaitable<entry_state> process_retry(const retry_work& w) {
    delivery_job job{w.job_kind, w.id, w.revision, w.due_ms, w.app};
    const auto& device_id = w.device;
    const auto attempt = w.attempt;
    std::string delivery_id = delivery_id_of(job, device_id);
    const std::vector<std::string> one{delivery_id};
    auto claim = co_await store.claim_deliveries(one, true, lease_ms());
    if (!claim) co_return entry_state::failed;
    if (claim->front() == claim_decision::done) {
      duplicates.inc();
      co_return entry_state::finished;
    }
    if (claim->front() == claim_decision::held) {
      held_elsewhere.inc();
      co_return entry_state::held;
    }
    hold(inflight_records, delivery_id);
    auto st = co_await retry_claimed(job, device_id, attempt, delivery_id);
    if (st == entry_state::failed) (void)co_await store.renew_deliveries(one, 0);  // release: the next attempt need not wait
    unhold(inflight_records, delivery_id);
    co_return st;
  }

  asio::awaitable<entry_state> retry_claimed(const delivery_job& job, const std::string& device_id, int attempt,
                                             const std::string& delivery_id) {
    auto dev = co_await devices.get(device_id);
    if (!dev) co_return entry_state::failed;
    if (!*dev) co_return ended(co_await store.finish_delivery(delivery_id, "device-removed"));
    if (is_late(job.due_ms, now(), opts.settings.max_lateness.count())) {
      late_dropped.inc();
      count_outcome(job.kind, "dead_letter", "late");
      std::map<std::string, std::string> entry{{"delivery", delivery_id}, {"kind", job.kind}, {"id", job.id}, {"device", device_id}, {"reason", "late: gave up retrying"}};
      co_return ended(co_await store.dead_letter_delivery(delivery_id, "late", entry));
    }
    notification n;
    std::string build_error;
    bool built = false;
    try {
      if (job.kind == "alarm") {
        auto appt = co_await store.get(job.id);
        if (!appt) co_return entry_state::failed;
        if (!*appt || (*appt)->revision != job.revision) {
          stale.inc();
          co_return ended(co_await store.finish_delivery(delivery_id, "stale"));
        }
        n = alarm_notification(**appt, **dev);
      } else {
        auto msg = co_await store.get_message(job.id);
        if (!msg) co_return entry_state::failed;
        if (!*msg) co_return ended(co_await store.finish_delivery(delivery_id, "expired"));
        n = message_notification(**msg, job.id);
      }
      built = true;
    } catch (const std::exception& ex) {
      build_error = ex.what();
    }
    if (!built) co_return co_await end_unbuildable(job, **dev, delivery_id, attempt, build_error);
    n.attempt = attempt;
    n.delivery_id = delivery_id;
    co_return co_await send_claimed(job, **dev, std::move(n));
  }

  // --- passes -------------------------------------------------------------

  // Processes one batch of work entries: the alarms together, the other
  // entries one by one (concurrently); then acknowledges the finished ones
  // in one script and counts a failure for each failed one. Entries held by
  // another daemon's lease stay pending without a failure. Returns an error
  // when an entry failed.
  asio::awaitable<error_code> process_batch(const std::vector<work_item>& items) {
    for (const auto& w : items) hold(inflight_entries, w.stream_id);
    std::vector<entry_state> states(items.size(), entry_state::finished);
    std::vector<std::pair<std::size_t, alarm_work>> alarms;
    std::vector<std::pair<std::size_t, work>> others;  // messages and retries
    for (std::size_t i = 0; i < items.size(); ++i) {
      auto w = decode_work(items[i].fields);
      if (!w) {
        // Not a kind this version knows, or broken fields: it can never be processed.
        log.warning("broker.unknown_entry").kv("kind", items[i].kind).kv("stream_id", items[i].stream_id);
        continue;
      }
      if (auto* a = std::get_if<alarm_work>(&*w)) alarms.emplace_back(i, std::move(*a));
      else others.emplace_back(i, std::move(*w));
    }
    // Task 0 is the alarm group, task k > 0 the (k-1)th other entry.
    auto task = [&](std::size_t t) -> asio::awaitable<void> {
      if (t == 0) {
        if (!alarms.empty()) co_await process_alarms(alarms, states);
        co_return;
      }
      const auto& [i, w] = others[t - 1];
      if (const auto* m = std::get_if<message_work>(&w)) worsen(states[i], co_await process_message(*m));
      else if (const auto* r = std::get_if<retry_work>(&w)) worsen(states[i], co_await process_retry(*r));
    };
    auto escaped = co_await for_each_bounded(strand, others.size() + 1, static_cast<std::size_t>(opts.max_sends_per_entry), task, log);
    if (escaped > 0)
      for (auto& st : states) worsen(st, entry_state::failed);
    std::vector<std::string> done, failed;
    done.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (states[i] == entry_state::finished) done.push_back(items[i].stream_id);
      else if (states[i] == entry_state::failed) failed.push_back(items[i].stream_id);
    }
    error_code ec;
    if (!failed.empty()) {
      ec = make_error_code(redis_error::not_connected);
      (void)co_await store.count_failures(failed);
    }
    if (auto ack_ec = co_await store.ack_many(done); ack_ec && !ec) ec = ack_ec;
    for (const auto& w : items) unhold(inflight_entries, w.stream_id);
    co_return ec;
  }

  // Work entries whose processing failed max_deliveries times (a record
  // that never decodes, say): written to the dead-letter stream with what
  // they were, then acknowledged, so that they stop coming back.
  asio::awaitable<error_code> bury(const std::vector<work_item>& entries) {
    if (entries.empty()) co_return error_code{};
    std::vector<std::string> ids;
    for (const auto& w : entries) {
      log.warning("broker.entry_dead_lettered").kv("stream_id", w.stream_id).kv("kind", w.kind).kv("id", w.field("id"));
      count_outcome(w.kind == "retry" ? w.field("job_kind") : w.kind, "dead_letter", "processing_failed");
      std::map<std::string, std::string> entry{{"stream_id", w.stream_id},
                                               {"kind", w.kind},
                                               {"id", w.field("id")},
                                               {"device", w.field("device")},
                                               {"reason", "processing failed " + std::to_string(opts.max_deliveries) + " times"}};
      if (auto ec = co_await store.dead_letter(entry)) co_return ec;
      ids.push_back(w.stream_id);
    }
    co_return co_await store.ack_many(ids);
  }

  // Moves up to one claim_batch of due alarms and of due retries into the
  // work stream; returns whether more may be due (a full batch was claimed).
  asio::awaitable<boost::system::result<bool>> claim_some(std::int64_t at) {
    auto alarms = co_await store.claim_due_alarms(at, opts.claim_batch);
    if (!alarms) co_return boost::system::result<bool>(boost::system::in_place_error, alarms.error());
    claimed.inc(static_cast<std::uint64_t>(*alarms));
    auto retries = co_await store.claim_due_retries(at, opts.claim_batch);
    if (!retries) co_return boost::system::result<bool>(boost::system::in_place_error, retries.error());
    co_return *alarms >= opts.claim_batch || *retries >= opts.claim_batch;
  }

  // Claims what is due and processes the work stream until it is empty.
  // Batches run as a pipeline: up to max_batches_in_flight at once, the
  // next one read (and more alarms claimed) while earlier ones still wait
  // for Redis or the providers. `takeover`: first take over the entries of
  // dead daemons and remove consumers left without entries. Only through
  // exclusive_pass: one pass at a time.
  asio::awaitable<error_code> pass(bool takeover) {
    co_await sync_clock();
    ensure_renewer();
    if (takeover) {
      std::set<std::string> keep;
      for (const auto& [id, n] : inflight_entries) keep.insert(id);
      while (!stopped) {
        auto stale_items = co_await store.take_over_stale(opts.takeover_idle.count(), opts.read_batch, opts.max_deliveries, keep);
        if (!stale_items) co_return stale_items.error();
        if (stale_items->items.empty() && stale_items->poisoned.empty()) break;
        if (auto ec = co_await bury(stale_items->poisoned)) co_return ec;
        if (stale_items->items.empty()) continue;
        taken_over.inc(stale_items->items.size());
        log.notice("broker.takeover").kv("entries", static_cast<unsigned long long>(stale_items->items.size()));
        if (auto ec = co_await process_batch(stale_items->items)) co_return ec;
      }
      // A consumer that owns nothing and was idle for two takeover periods
      // (and sweeps) is a daemon that is gone: a restart uses a new name.
      const auto idle = 2 * std::max(opts.takeover_idle, opts.settings.interval).count();
      if (auto removed = co_await store.remove_idle_consumers(idle); removed && *removed > 0) {
        consumers_removed.inc(static_cast<std::uint64_t>(*removed));
        log.info("broker.consumers_removed").kv("consumers", static_cast<long long>(*removed));
      }
    }
    struct pipeline {
      explicit pipeline(asio::any_io_executor ex) : slot_freed(ex, steady_clock::time_point::max()) {}
      std::size_t active = 0;
      error_code first_error;
      asio::steady_timer slot_freed;  // cancelled whenever a batch finishes
    };
    auto p = std::make_shared<pipeline>(strand);
    auto self = shared_from_this();
    const auto max_batches = static_cast<std::size_t>(std::max(opts.max_batches_in_flight, 1));
    bool more_due = true;
    while (!p->first_error && !stopped) {
      if (p->active >= max_batches) {
        co_await p->slot_freed.async_wait(tuple_awaitable);
        continue;
      }
      auto items = co_await store.read_work(opts.read_batch);
      if (!items) {
        p->first_error = items.error();
        break;
      }
      if (static_cast<int>(items->size()) < opts.read_batch && more_due) {
        // The stream is running dry: claim what is due next.
        auto more = co_await claim_some(now());
        if (!more) {
          p->first_error = more.error();
          break;
        }
        more_due = *more;
        if (items->empty()) continue;
      }
      if (items->empty()) break;
      ++p->active;
      for (const auto& w : *items) hold(inflight_entries, w.stream_id);  // from the read on, until the batch ends
      asio::co_spawn(
          strand,
          [self, p, batch = std::move(*items)]() -> asio::awaitable<void> {
            error_code ec;
            try {
              ec = co_await self->process_batch(batch);
            } catch (const std::exception& e) {
              self->log.err("broker.batch_failed").kv("error", e.what());
              ec = make_error_code(redis_error::unexpected_reply);
            }
            for (const auto& w : batch) unhold(self->inflight_entries, w.stream_id);
            if (ec && !p->first_error) p->first_error = ec;
            --p->active;
            p->slot_freed.cancel();
          },
          asio::detached);
    }
    while (p->active > 0) co_await p->slot_freed.async_wait(tuple_awaitable);
    if (p->first_error) co_return p->first_error;
    if (auto due = co_await store.alarms_due_count(now())) due_gauge.set(static_cast<double>(*due));
    if (auto depth = co_await store.retry_depth()) retry_depth.set(static_cast<double>(*depth));
    co_return error_code{};
  }

  // One pass at a time per daemon (strand only). A caller that finds a pass
  // running joins: it waits for the pass that starts after the running one
  // (which sees everything due when the caller asked), run by whoever ran
  // the first; `takeover` requests accumulate.
  std::uint64_t passes_started = 0;
  std::uint64_t passes_finished = 0;
  bool pass_active = false;
  bool rerun = false;
  bool rerun_takeover = false;
  error_code last_pass_error;

  asio::awaitable<error_code> exclusive_pass(bool takeover) {
    auto self = shared_from_this();
    if (pass_active) {
      const auto want = passes_started + 1;
      rerun = true;
      rerun_takeover = rerun_takeover || takeover;
      while (passes_finished < want) co_await pass_ended.async_wait(tuple_awaitable);
      co_return last_pass_error;
    }
    pass_active = true;
    ++passes_running;
    error_code ec;
    for (;;) {
      ++passes_started;
      try {
        ec = co_await pass(takeover);
      } catch (const std::exception& e) {
        log.err("broker.pass_threw").kv("error", e.what());
        ec = make_error_code(redis_error::unexpected_reply);
      }
      last_pass_error = ec;
      passes_finished = passes_started;
      pass_ended.cancel();
      if (!rerun || stopped) break;
      rerun = false;
      takeover = rerun_takeover;
      rerun_takeover = false;
    }
    pass_active = false;
    --passes_running;
    pass_ended.cancel();
    if (stopped && rerun) {  // callers waiting for a pass that will not run
      rerun = false;
      ++passes_started;
      passes_finished = passes_started;
      last_pass_error = make_error_code(boost::asio::error::operation_aborted);
      pass_ended.cancel();
    }
    co_return ec;
  }

  asio::awaitable<void> loop() {
    auto self = shared_from_this();
    asio::steady_timer backoff(strand);
    while (!stopped) {
      if (!redis->connected() || co_await store.ensure_group()) {
        backoff.expires_after(milliseconds(200));
        co_await backoff.async_wait(tuple_awaitable);
        continue;
      }
      break;
    }
    while (!stopped) {
      dirty = false;
      auto at = now();
      bool sweep = at - last_sweep_ms >= opts.settings.interval.count();
      if (sweep) last_sweep_ms = at;
      error_code ec;
      if (redis->connected()) ec = co_await exclusive_pass(sweep);
      else ec = make_error_code(redis_error::not_connected);
      if (ec) log.warning("broker.pass_failed").kv("error", ec.message());
      if (stopped) break;
      // Next wake-up (Redis time): the earliest alarm or retry, the next
      // sweep, or soon after a failure.
      std::int64_t next = last_sweep_ms + opts.settings.interval.count();
      if (ec) next = std::min(next, now() + 500);
      if (!ec) {
        if (auto a = co_await store.next_alarm_due(); a && *a) next = std::min(next, **a);
        if (auto r = co_await store.next_retry_due(); r && *r) next = std::min(next, **r);
      }
      if (dirty || stopped) continue;
      auto delay = milliseconds(std::max<std::int64_t>(0, next - now()));
      wake.expires_after(delay);
      co_await wake.async_wait(tuple_awaitable);
    }
  }

  // Follows the schedule-change stream (XREAD BLOCK on its own connection):
  // any daemon's PUT re-arms this daemon's timer.
  asio::awaitable<void> watch() {
    auto self = shared_from_this();
    asio::steady_timer backoff(strand);
    std::string last;
    auto changes = store.key("alarms:changes");
    auto pause = [&]() -> asio::awaitable<void> {
      backoff.expires_after(milliseconds(200));
      co_await backoff.async_wait(tuple_awaitable);
    };
    while (!stopped) {
      if (!watch_redis->connected()) {
        co_await pause();
        continue;
      }
      if (last.empty()) {
        std::vector<std::string> cmd{"XREVRANGE", changes, "+", "-", "COUNT", "1"};
        auto [ec, reply] = co_await redis_command(*watch_redis, std::move(cmd));
        if (ec || reply.type != redis_reply::kind::array) {
          co_await pause();  // an error must not spin
          continue;
        }
        last = reply.elements.empty() || reply.elements[0].elements.empty() ? "0-0" : reply.elements[0].elements[0].str;
        poke();  // anything may have changed while we were not watching
      }
      std::vector<std::string> cmd{"XREAD", "COUNT", "100", "BLOCK", std::to_string(opts.watch_block.count()), "STREAMS", changes, last};
      auto [ec, reply] = co_await redis_command(*watch_redis, std::move(cmd));
      if (ec) {
        last.clear();
        co_await pause();
        continue;
      }
      if (reply.type != redis_reply::kind::array || reply.elements.empty()) continue;  // timeout
      const auto& entries = reply.elements[0].elements[1].elements;
      if (entries.empty()) continue;
      last = entries.back().elements[0].str;
      poke();
    }
  }
};

alarm_broker::alarm_broker(asio::any_io_executor ex, broker_options options, std::shared_ptr<redis_client> redis,
                           std::shared_ptr<redis_client> watch_redis, device_registry& devices, provider_router& providers,
                           const localizer& l10n, logger& log, metrics_registry& metrics)
    : impl_(std::make_shared<impl>(ex, std::move(options), std::move(redis), std::move(watch_redis), devices, providers, l10n, log,
                                   metrics)) {}

alarm_broker::~alarm_broker() = default;

void alarm_broker::start() {
  auto self = impl_;
  auto on_done = [self](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      self->log.crit("broker.loop_failed").kv("error", ex.what());
    }
  };
  asio::co_spawn(self->strand, self->loop(), on_done);
  if (self->watch_redis) asio::co_spawn(self->strand, self->watch(), on_done);
  self->log.info("broker.started").kv("consumer", self->store.consumer()).kv("interval_ms", static_cast<long long>(self->opts.settings.interval.count()));
}

void alarm_broker::stop() {
  auto self = impl_;
  asio::post(self->strand, [self] {
    self->stopped = true;
    self->wake.cancel();
  });
}

void alarm_broker::async_drain(std::chrono::milliseconds grace, std::function<void(bool clean)> done) {
  auto self = impl_;
  asio::co_spawn(
      self->strand,
      [self, grace, done = std::move(done)]() -> asio::awaitable<void> {
        self->stopped = true;
        self->wake.cancel();
        const auto deadline = steady_clock::now() + grace;
        asio::steady_timer limit(self->strand);
        limit.expires_at(deadline);
        limit.async_wait([self](error_code ec) {
          if (!ec) self->pass_ended.cancel();  // wakes the wait below at the deadline
        });
        if (self->passes_running > 0)
          self->log.notice("broker.draining").kv("passes", static_cast<unsigned long long>(self->passes_running));
        while (self->passes_running > 0 && steady_clock::now() < deadline) co_await self->pass_ended.async_wait(tuple_awaitable);
        limit.cancel();
        const bool clean = self->passes_running == 0;
        self->log.notice("broker.drained").kv("clean", clean);
        done(clean);
      },
      asio::detached);
}

asio::awaitable<boost::system::result<put_outcome>> alarm_broker::put_appointment(const appointment& a) {
  auto self = impl_;
  auto r = co_await self->store.put(a);
  if (r && r->rearmed) {
    if (a.has_alarm) self->scheduled.inc();
    else self->cancelled.inc();
    asio::post(self->strand, [self] { self->poke(); });
  }
  co_return r;
}

asio::awaitable<boost::system::result<std::optional<appointment>>> alarm_broker::get_appointment(const std::string& id) {
  co_return co_await impl_->store.get(id);
}

asio::awaitable<boost::system::result<bool>> alarm_broker::delete_appointment(const std::string& id) {
  auto r = co_await impl_->store.remove(id);
  if (r && *r) impl_->cancelled.inc();
  co_return r;
}

asio::awaitable<boost::system::result<std::string>> alarm_broker::submit(push_message m) {
  auto self = impl_;
  auto r = co_await self->store.enqueue_message(m, self->now());
  if (r) {
    self->messages.inc();
    asio::post(self->strand, [self] { self->poke(); });
  }
  co_return r;
}

asio::awaitable<error_code> alarm_broker::run_once() {
  // The pass runs on the broker's strand whatever executor the caller is on
  // (REST, SOAP and CLI handlers); the caller resumes on its own.
  auto self = impl_;
  co_return co_await asio::co_spawn(
      self->strand,
      [self]() -> asio::awaitable<error_code> {
        if (auto ec = co_await self->store.ensure_group()) co_return ec;
        co_return co_await self->exclusive_pass(true);
      },
      asio::use_awaitable);
}

}  // namespace herald
