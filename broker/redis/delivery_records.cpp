// redis_broker_store as the delivery_records_port: `<prefix>:delivery:<id>`
// strings fenced by lease (broker/delivery_lease.hpp), the retry schedule's
// job hashes and the dead-letter stream.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <tuple>

#include "broker/redis/redis_broker_store.hpp"
#include "broker/redis/scripts.hpp"
#include "store/delivery_trace.hpp"

namespace herald {

namespace asio = boost::asio;
using boost::system::error_code;
using namespace broker_redis;

namespace {

// A connection-level failure (not a script error): the write may succeed once Redis is back.
bool transient(error_code ec) {
  if (!ec || ec.category() != redis_category()) return false;
  auto e = static_cast<redis_error>(ec.value());
  return e != redis_error::server_error && e != redis_error::unexpected_reply && e != redis_error::stopped;
}

}  // namespace

port_result<std::vector<claim_decision>> redis_broker_store::claim_deliveries(const std::vector<std::string>& delivery_ids, bool retrying,
                                                                              std::int64_t lease_ms) {
  static const auto& claim = script("prelude_now", "claim_deliveries");
  std::vector<claim_decision> out;
  out.reserve(delivery_ids.size());
  for (auto [b, e] : key_chunks(delivery_ids.size(), max_keys_per_call)) {
    std::vector<std::string> keys;
    keys.reserve(e - b);
    for (auto i = b; i < e; ++i) keys.push_back(key("delivery:" + delivery_ids[i]));
    auto args = redis_args(consumer_, std::to_string(lease_ms), std::to_string(delivery_ttl_s), retrying ? "1" : "0");
    auto [ec, reply] = co_await claim.run(*redis_, std::move(keys),
                                          std::move(args));
    if (ec) co_return fail<std::vector<claim_decision>>(ec);
    if (reply.elements.size() != e - b) co_return fail<std::vector<claim_decision>>(unexpected());
    for (const auto& r : reply.elements)
      out.push_back(r.integer == 1 ? claim_decision::go : r.integer == 2 ? claim_decision::held : claim_decision::done);
  }
  co_return out;
}

port_result<std::vector<bool>> redis_broker_store::finish_deliveries(const std::vector<std::string>& delivery_ids, const std::string& state) {
  static const auto& finish = script("prelude_mine", "finish_deliveries");
  std::vector<bool> out;
  out.reserve(delivery_ids.size());
  for (auto [b, e] : key_chunks(delivery_ids.size(), max_keys_per_call)) {
    std::vector<std::string> keys;
    keys.reserve(e - b);
    for (auto i = b; i < e; ++i) keys.push_back(key("delivery:" + delivery_ids[i]));
    const std::vector<std::string> args{consumer_, state, std::to_string(delivery_ttl_s)};
    auto [ec, reply] = co_await finish.run(*redis_, keys, args);
    // The providers already answered: losing these records to a Redis restart
    // or failover would send them all again after a takeover. Wait (bounded)
    // for the connection to come back and write them then; the script is
    // conditional on ownership, so a write whose reply was lost may run twice.
    asio::steady_timer wait(co_await asio::this_coro::executor);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (transient(ec) && std::chrono::steady_clock::now() < give_up) {
      wait.expires_after(std::chrono::milliseconds(50));
      co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
      if (!redis_->connected()) continue;
      std::tie(ec, reply) = co_await finish.run(*redis_, keys, args);
    }
    if (ec) co_return fail<std::vector<bool>>(ec);
    if (reply.elements.size() != e - b) co_return fail<std::vector<bool>>(unexpected());
    for (const auto& r : reply.elements) out.push_back(r.integer == 1);
  }
  co_return out;
}

port_result<bool> redis_broker_store::schedule_retry(const std::string& delivery_id, std::int64_t at_ms,
                                                     const std::map<std::string, std::string>& job) {
  static const auto& schedule = script("prelude_mine", "schedule_retry");
  std::vector<std::string> args{consumer_, delivery_id, std::to_string(at_ms), std::to_string(delivery_ttl_s)};
  for (const auto& [k, v] : job) {
    args.push_back(k);
    args.push_back(v);
  }
  auto keys = redis_args(key("retries"), key("retries:job:" + delivery_id), key("delivery:" + delivery_id));
  auto [ec, reply] = co_await schedule.run(
      *redis_, std::move(keys), std::move(args));
  if (ec) co_return fail<bool>(ec);
  co_return reply.integer == 1;
}

port_result<bool> redis_broker_store::dead_letter_delivery(const std::string& delivery_id, const std::string& state,
                                                           const std::map<std::string, std::string>& entry) {
  static const auto& dead_letter = script("prelude_mine", "dead_letter_delivery");
  std::vector<std::string> args{consumer_, state, std::to_string(delivery_ttl_s), std::to_string(deadletter_maxlen)};
  for (const auto& [k, v] : entry) {
    args.push_back(k);
    args.push_back(v);
  }
  auto keys = redis_args(key("deadletter"), key("delivery:" + delivery_id));
  auto [ec, reply] = co_await dead_letter.run(*redis_, std::move(keys), std::move(args));
  if (ec) co_return fail<bool>(ec);
  co_return reply.integer == 1;
}

port_result<std::int64_t> redis_broker_store::renew_deliveries(const std::vector<std::string>& delivery_ids, std::int64_t lease_ms) {
  static const auto& renew = script("prelude_mine", "prelude_now", "renew_deliveries");
  std::int64_t held = 0;
  for (auto [b, e] : key_chunks(delivery_ids.size(), max_keys_per_call)) {
    std::vector<std::string> keys;
    keys.reserve(e - b);
    for (auto i = b; i < e; ++i) keys.push_back(key("delivery:" + delivery_ids[i]));
    auto args = redis_args(consumer_, std::to_string(lease_ms));
    auto [ec, reply] = co_await renew.run(*redis_, std::move(keys), std::move(args));
    if (ec) co_return fail<std::int64_t>(ec);
    held += reply.integer;
  }
  co_return held;
}

void redis_broker_store::trace(const delivery_event& e) {
  if (trace_limits_.max_events == 0) return;  // trace.max_events: 0 keeps none
  std::vector<delivery_event> full;
  {
    std::lock_guard lock(trace_mutex_);
    trace_batch_.push_back(e);
    if (trace_batch_.size() < delivery_trace_batch) return;
    full.swap(trace_batch_);
  }
  append_delivery_events(*redis_, prefix_, full, trace_limits_);
}

void redis_broker_store::trace_flush() {
  std::vector<delivery_event> batch;
  {
    std::lock_guard lock(trace_mutex_);
    batch.swap(trace_batch_);
  }
  if (!batch.empty()) append_delivery_events(*redis_, prefix_, batch, trace_limits_);
}

}  // namespace herald
