#include "broker/redis/dead_letters.hpp"

#include "broker/redis/scripts.hpp"
#include "store/lua_script.hpp"
#include "store/redis_client.hpp"

namespace herald {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr int replay_marker_ttl_s = 30 * 24 * 3600;



std::vector<dead_letter> decode_entries(const redis_reply& reply) {
  std::vector<dead_letter> out;
  for (const auto& e : reply.elements) {
    if (e.elements.size() != 2) continue;
    dead_letter entry;
    entry.id = e.elements[0].str;
    const auto& kv = e.elements[1].elements;
    for (std::size_t i = 0; i + 1 < kv.size(); i += 2) entry.fields.emplace_back(kv[i].str, kv[i + 1].str);
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace

dead_letter_store::dead_letter_store(std::shared_ptr<redis_client> redis, std::string key_prefix)
    : redis_(std::move(redis)), prefix_(std::move(key_prefix)), stream_(prefix_ + ":deadletter") {}

asio::awaitable<dead_letter_store::result<dead_letter_store::page>> dead_letter_store::list(dead_letter_filter f, std::size_t limit) {
  // Newest first, in pages, filtered here (bounded by the stream's MAXLEN).
  const std::string oldest = f.since_ms ? std::to_string(*f.since_ms) + "-0" : "-";
  std::string newest = "+";
  page out;
  while (out.entries.size() < limit) {
    // Named argv vectors: GCC 12 miscompiles braced string lists inside co_await.
    std::vector<std::string> cmd{"XREVRANGE", stream_, newest, oldest, "COUNT", "500"};
    auto [ec, reply] = co_await redis_command(*redis_, std::move(cmd));
    if (ec) co_return broker_redis::fail<page>(ec);
    auto entries = decode_entries(reply);
    if (entries.empty()) break;
    newest = "(" + entries.back().id;  // exclusive: the next page continues below this one
    for (auto& e : entries) {
      ++out.examined;
      if (matches(e, f) && out.entries.size() < limit) out.entries.push_back(std::move(e));
    }
  }
  co_return out;
}

asio::awaitable<dead_letter_store::result<std::optional<dead_letter>>> dead_letter_store::get(std::string id) {
  if (!is_stream_id(id)) co_return std::optional<dead_letter>();
  std::vector<std::string> cmd{"XRANGE", stream_, id, id};
  auto [ec, reply] = co_await redis_command(*redis_, std::move(cmd));
  if (ec) co_return broker_redis::fail<std::optional<dead_letter>>(ec);
  auto entries = decode_entries(reply);
  if (entries.empty()) co_return std::optional<dead_letter>();
  co_return std::optional<dead_letter>(std::move(entries.front()));
}

asio::awaitable<dead_letter_store::result<dead_letter_store::replay_result>> dead_letter_store::replay(std::string id) {
  replay_result out;
  if (!is_stream_id(id)) {
    out.refused = replay_refusal::not_found;
    co_return out;
  }
  const std::string marker_key = stream_ + ":replayed:" + id;
  std::vector<std::string> marker_cmd{"GET", marker_key};
  auto [mec, marker] = co_await redis_command(*redis_, std::move(marker_cmd));
  if (mec) co_return broker_redis::fail<replay_result>(mec);
  auto entry = co_await get(id);
  if (!entry) co_return broker_redis::fail<replay_result>(entry.error());
  bool registered = false;
  if (*entry) {
    std::vector<std::string> exists{"EXISTS", prefix_ + ":device:" + (*entry)->field("device")};
    auto [eec, reply] = co_await redis_command(*redis_, std::move(exists));
    if (eec) co_return broker_redis::fail<replay_result>(eec);
    registered = reply.integer > 0;
  }
  auto decision = decide_replay(*entry, marker.type == redis_reply::kind::string, registered);
  if (auto* refusal = std::get_if<replay_refusal>(&decision)) {
    out.refused = *refusal;
    if (*refusal == replay_refusal::already_replayed) out.work_id = marker.str;
    co_return out;
  }
  const auto& plan = std::get<replay_plan>(decision);
  std::vector<std::string> keys{stream_, marker_key, prefix_ + ":device:" + plan.device, prefix_ + ":delivery:" + plan.delivery_id,
                                prefix_ + ":work", prefix_ + ":alarms:changes"};
  std::vector<std::string> args{id, std::to_string(replay_marker_ttl_s), std::to_string(broker_redis::delivery_ttl_s)};
  for (auto& [k, v] : encode_work(plan.work)) {
    args.push_back(std::move(k));
    args.push_back(std::move(v));
  }
  static const auto& replay_script = broker_redis::script("prelude_now", "replay_dead_letter");
  auto [ec, reply] = co_await replay_script.run(*redis_, std::move(keys), std::move(args));
  if (ec) co_return broker_redis::fail<replay_result>(ec);
  if (reply.elements.size() != 2) co_return broker_redis::fail<replay_result>(make_error_code(redis_error::unexpected_reply));
  const auto& state = reply.elements[0].str;
  out.work_id = reply.elements[1].str;
  if (state == "already_replayed") out.refused = replay_refusal::already_replayed;
  else if (state == "not_found") out.refused = replay_refusal::not_found;
  else if (state == "device_gone") out.refused = replay_refusal::device_gone;
  co_return out;
}

asio::awaitable<dead_letter_store::result<std::int64_t>> dead_letter_store::purge(std::string min_id) {
  std::vector<std::string> cmd{"XTRIM", stream_, "MINID", min_id};
  auto [ec, reply] = co_await redis_command(*redis_, std::move(cmd));
  if (ec) co_return broker_redis::fail<std::int64_t>(ec);
  co_return reply.integer;
}

}  // namespace herald
