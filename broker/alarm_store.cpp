#include "broker/alarm_store.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <tuple>
#include <charconv>
#include <random>

#include "broker/delivery_lease.hpp"
#include "broker/work_kind.hpp"
#include "store/lua_script.hpp"

namespace herald {

namespace asio = boost::asio;
namespace json = boost::json;
using boost::system::error_code;

namespace {

constexpr const char* group_name = "herald";
constexpr int delivery_ttl_s = 7 * 24 * 3600;  // records outlive any retry window
constexpr int message_ttl_s = 2 * 24 * 3600;
constexpr int deadletter_maxlen = 100000;
// Keys (or stream ids) one script call touches at most: keeps every call
// far below redis.command_timeout, whatever the size of an appointment.
constexpr std::size_t max_keys_per_script = 512;

// KEYS: appt, alarms, changes. ARGV: id, json, timing, due ("" = no alarm).
const lua_script put_script(R"lua(
local old = redis.call('HGET', KEYS[1], 'timing')
local rev = tonumber(redis.call('HGET', KEYS[1], 'rev') or '0')
local changed = (old ~= ARGV[3])
if changed then rev = rev + 1 end
redis.call('HSET', KEYS[1], 'json', ARGV[2], 'rev', rev, 'timing', ARGV[3])
if changed then
  if ARGV[4] ~= '' then
    redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', 1000, '*', 'due', ARGV[4])
  else
    redis.call('ZREM', KEYS[2], ARGV[1])
  end
end
local created = 0
if not old then created = 1 end
return {rev, changed and 1 or 0, created}
)lua");

// KEYS: appts. Returns {json, rev} per key (nils for a missing one).
const lua_script get_many_script(R"lua(
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('HMGET', key, 'json', 'rev') end
return out
)lua");

// KEYS: appt, alarms. ARGV: id.
const lua_script remove_script(R"lua(
local existed = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return existed
)lua");

// KEYS: alarms, work. ARGV: now, limit, appointment key prefix.
const lua_script claim_alarms_script(R"lua(
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local n = 0
for i = 1, #due, 2 do
  local id = due[i]
  redis.call('ZREM', KEYS[1], id)
  local rev = redis.call('HGET', ARGV[3] .. id, 'rev')
  if rev then
    redis.call('XADD', KEYS[2], '*', 'kind', 'alarm', 'id', id, 'rev', rev, 'due', due[i + 1])
    n = n + 1
  end
end
return n
)lua");

// KEYS: retries, work. ARGV: now, limit. Members are "<delivery id>"; the job
// fields live in the hash <retries>:job:<delivery id>.
const lua_script claim_retries_script(R"lua(
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  local job = redis.call('HGETALL', KEYS[1] .. ':job:' .. id)
  redis.call('DEL', KEYS[1] .. ':job:' .. id)
  if #job > 0 then
    redis.call('XADD', KEYS[2], '*', 'kind', 'retry', unpack(job))
  end
end
return #due
)lua");

// Redis server time in ms, the one clock of every lease decision.
#define HERALD_LUA_NOW "local t = redis.call('TIME')\nlocal now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
// Whether record value v is `sending:<ARGV[1]>:<digits>` (held by this consumer).
#define HERALD_LUA_MINE \
  "local mine = 'sending:' .. ARGV[1] .. ':'\n" \
  "local function held_by_me(v) return v and string.sub(v, 1, #mine) == mine and string.match(string.sub(v, #mine + 1), '^%d+$') ~= nil end\n"

// KEYS: delivery records. ARGV: consumer, lease ms, ttl, retrying (1/0).
// Per key: 1 = go (now held by the consumer until now + lease), 0 = done
// (final, or `retry` outside the retry job), 2 = held (another lease runs).
// The rules of decide_claim (broker/delivery_lease.hpp).
const lua_script claim_deliveries_script(HERALD_LUA_NOW R"lua(
local value = 'sending:' .. ARGV[1] .. ':' .. string.format('%.0f', now + tonumber(ARGV[2]))
local out = {}
for i, key in ipairs(KEYS) do
  local v = redis.call('GET', key)
  local d = 1
  if v then
    if v == 'retry' then
      if ARGV[4] ~= '1' then d = 0 end
    elseif string.sub(v, 1, 8) == 'sending:' then
      local lease = tonumber(string.match(v, ':(%d+)$') or '0')
      if lease > now then d = 2 end
    else
      d = 0
    end
  end
  if d == 1 then redis.call('SET', key, value, 'EX', ARGV[3]) end
  out[i] = d
end
return out
)lua");

// KEYS: delivery records. ARGV: consumer, state, ttl. Writes the state only
// where the consumer still holds the record (may_finish); 1/0 per key.
const lua_script finish_deliveries_script(HERALD_LUA_MINE R"lua(
local out = {}
for i, key in ipairs(KEYS) do
  if held_by_me(redis.call('GET', key)) then
    redis.call('SET', key, ARGV[2], 'EX', ARGV[3])
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
)lua");

// KEYS: delivery records. ARGV: consumer, lease ms (0 = release: expires now).
// Extends (or ends) the consumer's own leases; returns how many it held.
const lua_script renew_deliveries_script(HERALD_LUA_MINE HERALD_LUA_NOW R"lua(
local value = mine .. string.format('%.0f', now + tonumber(ARGV[2]))
local n = 0
for _, key in ipairs(KEYS) do
  if held_by_me(redis.call('GET', key)) then
    redis.call('SET', key, value, 'KEEPTTL')
    n = n + 1
  end
end
return n
)lua");

// KEYS: work. ARGV: group, consumer, stream ids. Resets the idle time of the
// entries this consumer still owns (XCLAIM JUSTID does not count a
// delivery); one taken over meanwhile stays with its new owner.
const lua_script renew_entries_script(R"lua(
local n = 0
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if p[1] and p[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    n = n + 1
  end
end
return n
)lua");

// KEYS: retries, job hash, delivery record. ARGV: delivery id, at, ttl,
// consumer, then field/value pairs. Only while the consumer holds the record.
const lua_script schedule_retry_script(R"lua(
local v = redis.call('GET', KEYS[3])
local mine = 'sending:' .. ARGV[4] .. ':'
if not (v and string.sub(v, 1, #mine) == mine and string.match(string.sub(v, #mine + 1), '^%d+$')) then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], unpack(ARGV, 5))
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('SET', KEYS[3], 'retry', 'EX', ARGV[3])
return 1
)lua");

// KEYS: deadletter stream, delivery record. ARGV: consumer, state, ttl,
// maxlen, then field/value pairs. Only while the consumer holds the record.
const lua_script dead_letter_delivery_script(HERALD_LUA_MINE R"lua(
if not held_by_me(redis.call('GET', KEYS[2])) then return 0 end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', unpack(ARGV, 5))
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
return 1
)lua");

// KEYS: work, failures hash. ARGV: group, stream ids. Acknowledges and
// deletes the entries and forgets their failure counts.
const lua_script ack_script(R"lua(
local ids = {unpack(ARGV, 2)}
redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
redis.call('XDEL', KEYS[1], unpack(ids))
redis.call('HDEL', KEYS[2], unpack(ids))
return #ids
)lua");

// KEYS: failures hash. ARGV: stream ids whose processing failed.
const lua_script count_failures_script(R"lua(
for _, id in ipairs(ARGV) do redis.call('HINCRBY', KEYS[1], id, 1) end
return #ARGV
)lua");

// KEYS: work. ARGV: group, consumer. Removes the consumer when it owns no
// pending entry (atomic: it cannot have read one in between).
const lua_script remove_consumer_script(R"lua(
local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if #p > 0 then return -1 end
return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
)lua");

template <typename T>
boost::system::result<T> fail(error_code ec) {
  return boost::system::result<T>(boost::system::in_place_error, ec);
}

std::optional<std::int64_t> to_int(const std::string& s) {
  std::int64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) {
    // Redis scores may come back as "1.7e12" or with a fraction.
    try {
      return static_cast<std::int64_t>(std::stod(s));
    } catch (...) {
      return std::nullopt;
    }
  }
  return v;
}

std::vector<work_item> parse_stream_entries(const redis_reply& entries) {
  std::vector<work_item> out;
  for (const auto& e : entries.elements) {
    if (e.type != redis_reply::kind::array || e.elements.size() < 2) continue;
    work_item w;
    w.stream_id = e.elements[0].str;
    const auto& kv = e.elements[1];
    for (std::size_t i = 0; i + 1 < kv.elements.size(); i += 2) w.fields[kv.elements[i].str] = kv.elements[i + 1].str;
    w.kind = w.field("kind");
    out.push_back(std::move(w));
  }
  return out;
}

error_code unexpected() { return make_error_code(redis_error::unexpected_reply); }

// One HMGET json rev reply: the appointment, nullopt when missing, or an error.
boost::system::result<std::optional<appointment>> appointment_from(const redis_reply& reply) {
  if (reply.type != redis_reply::kind::array || reply.elements.size() != 2) return fail<std::optional<appointment>>(unexpected());
  if (reply.elements[0].type != redis_reply::kind::string) return std::optional<appointment>{};
  auto a = decode_appointment_record(reply.elements[0].str);
  if (!a) return fail<std::optional<appointment>>(unexpected());
  a->revision = to_int(reply.elements[1].str).value_or(0);
  return std::optional<appointment>{std::move(*a)};
}

}  // namespace

alarm_store::alarm_store(std::shared_ptr<redis_client> redis, std::string key_prefix, std::string consumer)
    : redis_(std::move(redis)), prefix_(std::move(key_prefix)), consumer_(std::move(consumer)) {}

asio::awaitable<alarm_store::result<put_outcome>> alarm_store::put(const appointment& a) {
  auto due = alarm_due_ms(a);
  std::vector<std::string> keys{key("appt:" + a.id), key("alarms"), key("alarms:changes")};
  std::vector<std::string> args{a.id, encode_appointment(a), alarm_timing(a), due ? std::to_string(*due) : std::string()};
  auto [ec, reply] = co_await put_script.run(*redis_, std::move(keys), std::move(args));
  if (ec) co_return fail<put_outcome>(ec);
  if (reply.type != redis_reply::kind::array || reply.elements.size() != 3) co_return fail<put_outcome>(unexpected());
  co_return put_outcome{reply.elements[0].integer, reply.elements[1].integer == 1, reply.elements[2].integer == 1};
}

asio::awaitable<alarm_store::result<std::optional<appointment>>> alarm_store::get(const std::string& id) {
  std::vector<std::string> cmd{"HMGET", key("appt:" + id), "json", "rev"};
  auto [ec, reply] = co_await redis_command(*redis_, std::move(cmd));
  if (ec) co_return fail<std::optional<appointment>>(ec);
  co_return appointment_from(reply);
}

asio::awaitable<alarm_store::result<std::vector<std::optional<appointment>>>> alarm_store::get_many(const std::vector<std::string>& ids) {
  using list = std::vector<std::optional<appointment>>;
  if (ids.empty()) co_return list{};
  std::vector<std::string> keys;
  keys.reserve(ids.size());
  for (const auto& id : ids) keys.push_back(key("appt:" + id));
  std::vector<std::string> no_args;
  auto [ec, reply] = co_await get_many_script.run(*redis_, std::move(keys), std::move(no_args));
  if (ec) co_return fail<list>(ec);
  if (reply.type != redis_reply::kind::array || reply.elements.size() != ids.size()) co_return fail<list>(unexpected());
  list out;
  out.reserve(ids.size());
  for (const auto& e : reply.elements) {
    auto a = appointment_from(e);
    out.push_back(a ? std::move(*a) : std::nullopt);
  }
  co_return out;
}

asio::awaitable<alarm_store::result<bool>> alarm_store::remove(const std::string& id) {
  std::vector<std::string> keys{key("appt:" + id), key("alarms")};
  std::vector<std::string> args{id};
  auto [ec, reply] = co_await remove_script.run(*redis_, std::move(keys), std::move(args));
  if (ec) co_return fail<bool>(ec);
  co_return reply.integer > 0;
}

asio::awaitable<alarm_store::result<std::optional<std::int64_t>>> alarm_store::next_alarm_due() {
  std::vector<std::string> cmd{"ZRANGE", key("alarms"), "0", "0", "WITHSCORES"};
  auto [ec, reply] = co_await redis_command(*redis_, std::move(cmd));
  if (ec) co_return fail<std::optional<std::int64_t>>(ec);
  if (reply.elements.size() < 2) co_return std::optional<std::int64_t>{};
  co_return to_int(reply.elements[1].str);
}

asio::awaitable<alarm_store::result<std::optional<std::int64_t>>> alarm_store::next_retry_due() {
  std::vector<std::string> cmd{"ZRANGE", key("retries"), "0", "0", "WITHSCORES"};
  auto [ec, reply] = co_await redis_command(*redis_, std::move(cmd));
  if (ec) co_return fail<std::optional<std::int64_t>>(ec);
  if (reply.elements.size() < 2) co_return std::optional<std::int64_t>{};
  co_return to_int(reply.elements[1].str);
}

asio::awaitable<alarm_store::result<std::int64_t>> alarm_store::claim_due_alarms(std::int64_t now_ms, int limit) {
  std::vector<std::string> keys{key("alarms"), key("work")};
  std::vector<std::string> args{std::to_string(now_ms), std::to_string(limit), key("appt:")};
  auto [ec, reply] = co_await claim_alarms_script.run(*redis_, std::move(keys), std::move(args));
  if (ec) co_return fail<std::int64_t>(ec);
  co_return reply.integer;
}

asio::awaitable<alarm_store::result<std::int64_t>> alarm_store::claim_due_retries(std::int64_t now_ms, int limit) {
  std::vector<std::string> keys{key("retries"), key("work")};
  std::vector<std::string> args{std::to_string(now_ms), std::to_string(limit)};
  auto [ec, reply] = co_await claim_retries_script.run(*redis_, std::move(keys), std::move(args));
  if (ec) co_return fail<std::int64_t>(ec);
  co_return reply.integer;
}

asio::awaitable<alarm_store::result<std::int64_t>> alarm_store::alarms_due_count(std::int64_t now_ms) {
  std::vector<std::string> cmd{"ZCOUNT", key("alarms"), "-inf", std::to_string(now_ms)};
  auto [ec, reply] = co_await redis_command(*redis_, std::move(cmd));
  if (ec) co_return fail<std::int64_t>(ec);
  co_return reply.integer;
}

asio::awaitable<alarm_store::result<std::int64_t>> alarm_store::retry_depth() {
  std::vector<std::string> cmd{"ZCARD", key("retries")};
  auto [ec, reply] = co_await redis_command(*redis_, std::move(cmd));
  if (ec) co_return fail<std::int64_t>(ec);
  co_return reply.integer;
}

asio::awaitable<error_code> alarm_store::ensure_group() {
  std::vector<std::string> cmd{"XGROUP", "CREATE", key("work"), group_name, "0", "MKSTREAM"};
  auto [ec, reply] = co_await redis_command(*redis_, std::move(cmd));
  if (ec == redis_error::server_error && reply.str.starts_with("BUSYGROUP")) co_return error_code{};
  co_return ec;
}

asio::awaitable<alarm_store::result<std::vector<work_item>>> alarm_store::read_work(int count) {
  std::vector<std::string> cmd{"XREADGROUP", "GROUP", group_name, consumer_, "COUNT", std::to_string(count), "STREAMS", key("work"), ">"};
  auto [ec, reply] = co_await redis_command(*redis_, std::move(cmd));
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

asio::awaitable<alarm_store::result<alarm_store::takeover>> alarm_store::take_over_stale(std::int64_t min_idle_ms, int count,
                                                                                        std::int64_t max_failures,
                                                                                        const std::set<std::string>& keep) {
  // XPENDING lists the idle entries; the failure counts tell the poisoned
  // ones; XCLAIM (with the same minimum idle time, so an entry renewed
  // meanwhile stays with its owner) takes them.
  std::vector<std::string> pending{"XPENDING", key("work"), group_name, "IDLE", std::to_string(min_idle_ms), "-", "+", std::to_string(count)};
  auto [ec, reply] = co_await redis_command(*redis_, std::move(pending));
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
    if (counts.elements[i].type == redis_reply::kind::string && to_int(counts.elements[i].str).value_or(0) >= max_failures)
      poisoned_ids.insert(ids[i]);
  std::vector<std::string> claim{"XCLAIM", key("work"), group_name, consumer_, std::to_string(min_idle_ms)};
  claim.insert(claim.end(), ids.begin(), ids.end());
  auto [ec2, claimed] = co_await redis_command(*redis_, std::move(claim));
  if (ec2) co_return fail<takeover>(ec2);
  takeover out;
  for (auto& w : parse_stream_entries(claimed)) (poisoned_ids.count(w.stream_id) ? out.poisoned : out.items).push_back(std::move(w));
  co_return out;
}

asio::awaitable<error_code> alarm_store::count_failures(const std::vector<std::string>& stream_ids) {
  if (stream_ids.empty()) co_return error_code{};
  std::vector<std::string> keys{key("work:failures")};
  std::vector<std::string> args(stream_ids.begin(), stream_ids.end());
  auto [ec, reply] = co_await count_failures_script.run(*redis_, std::move(keys), std::move(args));
  co_return ec;
}

asio::awaitable<alarm_store::result<std::int64_t>> alarm_store::renew_entries(const std::vector<std::string>& stream_ids) {
  std::int64_t held = 0;
  for (auto [b, e] : key_chunks(stream_ids.size(), max_keys_per_script)) {
    std::vector<std::string> keys{key("work")};
    std::vector<std::string> args{group_name, consumer_};
    args.insert(args.end(), stream_ids.begin() + static_cast<std::ptrdiff_t>(b), stream_ids.begin() + static_cast<std::ptrdiff_t>(e));
    auto [ec, reply] = co_await renew_entries_script.run(*redis_, std::move(keys), std::move(args));
    if (ec) co_return fail<std::int64_t>(ec);
    held += reply.integer;
  }
  co_return held;
}

asio::awaitable<alarm_store::result<std::int64_t>> alarm_store::renew_deliveries(const std::vector<std::string>& delivery_ids,
                                                                                 std::int64_t lease_ms) {
  std::int64_t held = 0;
  for (auto [b, e] : key_chunks(delivery_ids.size(), max_keys_per_script)) {
    std::vector<std::string> keys;
    for (auto i = b; i < e; ++i) keys.push_back(key("delivery:" + delivery_ids[i]));
    std::vector<std::string> args{consumer_, std::to_string(lease_ms)};
    auto [ec, reply] = co_await renew_deliveries_script.run(*redis_, std::move(keys), std::move(args));
    if (ec) co_return fail<std::int64_t>(ec);
    held += reply.integer;
  }
  co_return held;
}

asio::awaitable<alarm_store::result<std::int64_t>> alarm_store::remove_idle_consumers(std::int64_t min_idle_ms) {
  std::vector<std::string> cmd{"XINFO", "CONSUMERS", key("work"), group_name};
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
    std::vector<std::string> keys{key("work")};
    std::vector<std::string> args{group_name, name};
    auto [ec2, r] = co_await remove_consumer_script.run(*redis_, std::move(keys), std::move(args));
    if (ec2) co_return fail<std::int64_t>(ec2);
    if (r.integer >= 0) ++removed;
  }
  co_return removed;
}

asio::awaitable<alarm_store::result<std::int64_t>> alarm_store::server_time_ms() {
  std::vector<std::string> cmd{"TIME"};
  auto [ec, reply] = co_await redis_command(*redis_, std::move(cmd));
  if (ec) co_return fail<std::int64_t>(ec);
  if (reply.elements.size() != 2) co_return fail<std::int64_t>(unexpected());
  auto ms = redis_time_ms(reply.elements[0].str, reply.elements[1].str);
  if (!ms) co_return fail<std::int64_t>(unexpected());
  co_return *ms;
}

asio::awaitable<alarm_store::result<std::string>> alarm_store::enqueue_message(const push_message& m, std::int64_t now_ms) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char id[40];
  std::snprintf(id, sizeof id, "%llx-%016llx", static_cast<unsigned long long>(now_ms), static_cast<unsigned long long>(rng()));
  std::string msg_id(id);
  std::vector<std::string> set{"SET", key("message:" + msg_id), encode_push_message(m), "EX", std::to_string(message_ttl_s)};
  auto [ec, reply] = co_await redis_command(*redis_, std::move(set));
  if (ec) co_return fail<std::string>(ec);
  std::vector<std::string> add{"XADD", key("work"), "*"};
  for (auto& [k, v] : encode_work(message_work{msg_id, now_ms})) {
    add.push_back(std::move(k));
    add.push_back(std::move(v));
  }
  auto [ec2, reply2] = co_await redis_command(*redis_, std::move(add));
  if (ec2) co_return fail<std::string>(ec2);
  co_return msg_id;
}

asio::awaitable<alarm_store::result<std::optional<push_message>>> alarm_store::get_message(const std::string& id) {
  std::vector<std::string> cmd{"GET", key("message:" + id)};
  auto [ec, reply] = co_await redis_command(*redis_, std::move(cmd));
  if (ec) co_return fail<std::optional<push_message>>(ec);
  if (reply.type != redis_reply::kind::string) co_return std::optional<push_message>{};
  co_return decode_push_message(reply.str);
}

asio::awaitable<alarm_store::result<std::vector<claim_decision>>> alarm_store::claim_deliveries(
    const std::vector<std::string>& delivery_ids, bool retrying, std::int64_t lease_ms) {
  std::vector<claim_decision> out;
  out.reserve(delivery_ids.size());
  for (auto [b, e] : key_chunks(delivery_ids.size(), max_keys_per_script)) {
    std::vector<std::string> keys;
    for (auto i = b; i < e; ++i) keys.push_back(key("delivery:" + delivery_ids[i]));
    std::vector<std::string> args{consumer_, std::to_string(lease_ms), std::to_string(delivery_ttl_s), retrying ? "1" : "0"};
    auto [ec, reply] = co_await claim_deliveries_script.run(*redis_, std::move(keys), std::move(args));
    if (ec) co_return fail<std::vector<claim_decision>>(ec);
    if (reply.elements.size() != e - b) co_return fail<std::vector<claim_decision>>(unexpected());
    for (const auto& r : reply.elements)
      out.push_back(r.integer == 1 ? claim_decision::go : r.integer == 2 ? claim_decision::held : claim_decision::done);
  }
  co_return out;
}

asio::awaitable<alarm_store::result<std::vector<bool>>> alarm_store::finish_deliveries(const std::vector<std::string>& delivery_ids,
                                                                                       const std::string& state) {
  std::vector<bool> out;
  out.reserve(delivery_ids.size());
  for (auto [b, e] : key_chunks(delivery_ids.size(), max_keys_per_script)) {
    std::vector<std::string> keys;
    for (auto i = b; i < e; ++i) keys.push_back(key("delivery:" + delivery_ids[i]));
    std::vector<std::string> args{consumer_, state, std::to_string(delivery_ttl_s)};
    auto [ec, reply] = co_await finish_deliveries_script.run(*redis_, keys, args);
    // The providers already answered: losing these records to a Redis restart
    // or failover would send them all again after a takeover. Wait (bounded)
    // for the connection to come back and write them then; the script is
    // conditional on ownership, so a write whose reply was lost may run twice.
    asio::steady_timer wait(co_await asio::this_coro::executor);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (ec && ec.category() == redis_category() && static_cast<redis_error>(ec.value()) != redis_error::server_error &&
           static_cast<redis_error>(ec.value()) != redis_error::unexpected_reply &&
           static_cast<redis_error>(ec.value()) != redis_error::stopped && std::chrono::steady_clock::now() < give_up) {
      wait.expires_after(std::chrono::milliseconds(50));
      co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
      if (!redis_->connected()) continue;
      std::tie(ec, reply) = co_await finish_deliveries_script.run(*redis_, keys, args);
    }
    if (ec) co_return fail<std::vector<bool>>(ec);
    if (reply.elements.size() != e - b) co_return fail<std::vector<bool>>(unexpected());
    for (const auto& r : reply.elements) out.push_back(r.integer == 1);
  }
  co_return out;
}

asio::awaitable<alarm_store::result<bool>> alarm_store::finish_delivery(const std::string& delivery_id, const std::string& state) {
  std::vector<std::string> ids{delivery_id};
  auto r = co_await finish_deliveries(ids, state);
  if (!r) co_return fail<bool>(r.error());
  co_return r->front();
}

asio::awaitable<error_code> alarm_store::ack_many(const std::vector<std::string>& stream_ids) {
  for (auto [b, e] : key_chunks(stream_ids.size(), max_keys_per_script)) {
    std::vector<std::string> keys{key("work"), key("work:failures")};
    std::vector<std::string> args{group_name};
    args.insert(args.end(), stream_ids.begin() + static_cast<std::ptrdiff_t>(b), stream_ids.begin() + static_cast<std::ptrdiff_t>(e));
    auto [ec, reply] = co_await ack_script.run(*redis_, std::move(keys), std::move(args));
    if (ec) co_return ec;
  }
  co_return error_code{};
}

asio::awaitable<alarm_store::result<bool>> alarm_store::schedule_retry(const std::string& delivery_id, std::int64_t at_ms,
                                                                        const std::map<std::string, std::string>& job) {
  std::vector<std::string> keys{key("retries"), key("retries:job:" + delivery_id), key("delivery:" + delivery_id)};
  std::vector<std::string> args{delivery_id, std::to_string(at_ms), std::to_string(delivery_ttl_s), consumer_};
  for (const auto& [k, v] : job) {
    args.push_back(k);
    args.push_back(v);
  }
  auto [ec, reply] = co_await schedule_retry_script.run(*redis_, std::move(keys), std::move(args));
  if (ec) co_return fail<bool>(ec);
  co_return reply.integer == 1;
}

asio::awaitable<alarm_store::result<bool>> alarm_store::dead_letter_delivery(const std::string& delivery_id, const std::string& state,
                                                                              const std::map<std::string, std::string>& entry) {
  std::vector<std::string> keys{key("deadletter"), key("delivery:" + delivery_id)};
  std::vector<std::string> args{consumer_, state, std::to_string(delivery_ttl_s), std::to_string(deadletter_maxlen)};
  for (const auto& [k, v] : entry) {
    args.push_back(k);
    args.push_back(v);
  }
  auto [ec, reply] = co_await dead_letter_delivery_script.run(*redis_, std::move(keys), std::move(args));
  if (ec) co_return fail<bool>(ec);
  co_return reply.integer == 1;
}

asio::awaitable<error_code> alarm_store::dead_letter(const std::map<std::string, std::string>& entry) {
  std::vector<std::string> cmd{"XADD", key("deadletter"), "MAXLEN", "~", std::to_string(deadletter_maxlen), "*"};
  for (const auto& [k, v] : entry) {
    cmd.push_back(k);
    cmd.push_back(v);
  }
  auto [ec, reply] = co_await redis_command(*redis_, std::move(cmd));
  co_return ec;
}

std::string encode_push_message(const push_message& m) {
  json::object o;
  json::array assoc;
  for (auto a : m.associate_ids) assoc.emplace_back(a);
  o["associate_ids"] = std::move(assoc);
  auto strings = [](const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) a.emplace_back(s);
    return a;
  };
  o["device_identifiers"] = strings(m.device_identifiers);
  o["platforms"] = strings(m.platforms);
  o["tags"] = strings(m.tags);
  o["app_id"] = m.app_id;
  o["title"] = m.title;
  o["body"] = m.body;
  o["url"] = m.url;
  o["silent"] = m.silent;
  o["ttl"] = m.time_to_live_s;
  json::object data;
  for (const auto& [k, v] : m.data) data[k] = v;
  o["data"] = std::move(data);
  o["event"] = m.event;
  return json::serialize(o);
}

std::optional<push_message> decode_push_message(std::string_view text) {
  error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  push_message m;
  auto str = [&](const char* k) {
    auto* p = o.if_contains(k);
    return p && p->is_string() ? std::string(p->get_string()) : std::string();
  };
  auto strings = [&](const char* k, std::vector<std::string>& out) {
    if (auto* p = o.if_contains(k); p && p->is_array())
      for (auto& s : p->get_array())
        if (s.is_string()) out.emplace_back(s.get_string());
  };
  if (auto* p = o.if_contains("associate_ids"); p && p->is_array())
    for (auto& a : p->get_array())
      if (a.is_int64()) m.associate_ids.push_back(a.get_int64());
  strings("device_identifiers", m.device_identifiers);
  strings("platforms", m.platforms);
  strings("tags", m.tags);
  m.app_id = str("app_id");
  m.title = str("title");
  m.body = str("body");
  m.url = str("url");
  if (auto* p = o.if_contains("silent"); p && p->is_bool()) m.silent = p->get_bool();
  if (auto* p = o.if_contains("ttl"); p && p->is_int64()) m.time_to_live_s = static_cast<int>(p->get_int64());
  if (auto* p = o.if_contains("data"); p && p->is_object())
    for (auto& kv : p->get_object())
      if (kv.value().is_string()) m.data.emplace_back(std::string(kv.key()), std::string(kv.value().get_string()));
  m.event = str("event");
  if (m.event.empty()) m.event = "Message";
  return m;
}

}  // namespace herald
