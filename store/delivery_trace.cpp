#include "store/delivery_trace.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

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

void append_delivery_event(redis_client& redis, const std::string& key_prefix, const delivery_event& e, const trace_settings& limits) {
  const std::string value = encode_delivery_event(e);
  const std::string last = std::to_string(std::max<std::int64_t>(limits.max_events, 1) - 1);
  const std::string ttl = std::to_string(limits.max_age.count());
  std::vector<std::string> keys;
  if (!e.device.empty()) keys.push_back(key_prefix + ":trace:device:" + e.device);
  if (!e.id.empty()) keys.push_back(key_prefix + ":trace:" + e.kind + ":" + e.id);
  for (const std::string& key : keys) {
    // Sent back to back on the one connection; the replies are not waited for.
    redis.exec({"LPUSH", key, value}, [](boost::system::error_code, redis_reply) {});
    redis.exec({"LTRIM", key, "0", last}, [](boost::system::error_code, redis_reply) {});
    redis.exec({"PEXPIRE", key, ttl}, [](boost::system::error_code, redis_reply) {});
  }
}

std::optional<std::string> trace_subject(std::string_view kind, std::string_view id) {
  if (id.empty() || (kind != "device" && kind != "alarm" && kind != "message")) return std::nullopt;
  return std::string(kind) + ":" + std::string(id);
}

boost::asio::awaitable<std::pair<boost::system::error_code, std::vector<delivery_event>>> read_delivery_trace(
    redis_client& redis, const std::string& key_prefix, const std::string& subject) {
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
