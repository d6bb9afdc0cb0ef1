#pragma once
// In-memory fakes of the broker's ports (broker/ports.hpp), for unit tests
// of the broker's core without Redis or a provider. One fake_world is the
// shared store of several daemons; each daemon gets its own fake_store
// (its consumer name). The fencing rules are the pure ones of
// broker/delivery_lease.hpp, which the Redis scripts carry out too.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "broker/ports.hpp"
#include "broker/work_kind.hpp"

namespace herald::test {

// The shared store: schedule, work queue, records, content, devices.
struct fake_world {
  // Store time = the local wall clock + offset (a daemon whose clock is
  // fast sees a negative offset).
  std::int64_t offset_ms = 0;
  std::int64_t now() const {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count() + offset_ms;
  }

  struct entry {
    std::string id;
    std::map<std::string, std::string> fields;
    std::string owner;  // empty: not read yet
    std::int64_t last_delivered_ms = 0;
    std::int64_t failures = 0;
  };
  std::vector<entry> stream;
  std::int64_t next_entry = 1;
  std::map<std::string, std::int64_t> alarms;  // appointment id -> due
  struct retry {
    std::int64_t at_ms = 0;
    std::map<std::string, std::string> job;
  };
  std::map<std::string, retry> retries;  // delivery id -> job
  std::map<std::string, std::string> records;
  std::map<std::string, appointment> appointments;
  std::map<std::string, std::string> timings;
  std::map<std::string, push_message> messages;
  std::vector<device_info> devices;
  std::vector<std::map<std::string, std::string>> dead_letters;

  // The largest number of ids one delivery-record call carried.
  std::size_t max_record_ids_per_call = 0;

  void add_entry(std::map<std::string, std::string> fields) {
    entry e;
    e.id = std::to_string(next_entry++) + "-0";
    e.fields = std::move(fields);
    stream.push_back(std::move(e));
  }

  void add_device(std::int64_t associate, const std::string& id, const std::string& token) {
    device_info d;
    d.device_identifier = id;
    d.pns_handle = token;
    d.associate_id = associate;
    d.language = "en-US";
    d.platform = notification_platform::apple;
    devices.push_back(std::move(d));
  }

  // An appointment whose alarm is due at `due_ms` (store time).
  appointment add_alarm(const std::string& id, std::vector<std::int64_t> associates, std::int64_t due_ms) {
    appointment a;
    a.id = id;
    a.associate_ids = std::move(associates);
    a.title = "Review " + id;
    a.has_alarm = true;
    a.lead_time = std::chrono::minutes(15);
    a.start = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::sys_time<std::chrono::milliseconds>(
                  std::chrono::milliseconds(due_ms))) + a.lead_time;
    a.revision = 1;
    appointments[id] = a;
    alarms[id] = due_ms;
    return a;
  }

  std::string record(const std::string& delivery_id) const {
    auto it = records.find(delivery_id);
    return it == records.end() ? std::string() : it->second;
  }
};

template <typename T>
boost::system::result<T> fake_error() {
  return boost::system::result<T>(boost::system::in_place_error, make_error_code(boost::system::errc::io_error));
}

