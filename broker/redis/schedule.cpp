// redis_broker_store as the schedule_port: the alarm and retry sorted sets
// and Redis's clock.
#include "broker/redis/redis_broker_store.hpp"
#include "broker/redis/scripts.hpp"

namespace herald {

namespace asio = boost::asio;
using namespace broker_redis;

redis_broker_store::redis_broker_store(std::shared_ptr<redis_client> redis, std::string key_prefix, std::string consumer)
    : redis_(std::move(redis)), prefix_(std::move(key_prefix)), consumer_(std::move(consumer)) {}

namespace {

port_result<std::optional<std::int64_t>> earliest(redis_client& redis, std::string key) {
  auto cmd = redis_args("ZRANGE", std::move(key), "0", "0", "WITHSCORES");
  auto [ec, reply] = co_await redis_command(redis, std::move(cmd));
  if (ec) co_return fail<std::optional<std::int64_t>>(ec);
  if (reply.elements.size() < 2) co_return std::optional<std::int64_t>{};
  co_return reply_int(reply.elements[1].str);
}

}  // namespace

port_result<std::optional<std::int64_t>> redis_broker_store::next_alarm_due() { return earliest(*redis_, key("alarms")); }

port_result<std::optional<std::int64_t>> redis_broker_store::next_retry_due() { return earliest(*redis_, key("retries")); }

port_result<std::int64_t> redis_broker_store::claim_due_alarms(std::int64_t now_ms, int limit) {
  static const auto& claim = script("claim_alarms");
  auto keys = redis_args(key("alarms"), key("work"));
  auto args = redis_args(std::to_string(now_ms), std::to_string(limit), key("appt:"));
  auto [ec, reply] = co_await claim.run(*redis_, std::move(keys), std::move(args));
  if (ec) co_return fail<std::int64_t>(ec);
  co_return reply.integer;
}

port_result<std::int64_t> redis_broker_store::claim_due_retries(std::int64_t now_ms, int limit) {
  static const auto& claim = script("claim_retries");
  auto keys = redis_args(key("retries"), key("work"));
  auto args = redis_args(std::to_string(now_ms), std::to_string(limit));
  auto [ec, reply] = co_await claim.run(*redis_, std::move(keys), std::move(args));
  if (ec) co_return fail<std::int64_t>(ec);
  co_return reply.integer;
}

port_result<std::int64_t> redis_broker_store::alarms_due_count(std::int64_t now_ms) {
  auto cmd = redis_args("ZCOUNT", key("alarms"), "-inf", std::to_string(now_ms));
  auto [ec, reply] = co_await redis_command(*redis_, std::move(cmd));
  if (ec) co_return fail<std::int64_t>(ec);
  co_return reply.integer;
}

port_result<std::int64_t> redis_broker_store::retry_depth() {
  auto cmd = redis_args("ZCARD", key("retries"));
  auto [ec, reply] = co_await redis_command(*redis_, std::move(cmd));
  if (ec) co_return fail<std::int64_t>(ec);
  co_return reply.integer;
}

port_result<std::int64_t> redis_broker_store::server_time_ms() {
  auto cmd = redis_args("TIME");
  auto [ec, reply] = co_await redis_command(*redis_, std::move(cmd));
  if (ec) co_return fail<std::int64_t>(ec);
  if (reply.elements.size() != 2) co_return fail<std::int64_t>(unexpected());
  auto ms = redis_time_ms(reply.elements[0].str, reply.elements[1].str);
  if (!ms) co_return fail<std::int64_t>(unexpected());
  co_return *ms;
}

}  // namespace herald
