// What the broker does with a provider's answer: every write that ends a
// delivery is fenced (only the lease holder writes), and an exception ends
// the delivery as a retry, never as silence (broker_core.hpp).
#include "broker/broker_core.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "broker/delivery_policy.hpp"

namespace herald {

namespace asio = boost::asio;
using boost::system::error_code;
using namespace std::chrono;

void broker_core::count_outcome(std::string_view kind, std::string_view outcome, std::string_view reason) {
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

// Sends one claimed notification and carries out the outcome with fenced
// writes. An exception from building or sending ends it as a retry (or a
// dead letter once late), never as silence. `delivered_batch`: when set, a
// delivered record is appended there for the caller to write.
asio::awaitable<entry_state> broker_core::send_claimed(const delivery_job& job, const device_info& device, notification n,
                                          std::vector<std::string>* delivered_batch) {
  // A device registered through a configured IBM application holds a token
  // of that application: its credentials send (alarms and Pocket messages
  // included); else the job's app (IBM message) or the default app.
  const std::string& app = !device.app_id.empty() && ports.sender.has_app(device.app_id) ? device.app_id : job.app_id;
  delivery_result result;
  try {
    result = co_await ports.sender.async_send(app, device, n);
  } catch (const std::exception& e) {
    log.err("delivery.send_failed").kv("device", shorten_token(device.device_identifier)).kv("error", e.what());
    result = delivery_result{};
    result.kind = delivery_result::outcome::retry_after;
    result.reason = std::string("send failed: ") + e.what();
    result.retry_delay = milliseconds(1000);
  }
  co_return co_await carry_out(job, device, n, result, delivered_batch);
}

asio::awaitable<entry_state> broker_core::carry_out(const delivery_job& job, const device_info& device, const notification& n,
                                       const delivery_result& result, std::vector<std::string>* delivered_batch) {
  auto at = now();
  if (job.kind == "alarm") due_to_sent.observe(std::max<double>(0, static_cast<double>(at - job.due_ms) / 1000.0));
  auto plan = plan_delivery(result, device, at, job.due_ms, opts.settings.max_lateness.count());
  ports.records.trace(delivery_event{at, job.kind, job.id, device.device_identifier,
                                     !device.app_id.empty() && ports.sender.has_app(device.app_id) ? device.app_id : job.app_id,
                                     std::string(to_string(result.kind)), std::string(trace_action(plan.action)), result.http_status,
                                     plan.reason.empty() ? result.reason : plan.reason, result.provider_id});
  switch (plan.action) {
    case delivery_action::record_delivered:
      count_outcome(job.kind, "delivered", "");
      if (delivered_batch) {
        delivered_batch->push_back(n.delivery_id);
        co_return entry_state::finished;
      }
      co_return ended(co_await ports.records.finish_delivery(n.delivery_id, "delivered"));
    case delivery_action::remove_device: {
      count_outcome(job.kind, "device_gone", plan.reason);
      // Only while the device still has the token the provider called
      // gone: a re-registration with a new token that raced this send wins.
      auto removed = co_await ports.devices.remove_if_token(device.device_identifier, device.pns_handle);
      if (!removed) co_return entry_state::failed;
      log.info("device.removed")
          .kv("device", shorten_token(device.device_identifier))
          .kv("reason", plan.reason)
          .kv("outcome", *removed == device_removal::removed      ? "removed"
                         : *removed == device_removal::already_gone ? "already_gone"
                                                                  : "kept_new_token");
      co_return ended(co_await ports.records.finish_delivery(n.delivery_id, "gone"));
    }
    case delivery_action::keep_device:
      count_outcome(job.kind, "device_gone_kept", plan.reason);
      co_return ended(co_await ports.records.finish_delivery(n.delivery_id, "gone-reregistered"));
    case delivery_action::schedule_retry: {
      count_outcome(job.kind, "retry", plan.reason);
      // The job hash holds the retry entry's fields but `kind` (the claim script adds it).
      std::map<std::string, std::string> retry_job;
      for (auto& [k, v] : encode_work(retry_work{job.kind, job.id, job.revision, job.due_ms, device.device_identifier, n.attempt + 1, job.app_id}))
        if (k != "kind") retry_job.emplace(std::move(k), std::move(v));
      auto r = co_await ports.records.schedule_retry(n.delivery_id, plan.retry_at_ms, retry_job);
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
                                               {"status", std::to_string(result.http_status)},
                                               {"app", job.app_id}};
      co_return ended(co_await ports.records.dead_letter_delivery(n.delivery_id, "dead", entry));
    }
  }
  co_return entry_state::failed;
}

// Building the notification threw (a localization or payload bug): the
// delivery ends as a retry (a dead letter once late), like a failed send.
asio::awaitable<entry_state> broker_core::end_unbuildable(const delivery_job& job, const device_info& device, const std::string& delivery_id,
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

// Work entries whose processing failed max_deliveries times (a record
// that never decodes, say): written to the dead-letter stream with what
// they were, then acknowledged, so that they stop coming back.
asio::awaitable<error_code> broker_core::bury(const std::vector<work_item>& entries) {
  if (entries.empty()) co_return error_code{};
  std::vector<std::string> ids;
  for (const auto& w : entries) {
    log.warning("broker.entry_dead_lettered").kv("stream_id", w.stream_id).kv("kind", w.kind).kv("id", w.field("id"));
    count_outcome(w.kind == "retry" ? w.field("job_kind") : w.kind, "dead_letter", "processing_failed");
    std::map<std::string, std::string> entry{{"stream_id", w.stream_id},
                                             {"kind", w.kind},
                                             {"id", w.field("id")},
                                             {"device", w.field("device")},
                                             {"reason", "processing failed " + std::to_string(opts.settings.max_deliveries) + " times"}};
    if (auto ec = co_await ports.work.dead_letter(entry)) co_return ec;
    ids.push_back(w.stream_id);
  }
  co_return co_await ports.work.ack_many(ids);
}

}  // namespace herald