class fake_store final : public schedule_port,
                         public work_queue_port,
                         public delivery_records_port,
                         public appointment_port,
                         public message_port {
 public:
  fake_store(fake_world& w, std::string consumer) : w_(w), consumer_(std::move(consumer)) {}

  // A daemon cut off from the store: its lease and entry renewals fail.
  bool renewals_fail = false;
  // A store that answers the passes but fails the closing status read.
  bool status_fails = false;
  int status_calls = 0;

  // schedule_port (claim_due: the claim half of claim_due_and_read)
  claimed_due claim_due(std::int64_t now_ms, int limit) {
    claimed_due out;
    for (auto it = w_.alarms.begin(); it != w_.alarms.end() && out.alarms < limit;) {
      if (it->second > now_ms) {
        ++it;
        continue;
      }
      const auto& a = w_.appointments.at(it->first);
      std::map<std::string, std::string> fields;
      for (auto& [k, v] : encode_work(alarm_work{a.id, a.revision, it->second})) fields[k] = v;
      w_.add_entry(std::move(fields));
      it = w_.alarms.erase(it);
      ++out.alarms;
    }
    for (auto it = w_.retries.begin(); it != w_.retries.end() && out.retries < limit;) {
      if (it->second.at_ms > now_ms) {
        ++it;
        continue;
      }
      auto fields = it->second.job;
      fields["kind"] = "retry";
      w_.add_entry(std::move(fields));
      it = w_.retries.erase(it);
      ++out.retries;
    }
    return out;
  }
  port_result<claimed_work> claim_due_and_read(std::int64_t now_ms, int limit, int count) override {
    const auto claimed = claim_due(now_ms, limit);
    auto items = co_await read_work(count);
    if (!items) co_return fake_error<claimed_work>();
    co_return claimed_work{claimed, std::move(*items)};
  }
  port_result<schedule_status> status(std::int64_t now_ms) override {
    ++status_calls;
    if (status_fails) co_return fake_error<schedule_status>();
    schedule_status out;
    for (const auto& [id, due] : w_.alarms) {
      if (due <= now_ms) ++out.alarms_due;
      out.next_alarm = out.next_alarm ? std::min(*out.next_alarm, due) : due;
    }
    for (const auto& [id, r] : w_.retries) out.next_retry = out.next_retry ? std::min(*out.next_retry, r.at_ms) : r.at_ms;
    out.retries_waiting = static_cast<std::int64_t>(w_.retries.size());
    co_return out;
  }
  port_result<std::int64_t> server_time_ms() override { co_return w_.now(); }

  // work_queue_port
  port_status ensure_group() override { co_return boost::system::error_code{}; }
  port_result<std::vector<work_item>> read_work(int count) override {
    std::vector<work_item> out;
    for (auto& e : w_.stream) {
      if (static_cast<int>(out.size()) >= count) break;
      if (!e.owner.empty()) continue;
      e.owner = consumer_;
      e.last_delivered_ms = w_.now();
      out.push_back(item(e));
    }
    co_return out;
  }
  port_result<takeover> take_over_stale(std::int64_t min_idle_ms, int count, std::int64_t max_failures,
                                        const std::set<std::string>& keep) override {
    takeover out;
    const auto now = w_.now();
    for (auto& e : w_.stream) {
      if (static_cast<int>(out.items.size() + out.poisoned.size()) >= count) break;
      if (e.owner.empty() || keep.count(e.id) || now - e.last_delivered_ms < min_idle_ms) continue;
      e.owner = consumer_;
      e.last_delivered_ms = now;
      (e.failures >= max_failures ? out.poisoned : out.items).push_back(item(e));
    }
    co_return out;
  }
  port_status ack_many(const std::vector<std::string>& ids) override {
    std::erase_if(w_.stream, [&](const fake_world::entry& e) { return std::find(ids.begin(), ids.end(), e.id) != ids.end(); });
    co_return boost::system::error_code{};
  }
  port_status count_failures(const std::vector<std::string>& ids) override {
    for (auto& e : w_.stream)
      if (std::find(ids.begin(), ids.end(), e.id) != ids.end()) ++e.failures;
    co_return boost::system::error_code{};
  }
  port_result<std::int64_t> renew_entries(const std::vector<std::string>& ids) override {
    if (renewals_fail) co_return fake_error<std::int64_t>();
    std::int64_t n = 0;
    for (auto& e : w_.stream)
      if (e.owner == consumer_ && std::find(ids.begin(), ids.end(), e.id) != ids.end()) {
        e.last_delivered_ms = w_.now();
        ++n;
      }
    co_return n;
  }
  port_result<std::int64_t> remove_idle_consumers(std::int64_t) override { co_return std::int64_t{0}; }
  port_status dead_letter(const std::map<std::string, std::string>& entry) override {
    w_.dead_letters.push_back(entry);
    co_return boost::system::error_code{};
  }
  const std::string& consumer() const override { return consumer_; }

  // delivery_records_port
  port_result<std::vector<claim_decision>> claim_deliveries(const std::vector<std::string>& ids, bool retrying,
                                                            std::int64_t lease_ms) override {
    note_call(ids.size());
    std::vector<claim_decision> out;
    const auto now = w_.now();
    for (const auto& id : ids) {
      auto stored = w_.records.find(id);
      auto d = decide_claim(parse_delivery_record(stored == w_.records.end() ? std::nullopt : std::optional<std::string_view>(stored->second)),
                            consumer_, now, retrying);
      if (d == claim_decision::go) w_.records[id] = sending_value(consumer_, now + lease_ms);
      out.push_back(d);
    }
    co_return out;
  }
  port_result<std::vector<bool>> finish_deliveries(const std::vector<std::string>& ids, const std::string& state) override {
    note_call(ids.size());
    std::vector<bool> out;
    for (const auto& id : ids) {
      const bool mine = holds(id);
      if (mine) w_.records[id] = state;
      out.push_back(mine);
    }
    co_return out;
  }
  port_result<bool> schedule_retry(const std::string& id, std::int64_t at_ms, const std::map<std::string, std::string>& job) override {
    if (!holds(id)) co_return false;
    w_.retries[id] = fake_world::retry{at_ms, job};
    w_.records[id] = "retry";
    co_return true;
  }
  port_result<bool> dead_letter_delivery(const std::string& id, const std::string& state,
                                         const std::map<std::string, std::string>& entry) override {
    if (!holds(id)) co_return false;
    w_.dead_letters.push_back(entry);
    w_.records[id] = state;
    co_return true;
  }
  port_result<std::int64_t> renew_deliveries(const std::vector<std::string>& ids, std::int64_t lease_ms) override {
    if (renewals_fail && lease_ms > 0) co_return fake_error<std::int64_t>();
    std::int64_t n = 0;
    for (const auto& id : ids) {
      auto it = w_.records.find(id);
      if (it == w_.records.end() || !may_renew(parse_delivery_record(it->second), consumer_)) continue;
      it->second = sending_value(consumer_, w_.now() + lease_ms);
      ++n;
    }
    co_return n;
  }

  // appointment_port
  port_result<put_outcome> put(const appointment& a) override {
    const auto timing = alarm_timing(a);
    auto& stored = w_.appointments[a.id];
    const bool created = stored.id.empty();
    const bool changed = w_.timings[a.id] != timing || created;
    const auto revision = stored.revision + (changed ? 1 : 0);
    stored = a;
    stored.revision = revision;
    w_.timings[a.id] = timing;
    if (changed) {
      if (auto due = alarm_due_ms(a)) w_.alarms[a.id] = *due;
      else w_.alarms.erase(a.id);
    }
    co_return put_outcome{revision, changed, created};
  }
  port_result<std::optional<appointment>> get(const std::string& id) override {
    auto it = w_.appointments.find(id);
    co_return it == w_.appointments.end() ? std::nullopt : std::optional<appointment>(it->second);
  }
  port_result<std::vector<std::optional<appointment>>> get_many(const std::vector<std::string>& ids) override {
    std::vector<std::optional<appointment>> out;
    for (const auto& id : ids) {
      auto it = w_.appointments.find(id);
      out.push_back(it == w_.appointments.end() ? std::nullopt : std::optional<appointment>(it->second));
    }
    co_return out;
  }
  port_result<bool> remove(const std::string& id) override {
    w_.alarms.erase(id);
    co_return w_.appointments.erase(id) > 0;
  }

  // message_port
  port_result<std::string> enqueue_message(const push_message& m, std::int64_t now_ms) override {
    std::string id = "m" + std::to_string(w_.messages.size() + 1);
    w_.messages[id] = m;
    std::map<std::string, std::string> fields;
    for (auto& [k, v] : encode_work(message_work{id, now_ms})) fields[k] = v;
    w_.add_entry(std::move(fields));
    co_return id;
  }
  port_result<std::optional<push_message>> get_message(const std::string& id) override {
    auto it = w_.messages.find(id);
    co_return it == w_.messages.end() ? std::nullopt : std::optional<push_message>(it->second);
  }

 private:
  static work_item item(const fake_world::entry& e) {
    work_item w;
    w.stream_id = e.id;
    w.fields = e.fields;
    w.kind = w.field("kind");
    return w;
  }
  bool holds(const std::string& id) const {
    auto it = w_.records.find(id);
    return it != w_.records.end() && may_finish(parse_delivery_record(it->second), consumer_);
  }
  void note_call(std::size_t n) { w_.max_record_ids_per_call = std::max(w_.max_record_ids_per_call, n); }

  fake_world& w_;
  std::string consumer_;
};

