#include "store/delivery_trace.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <unordered_map>

#include "store/lua_script.hpp"
#include "store/redis_client.hpp"

namespace herald {

namespace json = boost::json;

std::string encode_delivery_event(const delivery_event& e) {
  json::object o;
  o["t"] = e.at_ms;
  o["kind"] = e.kind;
  o["id"] = e.id;
  o["device"] = e.device;
  if (!e.app.empty()) o["app"] = e.app;
  o["outcome"] = e.outcome;
  o["action"] = e.action;
  if (e.status != 0) o["status"] = e.status;
  if (!e.reason.empty()) o["reason"] = e.reason;
  if (!e.provider_id.empty()) o["provider_id"] = e.provider_id;
  return json::serialize(o);
}

std::optional<delivery_event> decode_delivery_event(std::string_view text) {
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.as_object();
  const auto str = [&](std::string_view key) -> std::string {
    const auto* f = o.if_contains(key);
    return f && f->is_string() ? std::string(f->as_string()) : std::string();
  };
  const auto* t = o.if_contains("t");
  if (!t || !t->is_int64()) return std::nullopt;
  delivery_event e;
  e.at_ms = t->as_int64();
  e.kind = str("kind");
  e.id = str("id");
  e.device = str("device");
  e.app = str("app");
  e.outcome = str("outcome");
  e.action = str("action");
  if (const auto* s = o.if_contains("status"); s && s->is_int64()) e.status = static_cast<int>(s->as_int64());
  e.reason = str("reason");
  e.provider_id = str("provider_id");
  return e;
}

namespace {

// KEYS: trace lists. ARGV: last index kept, ttl ms, then per key: the number
// of its events, then those events, oldest first. One script per batch; each
// list gets one LPUSH, one PEXPIRE and an LTRIM only when it grew too long.
const lua_script& append_script() {
  static const lua_script script(R"lua(
local last = tonumber(ARGV[1])
local i = 3
for k = 1, #KEYS do
  local n = tonumber(ARGV[i])
  local len = redis.call('LPUSH', KEYS[k], unpack(ARGV, i + 1, i + n))
  if len > last + 1 then redis.call('LTRIM', KEYS[k], 0, last) end
  redis.call('PEXPIRE', KEYS[k], ARGV[2])
  i = i + n + 1
end
return #KEYS
)lua");
  return script;
}

}  // namespace

void append_delivery_events(redis_client& redis, const std::string& key_prefix, std::span<const delivery_event> events,
                            const trace_settings& limits) {
  // The lists touched, in first-seen order, each with its events in order
  // (a batch touches hundreds of lists: found through an index, not a scan).
  std::vector<std::pair<std::string, std::vector<std::string>>> lists;
  std::unordered_map<std::string, std::size_t> index;
  lists.reserve(events.size() * 2);
  index.reserve(events.size() * 2);
  auto add = [&](std::string key, const std::string& value) {
    auto [it, fresh] = index.try_emplace(std::move(key), lists.size());
    if (fresh) lists.push_back({it->first, {}});
    lists[it->second].second.push_back(value);
  };
  for (const auto& e : events) {
    const auto value = encode_delivery_event(e);
    if (!e.device.empty()) add(key_prefix + ":trace:device:" + e.device, value);
    if (!e.id.empty()) add(key_prefix + ":trace:" + e.kind + ":" + e.id, value);
  }
  if (lists.empty()) return;
  // EVAL with the script's text: one call per batch, so sending the text
  // costs little, and unlike EVALSHA it never meets NOSCRIPT after a Redis
  // restart, which would need a resend behind later commands (the events of
  // one connection stay in order). Not waited for: the broker does not hold
  // a delivery for its trace.
  std::vector<std::string> cmd{"EVAL", append_script().text(), std::to_string(lists.size())};
  for (const auto& [key, values] : lists) cmd.push_back(key);
  cmd.push_back(std::to_string(std::max<std::int64_t>(limits.max_events, 1) - 1));
  cmd.push_back(std::to_string(limits.max_age.count()));
  for (auto& [key, values] : lists) {
    cmd.push_back(std::to_string(values.size()));
    for (auto& v : values) cmd.push_back(std::move(v));
  }
  redis.exec(std::move(cmd), [](boost::system::error_code, redis_reply) {});
}

void append_delivery_event(redis_client& redis, const std::string& key_prefix, const delivery_event& e, const trace_settings& limits) {
  append_delivery_events(redis, key_prefix, std::span<const delivery_event>(&e, 1), limits);
}

std::optional<std::string> trace_subject(std::string_view kind, std::string_view id) {
  if (id.empty() || (kind != "device" && kind != "alarm" && kind != "message")) return std::nullopt;
  return std::string(kind) + ":" + std::string(id);
}

boost::asio::awaitable<std::pair<boost::system::error_code, std::vector<delivery_event>>> read_delivery_trace(
    redis_client& redis, std::string key_prefix, std::string subject) {
  std::vector<std::string> cmd{"LRANGE", key_prefix + ":trace:" + subject, "0", "-1"};
  auto [ec, reply] = co_await redis_command(redis, std::move(cmd));
  std::vector<delivery_event> out;
  if (!ec) {
    for (const auto& element : reply.elements) {
      if (auto e = decode_delivery_event(element.str)) out.push_back(std::move(*e));
    }
  }
  co_return std::make_pair(ec, std::move(out));
}

}  // namespace herald
