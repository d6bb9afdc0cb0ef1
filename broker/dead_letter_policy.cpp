#include "broker/dead_letter_policy.hpp"

#include <algorithm>
#include <stdexcept>

#include "config/config.hpp"
#include "model/text.hpp"

namespace herald {

bool matches(const dead_letter& e, const dead_letter_filter& f) {
  if (f.since_ms) {
    auto at = stream_id_ms(e.id);
    if (!at || *at < *f.since_ms) return false;
  }
  if (!f.reason.empty() && e.field("reason").find(f.reason) == std::string::npos) return false;
  if (!f.app.empty()) {
    auto app = e.field("app");
    if (app.empty()) app = "default";
    if (app != f.app) return false;
  }
  return true;
}

std::optional<std::string> purge_min_id(std::string_view before, std::int64_t now_ms) {
  if (is_stream_id(before)) return std::string(before);
  try {
    const auto age = parse_duration(std::string(before));
    return std::to_string(std::max<std::int64_t>(now_ms - age.count(), 0)) + "-0";
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
}

std::string_view to_string(replay_refusal r) {
  switch (r) {
    case replay_refusal::not_found: return "not_found";
    case replay_refusal::already_replayed: return "already_replayed";
    case replay_refusal::not_a_delivery: return "not_a_delivery";
    case replay_refusal::malformed: return "malformed";
    case replay_refusal::device_gone: return "device_gone";
  }
  return "malformed";
}

std::variant<replay_plan, replay_refusal> decide_replay(const std::optional<dead_letter>& entry, bool replayed,
                                                        bool device_registered) {
  if (replayed) return replay_refusal::already_replayed;
  if (!entry) return replay_refusal::not_found;
  const auto delivery = entry->field("delivery");
  if (delivery.empty()) return replay_refusal::not_a_delivery;
  // delivery = <kind>:<id>:<revision>:<device> (the id may hold ':' itself).
  const auto kind = entry->field("kind");
  const auto id = entry->field("id");
  const auto device = entry->field("device");
  if ((kind != "alarm" && kind != "message") || id.empty() || device.empty()) return replay_refusal::malformed;
  const std::string head = kind + ":" + id + ":";
  const std::string tail = ":" + device;
  if (delivery.size() <= head.size() + tail.size() || !delivery.starts_with(head) || !delivery.ends_with(tail))
    return replay_refusal::malformed;
  const auto rev_text = std::string_view(delivery).substr(head.size(), delivery.size() - head.size() - tail.size());
  const bool digits = !rev_text.empty() && std::all_of(rev_text.begin(), rev_text.end(), is_digit);
  const auto rev = digits ? parse_integer<std::int64_t>(rev_text) : std::nullopt;
  if (!rev) return replay_refusal::malformed;
  if (!device_registered) return replay_refusal::device_gone;
  replay_plan plan;
  plan.delivery_id = delivery;
  plan.device = device;
  plan.work = retry_work{kind, id, *rev, 0, device, 1, entry->field("app")};
  return plan;
}

}  // namespace herald
