// One batch of work: alarms, messages and retries fanned out to their
// devices; deliveries claimed, sent and recorded in bounded chunks
// (broker_core.hpp).
#include "broker/broker_core.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <set>
#include <unordered_map>

#include "broker/delivery_policy.hpp"

namespace herald {

namespace asio = boost::asio;
using boost::system::error_code;
using namespace std::chrono;
namespace {
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
  while (st->running > 0) co_await st->done.async_wait(as_tuple_awaitable);
  co_return st->failed;
}

}  // namespace

template <typename Build>
asio::awaitable<void> broker_core::deliver_targets(const std::vector<send_target>& targets, bool retrying, std::size_t chunk, Build& build,
                                      std::vector<entry_state>& states) {
  for (auto [b, e] : key_chunks(targets.size(), chunk)) {
    std::vector<std::string> ids;
    ids.reserve(e - b);
    for (auto i = b; i < e; ++i) ids.push_back(delivery_id_of(*targets[i].job, targets[i].device->device_identifier));
    auto claims = co_await ports.records.claim_deliveries(ids, retrying, lease_ms());
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
      auto written = co_await ports.records.finish_deliveries(delivered, "delivered");
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
    if (!release.empty()) (void)co_await ports.records.renew_deliveries(release, 0);
    for (std::size_t k = 0; k < ids.size(); ++k)
      if ((*claims)[k] == claim_decision::go) unhold(inflight_records, ids[k]);
  }
}

// Every device of the associates and of `device_ids` (each once), or a store error.
asio::awaitable<std::optional<std::vector<device_info>>> broker_core::devices_of(const std::vector<std::int64_t>& associates,
                                                                    const std::vector<std::string>& device_ids) {
  std::vector<device_info> out;
  std::set<std::string> seen;
  std::vector<std::int64_t> listed = associates;
  std::sort(listed.begin(), listed.end());
  listed.erase(std::unique(listed.begin(), listed.end()), listed.end());
  auto lists = co_await ports.devices.list_by_associates(listed);
  if (!lists) co_return std::nullopt;
  for (auto a : associates) {
    auto at = static_cast<std::size_t>(std::lower_bound(listed.begin(), listed.end(), a) - listed.begin());
    for (auto& d : (*lists)[at])
      if (seen.insert(d.device_identifier).second) out.push_back(std::move(d));
  }
  for (const auto& id : device_ids) {
    if (seen.count(id)) continue;
    auto d = co_await ports.devices.get(id);
    if (!d) co_return std::nullopt;
    if (*d && seen.insert(id).second) out.push_back(std::move(**d));
  }
  co_return out;
}

