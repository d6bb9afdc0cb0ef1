// The broker's scheduler: the timer loop, one pass at a time, the pipeline
// of work batches, the store clock and the renewal of leases (broker_core.hpp).
#include "broker/broker_core.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <set>

namespace herald {

namespace asio = boost::asio;
using boost::system::error_code;
using namespace std::chrono;
namespace {
std::int64_t steady_ms() { return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count(); }
std::optional<std::int64_t> earliest_of(std::optional<std::int64_t> a, std::optional<std::int64_t> b) {
  if (a && b) return std::min(*a, *b);
  return a ? a : b;
}
// After a failed pass, or a pass whose closing status read failed: the loop
// looks again this much later (store ms), not at once.
constexpr std::int64_t retry_after_failure_ms = 500;
}  // namespace

void broker_core::poke() {
  dirty = true;
  wake.cancel();
}

// Redis server time, ms since the epoch (any thread: submit() runs on the
// caller's executor). Before the first TIME answer, the local wall clock.
std::int64_t broker_core::now() const {
  if (!clock_synced.load(std::memory_order_acquire)) return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  return steady_ms() + clock_offset.load(std::memory_order_relaxed);
}

// Samples TIME when the last sample is older than 10 s (strand).
asio::awaitable<void> broker_core::sync_clock() {
  if (!clock.stale(steady_ms(), 10'000)) co_return;
  const auto sent = steady_ms();
  auto t = co_await ports.schedule.server_time_ms();
  if (!t) co_return;  // keep the previous offset (or the wall clock)
  clock.sample(*t, sent, steady_ms());
  clock_offset.store(clock.now_ms(0, 0), std::memory_order_relaxed);
  clock_synced.store(true, std::memory_order_release);
}

// Runs while a pass runs: renews the leases of the delivery records first,
// then the entries, so a record's lease never outlives its entry's idle time.
asio::awaitable<void> broker_core::renew_loop() {
  auto self = shared_from_this();
  asio::steady_timer tick(strand);
  const auto period = std::max<milliseconds>(opts.settings.takeover_after / 3, milliseconds(10));
  while (passes_running > 0) {
    tick.expires_after(period);
    co_await tick.async_wait(as_tuple_awaitable);
    if (passes_running == 0) break;
    std::vector<std::string> records, entries;
    for (const auto& [id, n] : inflight_records) records.push_back(id);
    for (const auto& [id, n] : inflight_entries) entries.push_back(id);
    if (!records.empty()) {
      if (auto r = co_await ports.records.renew_deliveries(records, lease_ms()); !r)
        log.warning("broker.renew_failed").kv("what", "deliveries").kv("error", r.error().message());
    }
    if (!entries.empty()) {
      auto r = co_await ports.work.renew_entries(entries);
      if (!r) log.warning("broker.renew_failed").kv("what", "entries").kv("error", r.error().message());
      else if (static_cast<std::size_t>(*r) < entries.size())
        // Acknowledged since the list was taken, or taken over by another
        // daemon (this one was cut off too long): their writes stay fenced.
        log.info("broker.entries_not_renewed").kv("entries", static_cast<unsigned long long>(entries.size() - static_cast<std::size_t>(*r)));
    }
  }
  renewer_running = false;
}

void broker_core::ensure_renewer() {
  if (renewer_running) return;
  renewer_running = true;
  asio::co_spawn(strand, renew_loop(), asio::detached);
}

// Claims up to one claim_batch of due alarms and of due retries into the
// work stream and reads the next batch of it, in one round trip; `more_due`
// tells whether more may be due (a full claim batch was moved).
asio::awaitable<boost::system::result<std::vector<work_item>>> broker_core::claim_and_read(bool& more_due) {
  auto r = co_await ports.schedule.claim_due_and_read(now(), opts.claim_batch, opts.read_batch);
  if (!r) co_return boost::system::result<std::vector<work_item>>(boost::system::in_place_error, r.error());
  claimed.inc(static_cast<std::uint64_t>(r->claimed.alarms));
  more_due = r->claimed.alarms >= opts.claim_batch || r->claimed.retries >= opts.claim_batch;
  co_return std::move(r->items);
}

// Claims what is due and processes the work stream until it is empty.
// Batches run as a pipeline: up to max_batches_in_flight at once, the
// next one read (and more alarms claimed) while earlier ones still wait
// for Redis or the providers. `takeover`: first take over the entries of
// dead daemons and remove consumers left without entries. Only through
// exclusive_pass: one pass at a time.
asio::awaitable<error_code> broker_core::pass(bool takeover) {
  co_await sync_clock();
  ensure_renewer();
  if (takeover) {
    std::set<std::string> keep;
    for (const auto& [id, n] : inflight_entries) keep.insert(id);
    while (!stopped) {
      auto stale_items = co_await ports.work.take_over_stale(opts.settings.takeover_after.count(), opts.read_batch, opts.settings.max_deliveries, keep);
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
    const auto idle = 2 * std::max(opts.settings.takeover_after, opts.settings.interval).count();
    if (auto removed = co_await ports.work.remove_idle_consumers(idle); removed && *removed > 0) {
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
  bool stream_dry = true;  // the last read came back short: claim before the next one
  constexpr std::int64_t max_pass_ms = 1000;
  const auto pass_began_ms = steady_ms();
  while (!p->first_error && !stopped) {
    if (p->active >= max_batches) {
      co_await p->slot_freed.async_wait(as_tuple_awaitable);
      continue;
    }
    // While the stream holds a full batch, read it; once it runs dry, claim
    // what is due next and read in the same round trip.
    const bool claiming = stream_dry && more_due;
    boost::system::result<std::vector<work_item>> items;
    if (claiming) items = co_await claim_and_read(more_due);
    else items = co_await ports.work.read_work(opts.read_batch);
    if (!items) {
      p->first_error = items.error();
      break;
    }
    stream_dry = static_cast<int>(items->size()) < opts.read_batch;
    if (items->empty()) {
      if (!claiming && more_due) continue;  // claim before giving up
      // Nothing due now. While earlier batches still run, wait for one to
      // end and look again: what fell due meanwhile is claimed then, not
      // after the whole pipeline drained (the steady due-to-sent latency).
      // Bounded, so sweeps and requested passes still get their turn.
      if (p->active == 0 || rerun || steady_ms() - pass_began_ms >= max_pass_ms) break;
      co_await p->slot_freed.async_wait(as_tuple_awaitable);
      more_due = true;
      continue;
    }
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
            ec = work_failed();
          }
          for (const auto& w : batch) unhold(self->inflight_entries, w.stream_id);
          if (ec && !p->first_error) p->first_error = ec;
          --p->active;
          p->slot_freed.cancel();
        },
        asio::detached);
  }
  while (p->active > 0) co_await p->slot_freed.async_wait(as_tuple_awaitable);
  if (p->first_error) co_return p->first_error;
  // The gauges, and when the loop wakes next (one round trip for both).
  if (auto status = co_await ports.schedule.status(now())) {
    due_gauge.set(static_cast<double>(status->alarms_due));
    retry_depth.set(static_cast<double>(status->retries_waiting));
    next_due_after_pass = earliest_of(status->next_alarm, status->next_retry);
  } else {
    // The next due time is unknown: look again soon, but not at once (a
    // Redis that answers the pass and fails this read must not spin the loop).
    log.warning("broker.status_failed").kv("error", status.error().message());
    next_due_after_pass = now() + retry_after_failure_ms;
  }
  co_return error_code{};
}

asio::awaitable<error_code> broker_core::exclusive_pass(bool takeover) {
  auto self = shared_from_this();
  if (pass_active) {
    const auto want = passes_started + 1;
    rerun = true;
    rerun_takeover = rerun_takeover || takeover;
    while (passes_finished < want) co_await pass_ended.async_wait(as_tuple_awaitable);
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
      ec = work_failed();
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

asio::awaitable<error_code> broker_core::requested_pass() {
  auto self = shared_from_this();
  const error_code group = co_await ports.work.ensure_group();
  if (group) co_return group;
  co_return co_await exclusive_pass(true);
}

asio::awaitable<void> broker_core::loop() {
  auto self = shared_from_this();
  asio::steady_timer backoff(strand);
  while (!stopped) {
    if (co_await ports.work.ensure_group()) {
      backoff.expires_after(milliseconds(200));
      co_await backoff.async_wait(as_tuple_awaitable);
      continue;
    }
    break;
  }
  while (!stopped) {
    dirty = false;
    auto at = now();
    bool sweep = at - last_sweep_ms >= opts.settings.interval.count();
    if (sweep) last_sweep_ms = at;
    const error_code ec = co_await exclusive_pass(sweep);
    if (ec) log.warning("broker.pass_failed").kv("error", ec.message());
    if (stopped) break;
    // Next wake-up (Redis time): the earliest alarm or retry, the next
    // sweep, or soon after a failure.
    std::int64_t next = last_sweep_ms + opts.settings.interval.count();
    if (ec) next = std::min(next, now() + retry_after_failure_ms);
    else if (next_due_after_pass) next = std::min(next, *next_due_after_pass);
    if (dirty || stopped) continue;
    auto delay = milliseconds(std::max<std::int64_t>(0, next - now()));
    wake.expires_after(delay);
    co_await wake.async_wait(as_tuple_awaitable);
  }
}

}  // namespace herald
