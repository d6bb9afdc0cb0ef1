#include "broker/delivery_policy.hpp"

#include "model/text.hpp"

#include <algorithm>
#include <cctype>
#include <unordered_set>

namespace herald {

bool device_wants(const device_info& device, std::string_view event) {
  if (!device.tags) return true;
  return std::any_of(device.tags->begin(), device.tags->end(),
                     [&](const std::string& t) { return iequals(t, event) || iequals(t, "All"); });
}

bool message_targets(const push_message& m, const device_info& d) {
  if (!m.app_id.empty() && !d.app_id.empty() && d.app_id != m.app_id) return false;
  if (!m.platforms.empty() &&
      std::none_of(m.platforms.begin(), m.platforms.end(), [&](const std::string& p) { return parse_platform(p) == d.platform; }))
    return false;
  if (m.tags.empty()) return true;
  return std::any_of(m.tags.begin(), m.tags.end(), [&](const std::string& t) {
    return std::find(d.subscriptions.begin(), d.subscriptions.end(), t) != d.subscriptions.end();
  });
}

bool is_late(std::int64_t due_ms, std::int64_t now_ms, std::int64_t max_lateness_ms) {
  return now_ms - due_ms > max_lateness_ms;
}

alarm_verdict judge_alarm(const std::optional<appointment>& stored, std::int64_t revision, std::int64_t due_ms,
                          std::int64_t now_ms, std::int64_t max_lateness_ms) {
  if (!stored || stored->revision != revision || !stored->has_alarm) return alarm_verdict::stale;
  if (is_late(due_ms, now_ms, max_lateness_ms)) return alarm_verdict::late;
  return alarm_verdict::fan_out;
}

fan_out_targets targets_of(const std::vector<std::int64_t>& associates, const std::vector<std::int64_t>& listed,
                           const std::vector<std::vector<device_info>>& lists, std::string_view event) {
  fan_out_targets out;
  // One associate's hash holds each identifier once; across associates a
  // device may be listed twice (a re-registration racing the read).
  const bool dedupe = associates.size() > 1;
  std::unordered_set<std::string_view> seen;
  for (auto a : associates) {
    auto it = std::lower_bound(listed.begin(), listed.end(), a);
    if (it == listed.end() || *it != a) continue;
    const auto& devices = lists[static_cast<std::size_t>(it - listed.begin())];
    for (const auto& d : devices) {
      if (dedupe && !seen.insert(d.device_identifier).second) continue;
      if (device_wants(d, event)) {
        out.wanted.push_back(&d);
      } else {
        ++out.not_wanted;
        out.unwanted.push_back(&d);
      }
    }
  }
  return out;
}

std::string_view trace_action(delivery_action a) {
  switch (a) {
    case delivery_action::record_delivered: return "delivered";
    case delivery_action::remove_device: return "removed";
    case delivery_action::keep_device: return "kept";
    case delivery_action::schedule_retry: return "retry";
    case delivery_action::dead_letter: return "dead_letter";
  }
  return "dead_letter";
}

delivery_plan plan_delivery(const delivery_result& result, const device_info& device, std::int64_t now_ms,
                            std::int64_t due_ms, std::int64_t max_lateness_ms) {
  using outcome = delivery_result::outcome;
  switch (result.kind) {
    case outcome::delivered: return {delivery_action::record_delivered, 0, {}};
    case outcome::device_gone:
      // APNs' 410 timestamp: the token is invalid since then. A registration
      // newer than that is a fresh token: keep it.
      if (result.gone_timestamp_ms && device.registered_at_ms > *result.gone_timestamp_ms)
        return {delivery_action::keep_device, 0, result.reason};
      return {delivery_action::remove_device, 0, result.reason};
    case outcome::retry_after:
    case outcome::config_error: {
      // Config errors may be fixed by the operator (SIGHUP, new key): retry
      // them like temporary failures, within the lateness bound.
      // The delay is clamped (a huge Retry-After cannot overflow the retry
      // time); a retry that would fall past max_lateness is never scheduled.
      auto delay = std::clamp<std::int64_t>(result.retry_delay.count(), 1000, std::int64_t{366} * 86'400'000);
      auto at = now_ms + delay;
      if (is_late(due_ms, at, max_lateness_ms))
        return {delivery_action::dead_letter, 0, "gave up after max_lateness: " + (result.reason.empty() ? std::string("retry") : result.reason)};
      return {delivery_action::schedule_retry, at, result.reason};
    }
    case outcome::rejected: return {delivery_action::dead_letter, 0, result.reason.empty() ? "rejected" : result.reason};
    case outcome::no_provider: return {delivery_action::dead_letter, 0, result.reason.empty() ? "no provider" : result.reason};
  }
  return {delivery_action::dead_letter, 0, "unknown outcome"};
}

}  // namespace herald
