// redis_broker_store as the work_queue_port: the work stream, its consumer
// group "herald", failure counts and the dead-letter stream.
#include "broker/redis/redis_broker_store.hpp"
#include "broker/redis/scripts.hpp"

namespace herald {

namespace asio = boost::asio;
using boost::system::error_code;
using namespace broker_redis;

port_status redis_broker_store::ensure_group() {
  auto cmd = redis_args("XGROUP", "CREATE", key("work"), group_name, "0", "MKSTREAM");
  auto [ec, reply] = co_await redis_command(*redis_, std::move(cmd));
  if (ec == redis_error::server_error && reply.str.starts_with("BUSYGROUP")) co_return error_code{};
  co_return ec;
}

port_result<std::vector<work_item>> redis_broker_store::read_work(int count) {
  auto cmd = redis_args("XREADGROUP", "GROUP", group_name, consumer_, "COUNT", std::to_string(count), "STREAMS", key("work"), ">");
  auto [ec, reply] = co_await redis_command(
      *redis_, std::move(cmd));
  if (ec == redis_error::server_error && reply.str.starts_with("NOGROUP")) {
    // The stream was deleted (FLUSHALL, Redis restarted empty): recreate the group.
    if (auto gec = co_await ensure_group()) co_return fail<std::vector<work_item>>(gec);
    co_return std::vector<work_item>{};
  }
  if (ec) co_return fail<std::vector<work_item>>(ec);
  if (reply.type != redis_reply::kind::array || reply.elements.empty()) co_return std::vector<work_item>{};
  const auto& stream = reply.elements[0];
  if (stream.elements.size() < 2) co_return std::vector<work_item>{};
  co_return parse_stream_entries(stream.elements[1]);
}

port_result<work_queue_port::takeover> redis_broker_store::take_over_stale(std::int64_t min_idle_ms, int count, std::int64_t max_failures,
                                                                           const std::set<std::string>& keep) {
  // XPENDING lists the idle entries; the failure counts tell the poisoned
  // ones; XCLAIM (with the same minimum idle time, so an entry renewed
  // meanwhile stays with its owner) takes them.
  auto cmd = redis_args("XPENDING", key("work"), group_name, "IDLE", std::to_string(min_idle_ms), "-", "+", std::to_string(count));
  auto [ec, reply] = co_await redis_command(
      *redis_, std::move(cmd));
  if (ec == redis_error::server_error && reply.str.starts_with("NOGROUP")) co_return takeover{};
  if (ec) co_return fail<takeover>(ec);
  if (reply.type != redis_reply::kind::array || reply.elements.empty()) co_return takeover{};
  std::vector<std::string> ids;
  for (const auto& e : reply.elements) {
    if (e.type != redis_reply::kind::array || e.elements.size() < 4) continue;
    if (keep.count(e.elements[0].str)) continue;  // this daemon is working on it
    ids.push_back(e.elements[0].str);
  }
  if (ids.empty()) co_return takeover{};
  std::vector<std::string> failures{"HMGET", key("work:failures")};
  failures.insert(failures.end(), ids.begin(), ids.end());
  auto [ec1, counts] = co_await redis_command(*redis_, std::move(failures));
  if (ec1) co_return fail<takeover>(ec1);
  std::set<std::string> poisoned_ids;
  for (std::size_t i = 0; i < ids.size() && i < counts.elements.size(); ++i)
    if (counts.elements[i].type == redis_reply::kind::string && reply_int(counts.elements[i].str).value_or(0) >= max_failures)
      poisoned_ids.insert(ids[i]);
  std::vector<std::string> claim{"XCLAIM", key("work"), group_name, consumer_, std::to_string(min_idle_ms)};
  claim.insert(claim.end(), ids.begin(), ids.end());
  auto [ec2, claimed] = co_await redis_command(*redis_, std::move(claim));
  if (ec2) co_return fail<takeover>(ec2);
  takeover out;
  for (auto& w : parse_stream_entries(claimed)) (poisoned_ids.count(w.stream_id) ? out.poisoned : out.items).push_back(std::move(w));
  co_return out;
}

port_status redis_broker_store::ack_many(const std::vector<std::string>& stream_ids) {
  static const auto& ack = script("ack_entries");
  for (auto [b, e] : key_chunks(stream_ids.size(), max_keys_per_call)) {
    std::vector<std::string> args{group_name};
    args.insert(args.end(), stream_ids.begin() + static_cast<std::ptrdiff_t>(b), stream_ids.begin() + static_cast<std::ptrdiff_t>(e));
    auto keys = redis_args(key("work"), key("work:failures"));
    auto [ec, reply] = co_await ack.run(*redis_, std::move(keys), std::move(args));
    if (ec) co_return ec;
  }
  co_return error_code{};
}

port_status redis_broker_store::count_failures(const std::vector<std::string>& stream_ids) {
  static const auto& count = script("count_failures");
  for (auto [b, e] : key_chunks(stream_ids.size(), max_keys_per_call)) {
    std::vector<std::string> args(stream_ids.begin() + static_cast<std::ptrdiff_t>(b), stream_ids.begin() + static_cast<std::ptrdiff_t>(e));
    auto keys = redis_args(key("work:failures"));
    auto [ec, reply] = co_await count.run(*redis_, std::move(keys), std::move(args));
    if (ec) co_return ec;
  }
  co_return error_code{};
}

port_result<std::int64_t> redis_broker_store::renew_entries(const std::vector<std::string>& stream_ids) {
  static const auto& renew = script("renew_entries");
  std::int64_t held = 0;
  for (auto [b, e] : key_chunks(stream_ids.size(), max_keys_per_call)) {
    std::vector<std::string> args{group_name, consumer_};
    args.insert(args.end(), stream_ids.begin() + static_cast<std::ptrdiff_t>(b), stream_ids.begin() + static_cast<std::ptrdiff_t>(e));
    auto keys = redis_args(key("work"));
    auto [ec, reply] = co_await renew.run(*redis_, std::move(keys), std::move(args));
    if (ec) co_return fail<std::int64_t>(ec);
    held += reply.integer;
  }
  co_return held;
}

port_result<std::int64_t> redis_broker_store::remove_idle_consumers(std::int64_t min_idle_ms) {
  static const auto& remove_consumer = script("remove_consumer");
  auto cmd = redis_args("XINFO", "CONSUMERS", key("work"), group_name);
  auto [ec, reply] = co_await redis_command(*redis_, std::move(cmd));
  if (ec == redis_error::server_error) co_return std::int64_t{0};  // no stream or group yet
  if (ec) co_return fail<std::int64_t>(ec);
  std::int64_t removed = 0;
  for (const auto& c : reply.elements) {
    std::string name;
    std::int64_t pending = -1, idle = 0;
    for (std::size_t i = 0; i + 1 < c.elements.size(); i += 2) {
      const auto& k = c.elements[i].str;
      const auto& v = c.elements[i + 1];
      if (k == "name") name = v.str;
      else if (k == "pending") pending = v.integer;
      else if (k == "idle") idle = v.integer;
    }
    if (name.empty() || name == consumer_ || pending != 0 || idle < min_idle_ms) continue;
    auto keys = redis_args(key("work"));
    auto args = redis_args(group_name, name);
    auto [ec2, r] = co_await remove_consumer.run(*redis_, std::move(keys), std::move(args));
    if (ec2) co_return fail<std::int64_t>(ec2);
    if (r.integer >= 0) ++removed;
  }
  co_return removed;
}

port_status redis_broker_store::dead_letter(const std::map<std::string, std::string>& entry) {
  std::vector<std::string> cmd{"XADD", key("deadletter"), "MAXLEN", "~", std::to_string(deadletter_maxlen), "*"};
  for (const auto& [k, v] : entry) {
    cmd.push_back(k);
    cmd.push_back(v);
  }
  auto [ec, reply] = co_await redis_command(*redis_, std::move(cmd));
  co_return ec;
}

}  // namespace herald
