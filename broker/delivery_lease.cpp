#include "broker/delivery_lease.hpp"

#include <algorithm>

#include "model/text.hpp"

namespace herald {

namespace {

constexpr std::string_view sending_prefix = "sending:";

}  // namespace

delivery_record parse_delivery_record(std::optional<std::string_view> stored) {
  delivery_record r;
  if (!stored) return r;
  r.value = std::string(*stored);
  if (*stored == "retry") {
    r.kind = delivery_record::state::retry;
    return r;
  }
  if (!stored->starts_with(sending_prefix)) {
    r.kind = delivery_record::state::final_state;
    return r;
  }
  // sending:<owner>:<lease_until_ms>; the owner (hostname:pid) may hold ':'.
  r.kind = delivery_record::state::sending;
  auto rest = stored->substr(sending_prefix.size());
  auto colon = rest.rfind(':');
  if (colon == std::string_view::npos) {
    r.owner = std::string(rest);  // no lease: treated as expired
    return r;
  }
  r.owner = std::string(rest.substr(0, colon));
  r.lease_until_ms = parse_integer<std::int64_t>(rest.substr(colon + 1)).value_or(0);
  return r;
}

std::string sending_value(std::string_view owner, std::int64_t lease_until_ms) {
  return std::string(sending_prefix) + std::string(owner) + ":" + std::to_string(lease_until_ms);
}

claim_decision decide_claim(const delivery_record& r, std::string_view me, std::int64_t now_ms, bool retrying) {
  switch (r.kind) {
    case delivery_record::state::absent: return claim_decision::go;
    case delivery_record::state::retry: return retrying ? claim_decision::go : claim_decision::done;
    case delivery_record::state::final_state: return claim_decision::done;
    case delivery_record::state::sending:
      // An unexpired lease is held, even by this daemon: one delivery is
      // never sent by two tasks at once. An expired one belongs to a daemon
      // that stopped renewing it (dead, or cut off from Redis).
      if (r.lease_until_ms > now_ms) return claim_decision::held;
      (void)me;
      return claim_decision::go;
  }
  return claim_decision::done;
}

bool may_finish(const delivery_record& r, std::string_view me) {
  return r.kind == delivery_record::state::sending && r.owner == me;
}

bool may_renew(const delivery_record& r, std::string_view me) { return may_finish(r, me); }

std::vector<std::pair<std::size_t, std::size_t>> key_chunks(std::size_t n, std::size_t max_keys) {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  const std::size_t step = std::max<std::size_t>(max_keys, 1);
  for (std::size_t b = 0; b < n; b += step) out.emplace_back(b, std::min(n, b + step));
  return out;
}

void redis_clock::sample(std::int64_t server_ms, std::int64_t sent_ms, std::int64_t received_ms) {
  const std::int64_t midpoint = sent_ms + (received_ms - sent_ms) / 2;
  offset_ms_ = server_ms - midpoint;
  sampled_at_ms_ = received_ms;
  synced_ = true;
}

std::int64_t redis_clock::now_ms(std::int64_t steady_ms, std::int64_t fallback_ms) const {
  return synced_ ? steady_ms + offset_ms_ : fallback_ms;
}

bool redis_clock::stale(std::int64_t steady_ms, std::int64_t max_age_ms) const {
  return !synced_ || steady_ms - sampled_at_ms_ >= max_age_ms;
}

std::optional<std::int64_t> redis_time_ms(std::string_view seconds, std::string_view microseconds) {
  auto s = parse_integer<std::int64_t>(seconds);
  auto us = parse_integer<std::int64_t>(microseconds);
  if (!s || !us || *s < 0 || *us < 0 || *us >= 1'000'000) return std::nullopt;
  return *s * 1000 + *us / 1000;
}

}  // namespace herald
