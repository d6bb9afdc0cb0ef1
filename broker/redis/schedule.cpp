// redis_broker_store as the schedule_port: the alarm and retry sorted sets
// and Redis's clock.
#include "broker/redis/redis_broker_store.hpp"
#include "broker/redis/scripts.hpp"

namespace herald {

namespace asio = boost::asio;
using namespace broker_redis;

redis_broker_store::redis_broker_store(std::shared_ptr<redis_client> redis, std::string key_prefix, std::string consumer)
    : redis_(std::move(redis)), prefix_(std::move(key_prefix)), consumer_(std::move(consumer)) {}

port_result<claimed_work> redis_broker_store::claim_due_and_read(std::int64_t now_ms, int limit, int count) {
  static const auto& claim = script("claim_due");
  auto keys = redis_args(key("alarms"), key("retries"), key("work"));
  auto args = redis_args(std::to_string(now_ms), std::to_string(limit), key("appt:"), std::to_string(count), group_name, consumer_);
  auto [ec, reply] = co_await claim.run(*redis_, std::move(keys), std::move(args));
  if (ec) co_return fail<claimed_work>(ec);
  if (reply.elements.size() != 3) co_return fail<claimed_work>(unexpected());
  claimed_work out{{reply.elements[0].integer, reply.elements[1].integer}, {}};
  const auto& read = reply.elements[2];
  if (read.type == redis_reply::kind::array) {
    out.items = parse_stream_entries(read);
  } else if (read.str.starts_with("NOGROUP")) {
    // The stream was deleted (FLUSHALL, Redis restarted empty): recreate the
    // group. What the claim moved is in the stream and is read next time
    // (the group starts at the stream's first entry).
    if (auto gec = co_await ensure_group()) co_return fail<claimed_work>(gec);
  } else {
    co_return fail<claimed_work>(unexpected());
  }
  co_return out;
}

port_result<schedule_status> redis_broker_store::status(std::int64_t now_ms) {
  static const auto& status_script = script("schedule_status");
  auto keys = redis_args(key("alarms"), key("retries"));
  auto args = redis_args(std::to_string(now_ms));
  auto [ec, reply] = co_await status_script.run(*redis_, std::move(keys), std::move(args));
  if (ec) co_return fail<schedule_status>(ec);
  if (reply.elements.size() != 4) co_return fail<schedule_status>(unexpected());
  const auto earliest = [](const redis_reply& r) { return r.str.empty() ? std::nullopt : reply_int(r.str); };
  co_return schedule_status{reply.elements[0].integer, reply.elements[1].integer, earliest(reply.elements[2]),
                            earliest(reply.elements[3])};
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
