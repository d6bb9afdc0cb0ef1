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
#include <set>

#include "broker/delivery_policy.hpp"
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

std::int64_t now_ms() { return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count(); }

std::int64_t to_int(const std::string& s, std::int64_t fallback = 0) {
  try {
    return static_cast<std::int64_t>(std::stoll(s));
  } catch (...) {
    return fallback;
  }
}

std::string default_consumer() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(::getpid());
}

// Runs fn(i) for i in [0, n) with at most `limit` at once on `ex` (a strand);
// returns when all finished. fn must not throw (exceptions are logged and swallowed).
template <typename Fn>
asio::awaitable<void> for_each_bounded(asio::any_io_executor ex, std::size_t n, std::size_t limit, Fn& fn, logger& log) {
  if (n == 0) co_return;
  struct join_state {
    explicit join_state(asio::any_io_executor e) : done(e, steady_clock::time_point::max()) {}
    std::size_t next = 0;
    std::size_t running = 0;
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
              log.err("broker.task_failed").kv("error", e.what());
            }
          }
          if (--st->running == 0) st->done.cancel();
        },
        asio::detached);
  }
  co_await st->done.async_wait(tuple_awaitable);
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
  std::int64_t last_sweep_ms = 0;

  counter& scheduled;
  counter& cancelled;
  counter& claimed;
  counter& alarms_sent;
  counter& late_dropped;
  counter& stale;
  counter& taken_over;
  counter& duplicates;
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

  // --- one device -------------------------------------------------------

  struct delivery_job {
    std::string kind;  // alarm | message
    std::string id;    // appointment or message id
    std::int64_t revision = 0;
    std::int64_t due_ms = 0;
    std::string app_id;
  };

  // Sends one notification unless its record says it was already done, then
  // carries out the outcome. Returns false on a store error (the work entry
  // must stay pending so that a later pass or another daemon finishes it).
  static std::string delivery_id_of(const delivery_job& job, const std::string& device_identifier) {
    return job.kind + ":" + job.id + ":" + std::to_string(job.revision) + ":" + device_identifier;
  }

  asio::awaitable<bool> deliver(const delivery_job& job, const device_info& device, notification n, bool retrying) {
    n.delivery_id = delivery_id_of(job, device.device_identifier);
    auto claim = co_await store.claim_delivery(n.delivery_id, retrying);
    if (!claim) co_return false;
    if (*claim == delivery_claim::already_done) {
      duplicates.inc();
      co_return true;
    }
    co_return co_await send_claimed(job, device, std::move(n));
  }

  // Claims the records of all `targets` in one call, then sends those that
  // are not done yet, concurrently. Returns false on a store error.
  template <typename Build>
  asio::awaitable<bool> deliver_all(const delivery_job& job, const std::vector<const device_info*>& targets, Build build) {
    std::vector<std::string> ids;
    ids.reserve(targets.size());
    for (const auto* d : targets) ids.push_back(delivery_id_of(job, d->device_identifier));
    auto claims = co_await store.claim_deliveries(ids, false);
    if (!claims) co_return false;
    bool ok = true;
    std::vector<std::string> delivered;
    auto send_one = [&](std::size_t i) -> asio::awaitable<void> {
      if (!(*claims)[i]) {
        duplicates.inc();
        co_return;
      }
      notification n = build(*targets[i]);
      n.delivery_id = ids[i];
      if (!co_await send_claimed(job, *targets[i], std::move(n), &delivered)) ok = false;
    };
    co_await for_each_bounded(strand, targets.size(), static_cast<std::size_t>(opts.max_sends_per_entry), send_one, log);
    // "delivered" records of this entry are written together: one script call
    // instead of one SET per device. A daemon dying before this line leaves
    // them in "sending", and a takeover resends them with the same apns-id.
    if (auto ec = co_await store.finish_deliveries(delivered, "delivered")) ok = false;
    co_return ok;
  }

  // `delivered_batch`: when set, a delivered record is appended there for the
  // caller to write, instead of written here.
  asio::awaitable<bool> send_claimed(const delivery_job& job, const device_info& device, notification n,
                                     std::vector<std::string>* delivered_batch = nullptr) {
    // A device registered through a configured IBM application holds a token
    // of that application: its credentials send (alarms and Pocket messages
    // included); else the job's app (IBM message) or the default app.
    const std::string& app = !device.app_id.empty() && providers.has_app(device.app_id) ? device.app_id : job.app_id;
    auto result = co_await providers.async_send(app, device, n);
    auto now = now_ms();
    if (job.kind == "alarm") due_to_sent.observe(std::max<double>(0, static_cast<double>(now - job.due_ms) / 1000.0));
    auto plan = plan_delivery(result, device, now, job.due_ms, opts.settings.max_lateness.count());
    error_code ec;
    switch (plan.action) {
      case delivery_action::record_delivered:
        count_outcome(job.kind, "delivered", "");
        if (delivered_batch) delivered_batch->push_back(n.delivery_id);
        else ec = co_await store.finish_delivery(n.delivery_id, "delivered");
        break;
      case delivery_action::remove_device: {
        count_outcome(job.kind, "device_gone", plan.reason);
        // Only while the device still has the token the provider called
        // gone: a re-registration with a new token that raced this send wins.
        auto removed = co_await devices.remove_if_token(device.device_identifier, device.pns_handle);
        if (!removed) ec = removed.error();
        else
          log.info("device.removed")
              .kv("device", shorten_token(device.device_identifier))
              .kv("reason", plan.reason)
              .kv("outcome", *removed == remove_outcome::removed      ? "removed"
                             : *removed == remove_outcome::not_found ? "already_gone"
                                                                     : "kept_new_token");
        if (!ec) ec = co_await store.finish_delivery(n.delivery_id, "gone");
        break;
      }
      case delivery_action::keep_device:
        count_outcome(job.kind, "device_gone_kept", plan.reason);
        ec = co_await store.finish_delivery(n.delivery_id, "gone-reregistered");
        break;
      case delivery_action::schedule_retry: {
        count_outcome(job.kind, "retry", plan.reason);
        std::map<std::string, std::string> retry_job{{"job_kind", job.kind},
                                                     {"id", job.id},
                                                     {"rev", std::to_string(job.revision)},
                                                     {"due", std::to_string(job.due_ms)},
                                                     {"device", device.device_identifier},
                                                     {"attempt", std::to_string(n.attempt + 1)},
                                                     {"app", job.app_id}};
        ec = co_await store.schedule_retry(n.delivery_id, plan.retry_at_ms, retry_job);
        log.info("delivery.retry_scheduled")
            .kv("delivery", n.delivery_id.substr(0, n.delivery_id.size() - device.device_identifier.size()) + shorten_token(device.device_identifier))
            .kv("reason", plan.reason)
            .kv("in_ms", static_cast<long long>(plan.retry_at_ms - now))
            .kv("attempt", n.attempt + 1);
        poke();  // the next wake-up may now be this retry
        break;
      }
      case delivery_action::dead_letter:
        count_outcome(job.kind, "dead_letter", plan.reason);
        log.warning("delivery.dead_letter").kv("device", shorten_token(device.device_identifier)).kv("kind", job.kind).kv("id", job.id).kv("reason", plan.reason);
        {
          std::map<std::string, std::string> entry{{"delivery", n.delivery_id},
                                                   {"kind", job.kind},
                                                   {"id", job.id},
                                                   {"device", device.device_identifier},
                                                   {"platform", std::string(to_string(device.platform))},
                                                   {"reason", plan.reason},
                                                   {"status", std::to_string(result.http_status)}};
          ec = co_await store.dead_letter(entry);
        }
        if (!ec) ec = co_await store.finish_delivery(n.delivery_id, "dead");
        break;
    }
    co_return !ec;
  }

  notification alarm_notification(const appointment& a, const device_info& device) {
    alarm_message_input in{a.title, a.location, a.start, a.lead_time, a.is_private};
    auto msg = l10n.alarm(in, device.language, device.time_zone_id, time_point_cast<seconds>(system_clock::now()));
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
    if (m.time_to_live_s > 0) n.expiration = duration_cast<seconds>(system_clock::now().time_since_epoch()).count() + m.time_to_live_s;
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
  // script reads their appointments, one their associates' devices, one
  // claims every delivery record and one writes the "delivered" records —
  // four round trips per batch instead of four per alarm. Sets `ackable[i]`
  // for each entry that is finished (sent, stale or dropped late); an entry
  // left unset stays pending for a later pass or another daemon.
  asio::awaitable<void> process_alarms(const std::vector<work_item>& items, const std::vector<std::size_t>& which,
                                       std::vector<char>& ackable) {
    std::vector<std::string> ids;
    ids.reserve(which.size());
    for (auto i : which) ids.push_back(items[i].field("id"));
    auto appts = co_await store.get_many(ids);
    if (!appts) co_return;

    struct live_alarm {
      std::size_t item;
      delivery_job job;
      const appointment* appt;
      std::size_t devices = 0;
      bool ok = true;
    };
    std::vector<live_alarm> live;
    std::vector<std::int64_t> listed;
    const auto now = now_ms();
    for (std::size_t k = 0; k < which.size(); ++k) {
      const work_item& w = items[which[k]];
      delivery_job job{"alarm", std::move(ids[k]), to_int(w.field("rev")), to_int(w.field("due")), ""};
      const auto& stored = (*appts)[k];
      switch (judge_alarm(stored, job.revision, job.due_ms, now, opts.settings.max_lateness.count())) {
        case alarm_verdict::stale:
          stale.inc();
          ackable[which[k]] = 1;
          continue;
        case alarm_verdict::late:
          late_dropped.inc();
          log.warning("alarm.late_dropped").kv("appointment", job.id).kv("late_ms", static_cast<long long>(now - job.due_ms));
          ackable[which[k]] = 1;
          continue;
        case alarm_verdict::fan_out:
          break;
      }
      listed.insert(listed.end(), stored->associate_ids.begin(), stored->associate_ids.end());
      live.push_back(live_alarm{which[k], std::move(job), &*stored});
    }
    std::sort(listed.begin(), listed.end());
    listed.erase(std::unique(listed.begin(), listed.end()), listed.end());
    auto lists = co_await devices.list_by_associates(listed);
    if (!lists) co_return;

    struct target {
      std::size_t alarm;  // index into live
      const device_info* device;
    };
    std::vector<target> targets;
    std::vector<std::string> delivery_ids;
    for (std::size_t k = 0; k < live.size(); ++k) {
      auto t = targets_of(live[k].appt->associate_ids, listed, *lists, alarm_event);
      not_wanted.inc(t.not_wanted);
      live[k].devices = t.wanted.size() + t.not_wanted;
      for (const auto* d : t.wanted) {
        targets.push_back(target{k, d});
        delivery_ids.push_back(delivery_id_of(live[k].job, d->device_identifier));
      }
    }
    auto claims = co_await store.claim_deliveries(delivery_ids, false);
    if (!claims) co_return;

    std::vector<std::string> delivered;
    delivered.reserve(targets.size());
    auto send_one = [&](std::size_t i) -> asio::awaitable<void> {
      if (!(*claims)[i]) {
        duplicates.inc();
        co_return;
      }
      live_alarm& alarm = live[targets[i].alarm];
      notification n = alarm_notification(*alarm.appt, *targets[i].device);
      n.delivery_id = std::move(delivery_ids[i]);
      if (!co_await send_claimed(alarm.job, *targets[i].device, std::move(n), &delivered)) alarm.ok = false;
    };
    co_await for_each_bounded(strand, targets.size(), static_cast<std::size_t>(opts.max_sends_per_batch), send_one, log);
    // The "delivered" records of the batch are written together. A daemon
    // dying before this line leaves them in "sending", and a takeover
    // resends them with the same apns-id (docs/DATA-MODEL.md).
    const bool recorded = !co_await store.finish_deliveries(delivered, "delivered");
    for (const auto& alarm : live) {
      if (!alarm.ok || !recorded) continue;
      ackable[alarm.item] = 1;
      alarms_sent.inc();
      log.info("alarm.sent")
          .kv("appointment", alarm.job.id)
          .kv("revision", static_cast<long long>(alarm.job.revision))
          .kv("devices", static_cast<unsigned long long>(alarm.devices));
    }
  }

  asio::awaitable<bool> process_message(const work_item& w) {
    auto id = w.field("id");
    auto msg = co_await store.get_message(id);
    if (!msg) co_return false;
    if (!*msg) co_return true;  // expired
    const push_message& m = **msg;
    delivery_job job{"message", id, 0, to_int(w.field("due")), m.app_id};
    if (is_late(job.due_ms, now_ms(), opts.settings.max_lateness.count())) {
      late_dropped.inc();
      co_return true;
    }
    auto targets = co_await devices_of(m.associate_ids, m.device_identifiers);
    if (!targets) co_return false;
    // Messages go to every targeted device; IBM tagNames narrow the targets
    // to the devices subscribed to one of them. Pocket tags apply to alarms.
    std::vector<const device_info*> chosen;
    for (const auto& d : *targets)
      if (message_targets(m, d)) chosen.push_back(&d);
    co_return co_await deliver_all(job, chosen, [&](const device_info&) { return message_notification(m, id); });
  }

  asio::awaitable<bool> process_retry(const work_item& w) {
    delivery_job job{w.field("job_kind"), w.field("id"), to_int(w.field("rev")), to_int(w.field("due")), w.field("app")};
    auto device_id = w.field("device");
    auto attempt = static_cast<int>(to_int(w.field("attempt"), 1));
    std::string delivery_id = job.kind + ":" + job.id + ":" + std::to_string(job.revision) + ":" + device_id;
    auto dev = co_await devices.get(device_id);
    if (!dev) co_return false;
    if (!*dev) {
      auto ec = co_await store.finish_delivery(delivery_id, "device-removed");
      co_return !ec;
    }
    if (is_late(job.due_ms, now_ms(), opts.settings.max_lateness.count())) {
      late_dropped.inc();
      count_outcome(job.kind, "dead_letter", "late");
      std::map<std::string, std::string> entry{{"delivery", delivery_id}, {"kind", job.kind}, {"id", job.id}, {"device", device_id}, {"reason", "late: gave up retrying"}};
      auto ec = co_await store.dead_letter(entry);
      if (!ec) ec = co_await store.finish_delivery(delivery_id, "late");
      co_return !ec;
    }
    notification n;
    if (job.kind == "alarm") {
      auto appt = co_await store.get(job.id);
      if (!appt) co_return false;
      if (!*appt || (*appt)->revision != job.revision) {
        stale.inc();
        auto ec = co_await store.finish_delivery(delivery_id, "stale");
        co_return !ec;
      }
      n = alarm_notification(**appt, **dev);
    } else {
      auto msg = co_await store.get_message(job.id);
      if (!msg) co_return false;
      if (!*msg) {
        auto ec = co_await store.finish_delivery(delivery_id, "expired");
        co_return !ec;
      }
      n = message_notification(**msg, job.id);
    }
    n.attempt = attempt;
    co_return co_await deliver(job, **dev, std::move(n), true);
  }

  // --- passes -------------------------------------------------------------

  // Returns whether the entry may be acknowledged (messages, retries).
  asio::awaitable<bool> process_one(const work_item& w) {
    if (w.kind == "message") co_return co_await process_message(w);
    if (w.kind == "retry") co_return co_await process_retry(w);
    log.warning("broker.unknown_entry").kv("kind", w.kind).kv("stream_id", w.stream_id);
    co_return true;
  }

  // Processes one batch of work entries: the alarms together, the other
  // entries one by one (concurrently); then acknowledges the finished ones
  // in one XACK + XDEL. Returns an error when an entry could not be finished.
  asio::awaitable<error_code> process_batch(const std::vector<work_item>& items) {
    std::vector<char> ackable(items.size(), 0);
    std::vector<std::size_t> alarms, others;
    for (std::size_t i = 0; i < items.size(); ++i) (items[i].kind == "alarm" ? alarms : others).push_back(i);
    // Task 0 is the alarm group, task k > 0 the (k-1)th other entry.
    auto task = [&](std::size_t t) -> asio::awaitable<void> {
      if (t == 0) {
        if (!alarms.empty()) co_await process_alarms(items, alarms, ackable);
      } else if (co_await process_one(items[others[t - 1]])) {
        ackable[others[t - 1]] = 1;
      }
    };
    co_await for_each_bounded(strand, others.size() + 1, static_cast<std::size_t>(opts.max_sends_per_entry), task, log);
    std::vector<std::string> done;
    done.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i)
      if (ackable[i]) done.push_back(items[i].stream_id);
    error_code ec;
    if (done.size() != items.size()) ec = make_error_code(redis_error::not_connected);
    if (auto ack_ec = co_await store.ack_many(done); ack_ec && !ec) ec = ack_ec;
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
  asio::awaitable<boost::system::result<bool>> claim_some(std::int64_t now) {
    auto alarms = co_await store.claim_due_alarms(now, opts.claim_batch);
    if (!alarms) co_return boost::system::result<bool>(boost::system::in_place_error, alarms.error());
    claimed.inc(static_cast<std::uint64_t>(*alarms));
    auto retries = co_await store.claim_due_retries(now, opts.claim_batch);
    if (!retries) co_return boost::system::result<bool>(boost::system::in_place_error, retries.error());
    co_return *alarms >= opts.claim_batch || *retries >= opts.claim_batch;
  }

  // Claims what is due and processes the work stream until it is empty.
  // Batches run as a pipeline: up to max_batches_in_flight at once, the
  // next one read (and more alarms claimed) while earlier ones still wait
  // for Redis or the providers. `takeover`: first take over the entries of
  // dead daemons.
  asio::awaitable<error_code> pass(bool takeover) {
    struct running_pass {
      impl& broker;
      explicit running_pass(impl& b) : broker(b) { ++broker.passes_running; }
      ~running_pass() {
        --broker.passes_running;
        broker.pass_ended.cancel();
      }
      running_pass(const running_pass&) = delete;
      running_pass& operator=(const running_pass&) = delete;
    } running(*this);
    if (takeover) {
      while (!stopped) {
        auto stale_items = co_await store.take_over_stale(opts.takeover_idle.count(), opts.read_batch, opts.max_deliveries);
        if (!stale_items) co_return stale_items.error();
        if (stale_items->items.empty() && stale_items->poisoned.empty()) break;
        if (auto ec = co_await bury(stale_items->poisoned)) co_return ec;
        if (stale_items->items.empty()) continue;
        taken_over.inc(stale_items->items.size());
        log.notice("broker.takeover").kv("entries", static_cast<unsigned long long>(stale_items->items.size()));
        if (auto ec = co_await process_batch(stale_items->items)) co_return ec;
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
        auto more = co_await claim_some(now_ms());
        if (!more) {
          p->first_error = more.error();
          break;
        }
        more_due = *more;
        if (items->empty()) continue;
      }
      if (items->empty()) break;
      ++p->active;
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
            if (ec && !p->first_error) p->first_error = ec;
            --p->active;
            p->slot_freed.cancel();
          },
          asio::detached);
    }
    while (p->active > 0) co_await p->slot_freed.async_wait(tuple_awaitable);
    if (p->first_error) co_return p->first_error;
    if (auto due = co_await store.alarms_due_count(now_ms())) due_gauge.set(static_cast<double>(*due));
    if (auto depth = co_await store.retry_depth()) retry_depth.set(static_cast<double>(*depth));
    co_return error_code{};
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
      auto now = now_ms();
      bool sweep = now - last_sweep_ms >= opts.settings.interval.count();
      if (sweep) last_sweep_ms = now;
      error_code ec;
      if (redis->connected()) ec = co_await pass(sweep);
      else ec = make_error_code(redis_error::not_connected);
      if (ec) log.warning("broker.pass_failed").kv("error", ec.message());
      if (stopped) break;
      // Next wake-up: the earliest alarm or retry, the next sweep, or soon after a failure.
      std::int64_t next = last_sweep_ms + opts.settings.interval.count();
      if (ec) next = std::min(next, now_ms() + 500);
      if (!ec) {
        if (auto a = co_await store.next_alarm_due(); a && *a) next = std::min(next, **a);
        if (auto r = co_await store.next_retry_due(); r && *r) next = std::min(next, **r);
      }
      if (dirty || stopped) continue;
      auto delay = milliseconds(std::max<std::int64_t>(0, next - now_ms()));
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
    while (!stopped) {
      if (!watch_redis->connected()) {
        backoff.expires_after(milliseconds(200));
        co_await backoff.async_wait(tuple_awaitable);
        continue;
      }
      if (last.empty()) {
        std::vector<std::string> cmd{"XREVRANGE", changes, "+", "-", "COUNT", "1"};
        auto [ec, reply] = co_await redis_command(*watch_redis, std::move(cmd));
        if (ec) {  // an error reply must not spin: wait before asking again
          backoff.expires_after(milliseconds(200));
          co_await backoff.async_wait(tuple_awaitable);
          continue;
        }
        last = reply.elements.empty() ? "0-0" : reply.elements[0].elements[0].str;
        poke();  // anything may have changed while we were not watching
      }
      std::vector<std::string> cmd{"XREAD", "COUNT", "100", "BLOCK", std::to_string(opts.watch_block.count()), "STREAMS", changes, last};
      auto [ec, reply] = co_await redis_command(*watch_redis, std::move(cmd));
      if (ec) {
        last.clear();
        backoff.expires_after(milliseconds(200));
        co_await backoff.async_wait(tuple_awaitable);
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
  auto r = co_await self->store.enqueue_message(m, now_ms());
  if (r) {
    self->messages.inc();
    asio::post(self->strand, [self] { self->poke(); });
  }
  co_return r;
}

asio::awaitable<error_code> alarm_broker::run_once() {
  auto self = impl_;
  co_await asio::post(self->strand, asio::use_awaitable);
  if (auto ec = co_await self->store.ensure_group()) co_return ec;
  co_return co_await self->pass(true);
}

}  // namespace herald