// The alarm entries of one batch (`which` indexes `items`), together: one
// script reads their appointments, one their associates' devices; then
// the deliveries go in chunks (deliver_targets). Sets states[i] for each
// entry i of `which`.
asio::awaitable<void> broker_core::process_alarms(const std::vector<std::pair<std::size_t, alarm_work>>& which, std::vector<entry_state>& states) {
  auto fail_all = [&] {
    for (const auto& [i, a] : which) worsen(states[i], entry_state::failed);
  };
  std::vector<std::string> ids;
  ids.reserve(which.size());
  for (const auto& [i, a] : which) ids.push_back(a.appointment_id);
  auto appts = co_await ports.appointments.get_many(ids);
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
        ports.records.trace(delivery_event{at, job.kind, job.id, "", "", "late_dropped", "dropped", 0,
                                           "claimed " + std::to_string(at - job.due_ms) + " ms after due (broker.max_lateness)", ""});
        continue;
      case alarm_verdict::fan_out:
        break;
    }
    listed.insert(listed.end(), stored->associate_ids.begin(), stored->associate_ids.end());
    live.push_back(live_alarm{which[k].first, std::move(job), &*stored});
  }
  std::sort(listed.begin(), listed.end());
  listed.erase(std::unique(listed.begin(), listed.end()), listed.end());
  auto lists = co_await ports.devices.list_by_associates(listed);
  if (!lists) co_return fail_all();

  std::vector<send_target> targets;
  for (auto& alarm : live) {
    auto t = targets_of(alarm.appt->associate_ids, listed, *lists, alarm_event);
    not_wanted.inc(t.not_wanted);
    for (const auto* d : t.unwanted)
      ports.records.trace(delivery_event{now(), alarm.job.kind, alarm.job.id, d->device_identifier, "", "not_wanted", "skipped", 0,
                                         "device tags name neither AppointmentAlarm nor All", ""});
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

asio::awaitable<entry_state> broker_core::process_message(const message_work& w) {
  const auto& id = w.message_id;
  auto msg = co_await ports.messages.get_message(id);
  if (!msg) co_return entry_state::failed;
  if (!*msg) co_return entry_state::finished;  // expired
  const push_message& m = **msg;
  delivery_job job{"message", id, 0, w.due_ms, m.app_id};
  if (is_late(job.due_ms, now(), opts.settings.max_lateness.count())) {
    late_dropped.inc();
    ports.records.trace(delivery_event{now(), job.kind, job.id, "", job.app_id, "late_dropped", "dropped", 0,
                                       "not fanned out before broker.max_lateness", ""});
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
asio::awaitable<entry_state> broker_core::process_retry(const retry_work& w) {
  delivery_job job{w.job_kind, w.id, w.revision, w.due_ms, w.app};
  const auto& device_id = w.device;
  const auto attempt = w.attempt;
  std::string delivery_id = delivery_id_of(job, device_id);
  const std::vector<std::string> one{delivery_id};
  auto claim = co_await ports.records.claim_deliveries(one, true, lease_ms());
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
  if (st == entry_state::failed) (void)co_await ports.records.renew_deliveries(one, 0);  // release: the next attempt need not wait
  unhold(inflight_records, delivery_id);
  co_return st;
}

asio::awaitable<entry_state> broker_core::retry_claimed(const delivery_job& job, const std::string& device_id, int attempt,
                                           const std::string& delivery_id) {
  auto dev = co_await ports.devices.get(device_id);
  if (!dev) co_return entry_state::failed;
  if (!*dev) {
    ports.records.trace(delivery_event{now(), job.kind, job.id, device_id, job.app_id, "device_gone", "none", 0, "device removed before its retry", ""});
    co_return ended(co_await ports.records.finish_delivery(delivery_id, "device-removed"));
  }
  if (is_late(job.due_ms, now(), opts.settings.max_lateness.count())) {
    late_dropped.inc();
    count_outcome(job.kind, "dead_letter", "late");
    std::map<std::string, std::string> entry{{"delivery", delivery_id}, {"kind", job.kind}, {"id", job.id}, {"device", device_id},
                                             {"reason", "late: gave up retrying"}, {"app", job.app_id}};
    ports.records.trace(delivery_event{now(), job.kind, job.id, device_id, job.app_id, "late_dropped", "dead_letter", 0, "late: gave up retrying", ""});
    co_return ended(co_await ports.records.dead_letter_delivery(delivery_id, "late", entry));
  }
  notification n;
  std::string build_error;
  bool built = false;
  try {
    if (job.kind == "alarm") {
      auto appt = co_await ports.appointments.get(job.id);
      if (!appt) co_return entry_state::failed;
      if (!*appt || (*appt)->revision != job.revision) {
        stale.inc();
        co_return ended(co_await ports.records.finish_delivery(delivery_id, "stale"));
      }
      n = alarm_notification(**appt, **dev);
    } else {
      auto msg = co_await ports.messages.get_message(job.id);
      if (!msg) co_return entry_state::failed;
      if (!*msg) co_return ended(co_await ports.records.finish_delivery(delivery_id, "expired"));
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

// Processes one batch of work entries: the alarms together, the other
// entries one by one (concurrently); then acknowledges the finished ones
// in one script and counts a failure for each failed one. Entries held by
// another daemon's lease stay pending without a failure. Returns an error
// when an entry failed.
asio::awaitable<error_code> broker_core::process_batch(const std::vector<work_item>& items) {
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
  ports.records.trace_flush();  // the batch's trace events, together
  std::vector<std::string> done, failed;
  done.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (states[i] == entry_state::finished) done.push_back(items[i].stream_id);
    else if (states[i] == entry_state::failed) failed.push_back(items[i].stream_id);
  }
  error_code ec;
  if (!failed.empty()) {
    ec = work_failed();
    (void)co_await ports.work.count_failures(failed);
  }
  if (auto ack_ec = co_await ports.work.ack_many(done); ack_ec && !ec) ec = ack_ec;
  for (const auto& w : items) unhold(inflight_entries, w.stream_id);
  co_return ec;
}

}  // namespace herald
