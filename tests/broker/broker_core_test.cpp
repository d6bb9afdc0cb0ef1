// The broker's core against in-memory ports (fake_ports.hpp): no Redis, no
// provider, each test well under a second. Several "daemons" share one
// fake_world the way daemons share one Redis.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <cstdio>
#include <memory>

#include "broker/alarm_broker.hpp"
#include "l10n/localizer.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "tests/broker/fake_ports.hpp"

namespace herald::test {
namespace {

using namespace std::chrono;
namespace asio = boost::asio;

const localizer& shared_l10n() {
  static const localizer l = localizer::load("", "", "en", "Europe/Oslo");
  return l;
}

// One daemon: its own store view (consumer name), sender, metrics and broker.
struct fake_daemon {
  fake_daemon(asio::io_context& ioc, fake_world& w, std::string name, broker_options o)
      : store(w, name), devices(w), sender(w), log(log_level::warning, stderr) {
    broker = std::make_unique<alarm_broker>(ioc.get_executor(), o, broker_ports{store, store, store, store, store, devices, sender},
                                            shared_l10n(), log, metrics);
  }
  fake_store store;
  fake_devices devices;
  fake_sender sender;
  logger log;
  metrics_registry metrics;
  std::unique_ptr<alarm_broker> broker;
};

broker_options fast_options(milliseconds takeover_after = milliseconds(60)) {
  broker_options o;
  o.settings.interval = milliseconds(20);  // sweeps (and takeovers) often
  o.settings.max_lateness = minutes(5);
  o.settings.takeover_after = takeover_after;
  o.settings.max_deliveries = 10;
  return o;
}

// Runs the io_context until `done` holds (checked every few ms) or `limit` passes.
bool run_until(asio::io_context& ioc, const std::function<bool()>& done, milliseconds limit = milliseconds(5000)) {
  const auto deadline = steady_clock::now() + limit;
  while (!done()) {
    if (steady_clock::now() >= deadline) return false;
    ioc.restart();
    ioc.run_for(milliseconds(5));
  }
  return true;
}

std::string token(int n) {
  char buf[65];
  std::snprintf(buf, sizeof buf, "%064x", n + 0x1000);
  return buf;
}

// Associate a has devices 2a and 2a+1.
void add_associates(fake_world& w, int first, int count) {
  for (int a = first; a < first + count; ++a)
    for (int n : {2 * a, 2 * a + 1}) w.add_device(a, "dev-" + std::to_string(n), token(n));
}

bool settled(const fake_world& w) { return w.stream.empty() && w.alarms.empty() && w.retries.empty(); }

void drain(asio::io_context& ioc, fake_daemon& d) {
  bool drained = false;
  d.broker->async_drain(milliseconds(2000), [&](bool) { drained = true; });
  run_until(ioc, [&] { return drained; });
}

TEST(broker_core, SendSlowerThanTheTakeoverTimeIsSentOnce) {
  asio::io_context ioc;
  fake_world w;
  add_associates(w, 0, 10);
  for (int a = 0; a < 10; ++a) w.add_alarm("A" + std::to_string(a), {a}, w.now());
  // Leases are renewed every takeover_after / 3: a stall of the test's one
  // thread (a loaded sanitizer run) must stay under two renewal periods.
  fake_daemon one(ioc, w, "one:1", fast_options(milliseconds(300)));
  fake_daemon two(ioc, w, "two:2", fast_options(milliseconds(300)));
  one.sender.delay = two.sender.delay = milliseconds(1500);  // five takeover periods
  one.broker->start();
  two.broker->start();
  ASSERT_TRUE(run_until(ioc, [&] { return settled(w) && one.sender.in_flight + two.sender.in_flight == 0; }));
  for (int n = 0; n < 20; ++n) EXPECT_EQ(one.sender.sends_to(token(n)) + two.sender.sends_to(token(n)), 1u) << "device " << n;
  for (const auto& [id, state] : w.records) EXPECT_EQ(state, "delivered") << id;
  drain(ioc, one);
  drain(ioc, two);
}

TEST(broker_core, DeadDaemonsBatchIsFinishedByAnotherOnce) {
  asio::io_context ioc;
  fake_world w;
  add_associates(w, 0, 3);
  // A daemon read three alarms, delivered device 0, held device 1's lease
  // (expired now) and died.
  const auto past = w.now() - 10'000;
  for (int a = 0; a < 3; ++a) {
    auto appt = w.add_alarm("A" + std::to_string(a), {a}, past);
    w.alarms.clear();
    std::map<std::string, std::string> fields;
    for (auto& [k, v] : encode_work(alarm_work{appt.id, appt.revision, past})) fields[k] = v;
    w.add_entry(fields);
    w.stream.back().owner = "dead:9";
    w.stream.back().last_delivered_ms = past;
  }
  w.records["alarm:A0:1:dev-0"] = "delivered";
  w.records["alarm:A0:1:dev-1"] = sending_value("dead:9", w.now() - 1);
  fake_daemon heir(ioc, w, "heir:1", fast_options());
  heir.broker->start();
  ASSERT_TRUE(run_until(ioc, [&] { return settled(w) && heir.sender.sends.size() >= 5; }));
  EXPECT_EQ(heir.sender.sends_to(token(0)), 0u);  // delivered before the daemon died
  for (int n = 1; n < 6; ++n) EXPECT_EQ(heir.sender.sends_to(token(n)), 1u) << "device " << n;
  EXPECT_EQ(heir.metrics.get_counter("herald_broker_entries_taken_over_total", "").value(), 3u);
  drain(ioc, heir);
}

TEST(broker_core, LateRetryFromALostLeaseCannotOverwriteDelivered) {
  asio::io_context ioc;
  fake_world w;
  add_associates(w, 0, 1);
  w.devices.pop_back();  // one device
  w.add_alarm("A0", {0}, w.now());
  // `cut` is cut off from the store: its renewals fail, its lease runs out,
  // and its provider answers 503 only after `heir` has delivered.
  fake_daemon cut(ioc, w, "cut:1", fast_options());
  cut.store.renewals_fail = true;
  cut.sender.delay = milliseconds(400);
  cut.sender.answer = [](const device_info&) {
    delivery_result r;
    r.kind = delivery_result::outcome::retry_after;
    r.http_status = 503;
    r.reason = "ServiceUnavailable";
    r.retry_delay = milliseconds(1000);
    return r;
  };
  cut.broker->start();
  ASSERT_TRUE(run_until(ioc, [&] { return cut.sender.in_flight == 1; }));
  fake_daemon heir(ioc, w, "heir:2", fast_options());
  heir.broker->start();
  ASSERT_TRUE(run_until(ioc, [&] { return heir.sender.sends.size() == 1 && cut.sender.in_flight == 0 && w.stream.empty(); }));
  EXPECT_EQ(w.record("alarm:A0:1:dev-0"), "delivered");
  EXPECT_TRUE(w.retries.empty()) << "the late 503 scheduled a retry over a delivered record";
  EXPECT_TRUE(w.dead_letters.empty());
  drain(ioc, cut);
  drain(ioc, heir);
}

TEST(broker_core, ThrowingSendIsRetriedNotAcknowledgedSilently) {
  asio::io_context ioc;
  fake_world w;
  add_associates(w, 0, 1);
  w.add_alarm("A0", {0}, w.now());
  fake_daemon d(ioc, w, "d:1", fast_options());
  d.sender.throw_first = 1;
  d.broker->start();
  ASSERT_TRUE(run_until(ioc, [&] { return w.stream.empty() && w.alarms.empty() && d.sender.sends.size() == 2; }));
  // The device whose send threw has a retry, not silence; the other was delivered.
  const auto thrown = d.sender.sends.front().delivery_id;
  EXPECT_EQ(w.record(thrown), "retry");
  ASSERT_EQ(w.retries.count(thrown), 1u);
  EXPECT_EQ(w.retries.at(thrown).job.at("attempt"), "1");
  // The retry falls due: it is sent and delivered.
  w.retries.at(thrown).at_ms = w.now();
  d.broker->schedule_changed();
  ASSERT_TRUE(run_until(ioc, [&] { return settled(w) && w.record(thrown) == "delivered"; }));
  EXPECT_EQ(d.sender.sends.size(), 3u);
  EXPECT_EQ(d.metrics.get_counter("herald_broker_notifications_total", "", {{"kind", "alarm"}, {"outcome", "retry"}}).value(), 1u);
  drain(ioc, d);
}

TEST(broker_core, AppointmentForFiveThousandAssociatesIsClaimedInBoundedChunks) {
  asio::io_context ioc;
  fake_world w;
  add_associates(w, 0, 5000);
  std::vector<std::int64_t> everyone;
  for (int a = 0; a < 5000; ++a) everyone.push_back(a);
  w.add_alarm("ALL", everyone, w.now());
  fake_daemon d(ioc, w, "d:1", fast_options(seconds(30)));
  d.broker->start();
  ASSERT_TRUE(run_until(ioc, [&] { return settled(w) && d.sender.sends.size() >= 10'000; }, milliseconds(20'000)));
  EXPECT_EQ(d.sender.sends.size(), 10'000u);
  std::set<std::string> tokens;
  for (const auto& s : d.sender.sends) tokens.insert(s.token);
  EXPECT_EQ(tokens.size(), 10'000u);
  EXPECT_LE(w.max_record_ids_per_call, delivery_records_port::max_keys_per_call);
  EXPECT_GT(w.max_record_ids_per_call, 0u);
  drain(ioc, d);
}

TEST(broker_core, DaemonWithAFastClockDecidesOnStoreTime) {
  asio::io_context ioc;
  fake_world w;
  w.offset_ms = -60'000;  // the daemon's wall clock is a minute ahead of the store's
  add_associates(w, 0, 2);
  auto o = fast_options();
  o.settings.max_lateness = seconds(5);
  const auto due = w.now() + 150;
  w.add_alarm("A0", {0}, due);
  fake_daemon d(ioc, w, "d:1", o);
  d.broker->start();
  // A message queued now (store time): on the daemon's own clock it would be a minute late.
  push_message m;
  m.associate_ids = {1};
  m.title = "Hello";
  auto submitted = asio::co_spawn(ioc, d.broker->submit(m), asio::use_future);
  ASSERT_TRUE(run_until(ioc, [&] { return settled(w) && d.sender.sends.size() == 4; }));
  ASSERT_TRUE(submitted.get().has_value());
  for (const auto& s : d.sender.sends)
    if (s.delivery_id.starts_with("alarm:")) {
      EXPECT_GE(s.at_ms, due) << "fired before it was due on the store's clock";
    }
  EXPECT_EQ(d.metrics.get_counter("herald_broker_alarms_late_dropped_total", "").value(), 0u);
  drain(ioc, d);
}

TEST(broker_core, FailingStatusReadBacksOffInsteadOfSpinning) {
  asio::io_context ioc;
  fake_world w;
  auto o = fast_options();
  o.settings.interval = seconds(30);  // no sweep drives a pass in this test
  fake_daemon d(ioc, w, "d:1", o);
  d.store.status_fails = true;
  d.broker->start();
  // The first pass runs at once and its status read fails; without a
  // back-off the loop would pass again at once, thousands of times here.
  ASSERT_TRUE(run_until(ioc, [&] { return d.store.status_calls >= 1; }));
  run_until(ioc, [] { return false; }, milliseconds(300));
  EXPECT_LE(d.store.status_calls, 2) << "passes ran back to back while the status read failed";
  // Once the read works again, the broker sends what falls due (on its
  // next look, half a second after the failure at most).
  d.store.status_fails = false;
  add_associates(w, 0, 1);
  w.add_alarm("A0", {0}, w.now());
  ASSERT_TRUE(run_until(ioc, [&] { return settled(w) && d.sender.sends.size() == 2; }));
  drain(ioc, d);
}

}  // namespace
}  // namespace herald::test