class fake_devices final : public device_port {
 public:
  explicit fake_devices(fake_world& w) : w_(w) {}
  port_result<std::vector<std::vector<device_info>>> list_by_associates(const std::vector<std::int64_t>& ids) override {
    std::vector<std::vector<device_info>> out;
    for (auto a : ids) {
      out.emplace_back();
      for (const auto& d : w_.devices)
        if (d.associate_id == a) out.back().push_back(d);
    }
    co_return out;
  }
  port_result<std::optional<device_info>> get(const std::string& id) override {
    for (const auto& d : w_.devices)
      if (d.device_identifier == id) co_return std::optional<device_info>(d);
    co_return std::optional<device_info>{};
  }
  port_result<device_removal> remove_if_token(const std::string& id, const std::string& token) override {
    for (auto it = w_.devices.begin(); it != w_.devices.end(); ++it)
      if (it->device_identifier == id) {
        if (it->pns_handle != token) co_return device_removal::kept_new_token;
        w_.devices.erase(it);
        co_return device_removal::removed;
      }
    co_return device_removal::already_gone;
  }

 private:
  fake_world& w_;
};

// A provider: answers after `delay`, as `answer` decides (default:
// delivered), and records every send with the store time it was made.
class fake_sender final : public sender_port {
 public:
  struct sent {
    std::string token;
    std::string delivery_id;
    std::int64_t at_ms;
  };
  explicit fake_sender(fake_world& w) : w_(w) {}

  std::chrono::milliseconds delay{0};
  int throw_first = 0;  // this many sends throw
  std::function<delivery_result(const device_info&)> answer;
  std::vector<sent> sends;
  std::size_t in_flight = 0;

  std::size_t sends_to(const std::string& token) const {
    return static_cast<std::size_t>(std::count_if(sends.begin(), sends.end(), [&](const sent& s) { return s.token == token; }));
  }

  bool has_app(std::string_view) const override { return true; }
  boost::asio::awaitable<delivery_result> async_send(std::string_view, const device_info& device, const notification& n) override {
    sends.push_back({device.pns_handle, n.delivery_id, w_.now()});
    if (throw_first > 0) {
      --throw_first;
      throw std::runtime_error("provider adapter bug");
    }
    ++in_flight;
    if (delay.count() > 0) {
      boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, delay);
      co_await t.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
    --in_flight;
    if (answer) co_return answer(device);
    delivery_result r;
    r.kind = delivery_result::outcome::delivered;
    r.http_status = 200;
    co_return r;
  }

 private:
  fake_world& w_;
};

}  // namespace herald::test
