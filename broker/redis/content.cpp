// redis_broker_store as the appointment_port and message_port: appointment
// hashes (json, rev, timing) with the alarm schedule, and messages as JSON
// strings queued on the work stream.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdio>
#include <random>

#include "broker/redis/redis_broker_store.hpp"
#include "broker/redis/scripts.hpp"
#include "broker/work_kind.hpp"

namespace herald {

namespace json = boost::json;
using boost::system::error_code;
using namespace broker_redis;

namespace {

// One HMGET json rev reply: the appointment, nullopt when missing, or an error.
boost::system::result<std::optional<appointment>> appointment_from(const redis_reply& reply) {
  if (reply.type != redis_reply::kind::array || reply.elements.size() != 2) return fail<std::optional<appointment>>(unexpected());
  if (reply.elements[0].type != redis_reply::kind::string) return std::optional<appointment>{};
  auto a = decode_appointment_record(reply.elements[0].str);
  if (!a) return fail<std::optional<appointment>>(unexpected());
  a->revision = reply_int(reply.elements[1].str).value_or(0);
  return std::optional<appointment>{std::move(*a)};
}

}  // namespace

port_result<put_outcome> redis_broker_store::put(const appointment& a) {
  static const auto& put_appointment = script("put_appointment");
  auto due = alarm_due_ms(a);
  auto keys = redis_args(key("appt:" + a.id), key("alarms"), key("alarms:changes"));
  auto args = redis_args(a.id, encode_appointment(a), alarm_timing(a), due ? std::to_string(*due) : std::string());
  auto [ec, reply] = co_await put_appointment.run(*redis_, std::move(keys),
                                                  std::move(args));
  if (ec) co_return fail<put_outcome>(ec);
  if (reply.type != redis_reply::kind::array || reply.elements.size() != 3) co_return fail<put_outcome>(unexpected());
  co_return put_outcome{reply.elements[0].integer, reply.elements[1].integer == 1, reply.elements[2].integer == 1};
}

port_result<std::optional<appointment>> redis_broker_store::get(const std::string& id) {
  auto cmd = redis_args("HMGET", key("appt:" + id), "json", "rev");
  auto [ec, reply] = co_await redis_command(*redis_, std::move(cmd));
  if (ec) co_return fail<std::optional<appointment>>(ec);
  co_return appointment_from(reply);
}

port_result<std::vector<std::optional<appointment>>> redis_broker_store::get_many(const std::vector<std::string>& ids) {
  static const auto& get_appointments = script("get_appointments");
  using list = std::vector<std::optional<appointment>>;
  list out;
  out.reserve(ids.size());
  for (auto [b, e] : key_chunks(ids.size(), max_keys_per_call)) {
    std::vector<std::string> keys;
    keys.reserve(e - b);
    for (auto i = b; i < e; ++i) keys.push_back(key("appt:" + ids[i]));
    std::vector<std::string> no_args;
    auto [ec, reply] = co_await get_appointments.run(*redis_, std::move(keys), std::move(no_args));
    if (ec) co_return fail<list>(ec);
    if (reply.type != redis_reply::kind::array || reply.elements.size() != e - b) co_return fail<list>(unexpected());
    for (const auto& r : reply.elements) {
      auto a = appointment_from(r);
      out.push_back(a ? std::move(*a) : std::nullopt);
    }
  }
  co_return out;
}

port_result<bool> redis_broker_store::remove(const std::string& id) {
  static const auto& remove_appointment = script("remove_appointment");
  auto keys = redis_args(key("appt:" + id), key("alarms"));
  auto args = redis_args(id);
  auto [ec, reply] = co_await remove_appointment.run(*redis_, std::move(keys), std::move(args));
  if (ec) co_return fail<bool>(ec);
  co_return reply.integer > 0;
}

port_result<std::string> redis_broker_store::enqueue_message(const push_message& m, std::int64_t now_ms) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char id[40];
  std::snprintf(id, sizeof id, "%llx-%016llx", static_cast<unsigned long long>(now_ms), static_cast<unsigned long long>(rng()));
  std::string msg_id(id);
  auto cmd = redis_args("SET", key("message:" + msg_id), encode_push_message(m), "EX", std::to_string(message_ttl_s));
  auto [ec, reply] = co_await redis_command(*redis_, std::move(cmd));
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

port_result<std::optional<push_message>> redis_broker_store::get_message(const std::string& id) {
  auto cmd = redis_args("GET", key("message:" + id));
  auto [ec, reply] = co_await redis_command(*redis_, std::move(cmd));
  if (ec) co_return fail<std::optional<push_message>>(ec);
  if (reply.type != redis_reply::kind::string) co_return std::optional<push_message>{};
  co_return decode_push_message(reply.str);
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
