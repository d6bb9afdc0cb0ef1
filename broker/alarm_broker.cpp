#include "broker/alarm_broker.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <unistd.h>

#include "broker/broker_core.hpp"

namespace herald {

namespace asio = boost::asio;
using boost::system::error_code;
using namespace std::chrono;
std::string default_consumer_name() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(::getpid());
}

error_code work_failed() { return make_error_code(boost::system::errc::resource_unavailable_try_again); }

broker_core::broker_core(asio::any_io_executor ex, broker_options o, broker_ports p, const localizer& l, logger& lg, metrics_registry& m)
    : strand(asio::make_strand(ex)),
      opts(std::move(o)),
      ports(p),
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
      taken_over(m.get_counter("herald_broker_entries_taken_over_total", "Work entries taken over from a dead daemon (XPENDING + XCLAIM)")),
      duplicates(m.get_counter("herald_broker_deliveries_skipped_total", "Deliveries skipped because their record says done (takeover, duplicate)")),
      held_elsewhere(m.get_counter("herald_broker_deliveries_held_elsewhere_total", "Deliveries not sent because another daemon's lease on them still runs")),
      consumers_removed(m.get_counter("herald_broker_consumers_removed_total", "Consumers of gone daemons removed from the work group")),
      not_wanted(m.get_counter("herald_broker_deliveries_not_wanted_total", "Devices whose tags opt out of the event")),
      messages(m.get_counter("herald_broker_messages_total", "Messages accepted for fan-out (SendPushNotification, IBM)")),
      due_gauge(m.get_gauge("herald_broker_alarms_due", "Alarms due and not yet claimed (at the last pass)")),
      retry_depth(m.get_gauge("herald_broker_retry_queue_depth", "Deliveries waiting for a retry")),
      tz_fallback(m.get_counter("herald_l10n_timezone_fallback_total", "Notifications formatted in the default zone because the TimeZoneId is unknown")),
      due_to_sent(m.get_histogram("herald_broker_due_to_sent_seconds", "From an alarm's due time until the provider answered",
                                  {}, {0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300})),
      metrics(m) {}

alarm_broker::alarm_broker(asio::any_io_executor ex, broker_options options, broker_ports ports, const localizer& l10n, logger& log,
                           metrics_registry& metrics)
    : impl_(std::make_shared<broker_core>(ex, std::move(options), ports, l10n, log, metrics)) {}

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
  self->log.info("broker.started").kv("consumer", self->ports.work.consumer()).kv("interval_ms", static_cast<long long>(self->opts.settings.interval.count()));
}

void alarm_broker::schedule_changed() {
  auto self = impl_;
  asio::post(self->strand, [self] { self->poke(); });
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
        while (self->passes_running > 0 && steady_clock::now() < deadline) co_await self->pass_ended.async_wait(as_tuple_awaitable);
        limit.cancel();
        const bool clean = self->passes_running == 0;
        self->log.notice("broker.drained").kv("clean", clean);
        done(clean);
      },
      asio::detached);
}

asio::awaitable<boost::system::result<put_outcome>> alarm_broker::put_appointment(const appointment& a) {
  auto self = impl_;
  auto r = co_await self->ports.appointments.put(a);
  if (r && r->rearmed) {
    if (a.has_alarm) self->scheduled.inc();
    else self->cancelled.inc();
    asio::post(self->strand, [self] { self->poke(); });
  }
  co_return r;
}

asio::awaitable<boost::system::result<std::optional<appointment>>> alarm_broker::get_appointment(const std::string& id) {
  co_return co_await impl_->ports.appointments.get(id);
}

asio::awaitable<boost::system::result<bool>> alarm_broker::delete_appointment(const std::string& id) {
  auto r = co_await impl_->ports.appointments.remove(id);
  if (r && *r) impl_->cancelled.inc();
  co_return r;
}

asio::awaitable<boost::system::result<std::string>> alarm_broker::submit(push_message m) {
  auto self = impl_;
  auto r = co_await self->ports.messages.enqueue_message(m, self->now());
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
  co_return co_await asio::co_spawn(self->strand, self->requested_pass(), asio::use_awaitable);
}

}  // namespace herald
