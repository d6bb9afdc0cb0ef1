#include "store/device_registry.hpp"

#include "model/text.hpp"

#include "store/lua_script.hpp"


#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>
#include <functional>
#include <limits>

namespace herald {

namespace {

namespace json = boost::json;
using boost::system::error_code;

// Upsert, atomically: move the device out of its previous owner's index,
// then write the record, the new owner's index and the set of all devices.
// KEYS: device key, new associate hash, set of all devices.
// ARGV: device identifier, JSON record, new associate id, key prefix,
// "1" when the record carries no Tags and the stored ones are to be kept,
// the required owner ("" = none) and the presented PNSHandle: a device
// stored for another owner than the required one is written only when its
// stored PNSHandle is the presented one, else 'conflict' is returned.
// Returns the previous owner's id as a string, or nil.
//
// The previous owner is read with a pattern rather than cjson: cjson turns
// numbers into doubles (ids above 2^53 would be rounded), and the pattern
// cannot match inside a JSON string value, where every quote is escaped.
// The old owner's hash key is built in the script (it is only known after
// the GET), which is fine on a single Redis; on a cluster every key would
// need a common hash tag in the prefix.
// Tags are carried over with cjson, which only re-encodes the array of
// strings (an empty Lua table encodes as {}, hence the explicit "[]"). IBM
// Subscriptions are always carried over: upsert never changes them (the
// record it writes has none), update() does.
constexpr std::string_view upsert_script = R"lua(
local old = redis.call('GET', KEYS[1])
local prev = false
local record = ARGV[2]
if old then
  prev = string.match(old, '"AssociateId":(%-?%d+)') or false
  local ok, decoded = pcall(cjson.decode, old)
  if ok and type(decoded) == 'table' then
    if ARGV[5] == '1' and type(decoded.Tags) == 'table' then
      local tags = '[]'
      if #decoded.Tags > 0 then tags = cjson.encode(decoded.Tags) end
      record = string.sub(record, 1, -2) .. ',"Tags":' .. tags .. '}'
    end
    if type(decoded.Subscriptions) == 'table' and #decoded.Subscriptions > 0 then
      record = string.sub(record, 1, -2) .. ',"Subscriptions":' .. cjson.encode(decoded.Subscriptions) .. '}'
    end
  end
end
if ARGV[6] ~= '' and prev and prev ~= ARGV[6] then
  local ok, decoded = pcall(cjson.decode, old)
  if not (ok and type(decoded) == 'table' and ARGV[7] ~= '' and decoded.PNSHandle == ARGV[7]) then
    return 'conflict'
  end
end
if prev and prev ~= ARGV[3] then
  redis.call('HDEL', ARGV[4] .. ':associate:' .. prev .. ':devices', ARGV[1])
end
redis.call('SET', KEYS[1], record)
redis.call('HSET', KEYS[2], ARGV[1], record)
redis.call('SADD', KEYS[3], ARGV[1])
return prev
)lua";

// Compare-and-set of one device record (set_tags): the record is rewritten
// only if it is still what the caller read, so a concurrent registration or
// move is never overwritten with stale fields.
// KEYS: device key, owner's associate hash. ARGV: device identifier,
// expected record, new record. Returns 1 (written), 0 (device gone), -1 (changed).
constexpr std::string_view replace_script = R"lua(
local cur = redis.call('GET', KEYS[1])
if not cur then
  return 0
end
if cur ~= ARGV[2] then
  return -1
end
redis.call('SET', KEYS[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1
)lua";

// Remove, atomically. KEYS: device key, set of all devices.
// ARGV: device identifier, key prefix, expected PNSHandle ("" = any).
// Returns 1 if the device existed and was removed, 0 if it did not exist,
// -1 if its PNSHandle is no longer the expected one (kept).
constexpr std::string_view remove_script = R"lua(
local old = redis.call('GET', KEYS[1])
if not old then
  redis.call('SREM', KEYS[2], ARGV[1])
  return 0
end
if ARGV[3] ~= '' then
  local ok, rec = pcall(cjson.decode, old)
  if ok and type(rec) == 'table' and rec['PNSHandle'] ~= ARGV[3] then
    return -1
  end
end
redis.call('SREM', KEYS[2], ARGV[1])
local owner = string.match(old, '"AssociateId":(%-?%d+)')
if owner then
  redis.call('HDEL', ARGV[2] .. ':associate:' .. owner .. ':devices', ARGV[1])
end
redis.call('DEL', KEYS[1])
return 1
)lua";

// Sent with EVALSHA, falling back to EVAL after a restart or SCRIPT FLUSH.
const lua_script upsert_lua{std::string(upsert_script)};
const lua_script replace_lua{std::string(replace_script)};
const lua_script remove_lua{std::string(remove_script)};

// KEYS: associate hashes. Returns one array of device records per key.
const lua_script list_many_lua{R"lua(
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('HVALS', key) end
return out
)lua"};

using exec_result = std::tuple<error_code, redis_reply>;

boost::asio::awaitable<exec_result> run(redis_client& redis, std::vector<std::string> args) {
  co_return co_await redis.async_exec(std::move(args), boost::asio::as_tuple(boost::asio::use_awaitable));
}

// Explicit, as result<bool> cannot tell an error_code from a bool.
template <typename T>
boost::system::result<T> failure(error_code ec) {
  return boost::system::result<T>(boost::system::in_place_error, ec);
}
template <typename T, typename Enum>
boost::system::result<T> failure(Enum e) {
  return failure<T>(make_error_code(e));
}

// What decode_device_record accepts: a record that could not be read back
// would silently drop out of its owner's list, so it is refused up front.
bool storable(const device_info& d) {
  return !d.device_identifier.empty() && d.device_identifier.size() <= max_device_identifier_size &&
         d.pns_handle.size() <= max_pns_handle_size && d.device_name.size() <= max_device_text_size &&
         d.pocket_version.size() <= max_device_text_size && d.language.size() <= max_device_text_size &&
         d.os_version.size() <= max_device_text_size && d.subscriptions.size() <= max_device_tags &&
         std::none_of(d.subscriptions.begin(), d.subscriptions.end(), [](const std::string& t) { return t.size() > max_tag_size; });
}

bool parse_int64(std::string_view text, std::int64_t& out) {
  auto v = parse_integer<std::int64_t>(text);
  if (v) out = *v;
  return v.has_value();
}

const json::string* string_field(const json::object& o, std::string_view key, std::size_t max_size, bool& ok) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return nullptr;
  const json::string* s = it->value().if_string();
  if (!s || s->size() > max_size) ok = false;
  return s;
}

std::optional<std::int64_t> int_field(const json::object& o, std::string_view key, bool& ok) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::nullopt;
  const json::value& v = it->value();
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return static_cast<std::int64_t>(v.get_uint64());
  ok = false;
  return std::nullopt;
}

}  // namespace

std::string encode_device_record(const device_info& device) {
  json::object o;
  o["DeviceName"] = device.device_name;
  o["DeviceIdentifier"] = device.device_identifier;
  o["PocketVersion"] = device.pocket_version;
  o["Language"] = device.language;
  o["PNSHandle"] = device.pns_handle;
  o["Platform"] = to_string(device.platform);
  o["OSVersion"] = device.os_version;
  o["TimeZoneId"] = device.time_zone_id;
  o["AssociateId"] = device.associate_id;
  o["RegisteredAt"] = device.registered_at_ms;
  if (device.created_at_ms) o["CreatedAt"] = device.created_at_ms;
  if (device.tags) {
    json::array tags;
    for (const auto& t : *device.tags) tags.emplace_back(t);
    o["Tags"] = std::move(tags);
  }
  if (!device.user_id.empty()) o["UserId"] = device.user_id;
  if (!device.phone_number.empty()) o["PhoneNumber"] = device.phone_number;
  if (!device.app_id.empty()) o["AppId"] = device.app_id;
  if (!device.user_agent.empty()) o["UserAgent"] = device.user_agent;
  if (!device.subscriptions.empty()) {
    json::array subs;
    for (const auto& t : device.subscriptions) subs.emplace_back(t);
    o["Subscriptions"] = std::move(subs);
  }
  return json::serialize(o);
}

std::optional<device_info> decode_device_record(const std::string& text) {
  error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::object& o = v.get_object();
  bool ok = true;
  device_info d;

  const json::string* id = string_field(o, "DeviceIdentifier", max_device_identifier_size, ok);
  if (!ok || !id || id->empty()) return std::nullopt;
  d.device_identifier = std::string(*id);

  auto text_field = [&](std::string_view key, std::size_t max_size, std::string& out) {
    if (const json::string* s = string_field(o, key, max_size, ok); s && ok) out = std::string(*s);
  };
  text_field("DeviceName", max_device_text_size, d.device_name);
  text_field("PocketVersion", max_device_text_size, d.pocket_version);
  text_field("Language", max_device_text_size, d.language);
  text_field("PNSHandle", max_pns_handle_size, d.pns_handle);
  text_field("OSVersion", max_device_text_size, d.os_version);
  if (!ok) return std::nullopt;

  std::string platform;
  text_field("Platform", max_device_text_size, platform);
  if (!ok) return std::nullopt;
  if (!platform.empty()) {
    auto p = parse_platform(platform);
    if (!p) return std::nullopt;
    d.platform = *p;
  }

  auto tz = int_field(o, "TimeZoneId", ok);
  auto owner = int_field(o, "AssociateId", ok);
  auto at = int_field(o, "RegisteredAt", ok);
  if (!ok || !owner) return std::nullopt;
  if (tz) {
    if (*tz < std::numeric_limits<std::int32_t>::min() || *tz > std::numeric_limits<std::int32_t>::max())
      return std::nullopt;
    d.time_zone_id = static_cast<std::int32_t>(*tz);
  }
  d.associate_id = *owner;
  d.registered_at_ms = at.value_or(0);
  auto created = int_field(o, "CreatedAt", ok);
  d.created_at_ms = created.value_or(0);
  if (const auto* tags = o.if_contains("Tags"); tags && tags->is_array()) {
    std::vector<std::string> list;
    for (const auto& t : tags->get_array())
      if (t.is_string() && list.size() < max_device_tags) list.emplace_back(t.get_string());
    d.tags = std::move(list);
  }
  text_field("UserId", max_device_text_size, d.user_id);
  text_field("PhoneNumber", max_device_text_size, d.phone_number);
  text_field("AppId", max_device_text_size, d.app_id);
  text_field("UserAgent", max_device_text_size, d.user_agent);
  if (const auto* subs = o.if_contains("Subscriptions"); subs && subs->is_array())
    for (const auto& t : subs->get_array())
      if (t.is_string() && d.subscriptions.size() < max_device_tags) d.subscriptions.emplace_back(t.get_string());
  if (!ok) return std::nullopt;
  return d;
}

device_registry::device_registry(std::shared_ptr<redis_client> redis, std::string key_prefix)
    : redis_(std::move(redis)), prefix_(std::move(key_prefix)) {}

std::string device_registry::device_key(const std::string& device_identifier) const {
  return prefix_ + ":device:" + device_identifier;
}

std::string device_registry::associate_key(std::int64_t associate_id) const {
  return prefix_ + ":associate:" + std::to_string(associate_id) + ":devices";
}

std::string device_registry::devices_key() const { return prefix_ + ":devices"; }

boost::asio::awaitable<boost::system::result<std::optional<std::int64_t>>> device_registry::upsert(
    const device_info& device, std::optional<std::int64_t> required_owner) {
  if (!storable(device))
    co_return failure<std::optional<std::int64_t>>(boost::system::errc::invalid_argument);
  // Braced lists are built outside co_await expressions (GCC 12 rejects
  // initializer_list temporaries inside them).
  std::vector<std::string> keys{device_key(device.device_identifier), associate_key(device.associate_id),
                                devices_key()};
  // The stored IBM subscriptions are kept by the script; the record written
  // carries none (they change only through update()).
  device_info record = device;
  record.subscriptions.clear();
  std::vector<std::string> args{device.device_identifier, encode_device_record(record),
                                std::to_string(device.associate_id), prefix_, device.tags ? "0" : "1",
                                required_owner ? std::to_string(*required_owner) : std::string(), device.pns_handle};
  auto [ec, reply] = co_await upsert_lua.run(*redis_, std::move(keys), std::move(args));
  if (ec) co_return failure<std::optional<std::int64_t>>(ec);
  if (reply.type == redis_reply::kind::nil) co_return std::optional<std::int64_t>{};
  if (reply.type == redis_reply::kind::string && reply.str == "conflict")
    co_return failure<std::optional<std::int64_t>>(boost::system::errc::operation_not_permitted);
  std::int64_t previous = 0;
  if (reply.type == redis_reply::kind::string && parse_int64(reply.str, previous))
    co_return std::optional<std::int64_t>{previous};
  co_return failure<std::optional<std::int64_t>>(redis_error::unexpected_reply);
}

namespace {

// An associate's hash values (device records), decoded and sorted by identifier;
// records that do not decode are skipped.
std::vector<device_info> decode_device_list(const redis_reply& values) {
  std::vector<device_info> devices;
  devices.reserve(values.elements.size());
  for (const auto& e : values.elements) {
    if (e.type != redis_reply::kind::string) continue;
    if (auto d = decode_device_record(e.str)) devices.push_back(std::move(*d));
  }
  std::sort(devices.begin(), devices.end(),
            [](const device_info& a, const device_info& b) { return a.device_identifier < b.device_identifier; });
  return devices;
}

}  // namespace

boost::asio::awaitable<boost::system::result<std::vector<device_info>>> device_registry::list_by_associate(
    std::int64_t associate_id) {
  std::vector<std::string> cmd{"HVALS", associate_key(associate_id)};
  auto [ec, reply] = co_await run(*redis_, std::move(cmd));
  if (ec) co_return failure<std::vector<device_info>>(ec);
  if (reply.type != redis_reply::kind::array) co_return failure<std::vector<device_info>>(redis_error::unexpected_reply);
  co_return decode_device_list(reply);
}

boost::asio::awaitable<boost::system::result<std::vector<std::vector<device_info>>>> device_registry::list_by_associates(
    const std::vector<std::int64_t>& associate_ids) {
  using lists = std::vector<std::vector<device_info>>;
  // At most 1,000 hashes per script call: an appointment for thousands of
  // associates must not become one command near redis.command_timeout.
  constexpr std::size_t max_keys = 1000;
  lists out;
  out.reserve(associate_ids.size());
  for (std::size_t b = 0; b < associate_ids.size(); b += max_keys) {
    const auto e = std::min(associate_ids.size(), b + max_keys);
    std::vector<std::string> keys;
    keys.reserve(e - b);
    for (auto i = b; i < e; ++i) keys.push_back(associate_key(associate_ids[i]));
    std::vector<std::string> no_args;
    auto [ec, reply] = co_await list_many_lua.run(*redis_, std::move(keys), std::move(no_args));
    if (ec) co_return failure<lists>(ec);
    if (reply.type != redis_reply::kind::array || reply.elements.size() != e - b) co_return failure<lists>(redis_error::unexpected_reply);
    for (const auto& values : reply.elements) out.push_back(decode_device_list(values));
  }
  co_return out;
}

boost::asio::awaitable<boost::system::result<std::optional<device_info>>> device_registry::get(
    const std::string& device_identifier) {
  std::vector<std::string> cmd{"GET", device_key(device_identifier)};
  auto [ec, reply] = co_await run(*redis_, std::move(cmd));
  if (ec) co_return failure<std::optional<device_info>>(ec);
  if (reply.type == redis_reply::kind::nil) co_return std::optional<device_info>{};
  if (reply.type != redis_reply::kind::string) co_return failure<std::optional<device_info>>(redis_error::unexpected_reply);
  auto d = decode_device_record(reply.str);
  if (!d) co_return failure<std::optional<device_info>>(redis_error::unexpected_reply);
  co_return std::optional<device_info>{std::move(*d)};
}

boost::asio::awaitable<boost::system::result<device_update>> device_registry::update(
    const std::string& device_identifier, std::function<update_step(device_info&)> change) {
  // Optimistic: read, change, compare-and-set; a record that changed in
  // between (a re-registration, another update) is read and changed again.
  // Bounded retries.
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::vector<std::string> get{"GET", device_key(device_identifier)};
    auto [ec, reply] = co_await run(*redis_, std::move(get));
    if (ec) co_return failure<device_update>(ec);
    if (reply.type == redis_reply::kind::nil) co_return device_update{};
    if (reply.type != redis_reply::kind::string) co_return failure<device_update>(redis_error::unexpected_reply);
    auto before = decode_device_record(reply.str);
    if (!before) co_return failure<device_update>(redis_error::unexpected_reply);
    device_info after = *before;
    const update_step step = change(after);
    if (step != update_step::write) co_return device_update{std::move(before), std::move(after), step};
    after.device_identifier = before->device_identifier;
    after.associate_id = before->associate_id;  // moving a device is upsert's job (it keeps the indexes)
    if (!storable(after)) co_return failure<device_update>(boost::system::errc::invalid_argument);
    std::vector<std::string> keys{device_key(device_identifier), associate_key(before->associate_id)};
    std::vector<std::string> args{device_identifier, reply.str, encode_device_record(after)};
    auto [ec2, r2] = co_await replace_lua.run(*redis_, std::move(keys), std::move(args));
    if (ec2) co_return failure<device_update>(ec2);
    if (r2.type != redis_reply::kind::integer) co_return failure<device_update>(redis_error::unexpected_reply);
    if (r2.integer == 1) co_return device_update{std::move(before), std::move(after), update_step::write};
    if (r2.integer == 0) co_return device_update{};
  }
  co_return failure<device_update>(boost::system::errc::resource_unavailable_try_again);
}

boost::asio::awaitable<boost::system::result<set_tags_outcome>> device_registry::set_tags(
    const std::string& device_identifier, std::vector<std::string> tags, std::optional<std::int64_t> required_owner) {
  if (tags.size() > max_device_tags ||
      std::any_of(tags.begin(), tags.end(), [](const std::string& t) { return t.size() > max_tag_size; }))
    co_return failure<set_tags_outcome>(boost::system::errc::invalid_argument);
  auto change = [&](device_info& d) {
    if (required_owner && d.associate_id != *required_owner) return update_step::abort;
    d.tags = tags;
    return update_step::write;
  };
  auto r = co_await update(device_identifier, change);
  if (!r) co_return failure<set_tags_outcome>(r.error());
  if (!r->before) co_return set_tags_outcome::not_found;
  if (r->step == update_step::abort) co_return set_tags_outcome::not_owner;
  co_return set_tags_outcome::updated;
}

boost::asio::awaitable<boost::system::result<bool>> device_registry::remove(const std::string& device_identifier) {
  std::vector<std::string> keys{device_key(device_identifier), devices_key()};
  std::vector<std::string> args{device_identifier, prefix_, ""};
  auto [ec, reply] = co_await remove_lua.run(*redis_, std::move(keys), std::move(args));
  if (ec) co_return failure<bool>(ec);
  if (reply.type != redis_reply::kind::integer) co_return failure<bool>(redis_error::unexpected_reply);
  co_return reply.integer == 1;
}

boost::asio::awaitable<boost::system::result<remove_outcome>> device_registry::remove_if_token(const std::string& device_identifier,
                                                                                                const std::string& pns_handle) {
  std::vector<std::string> keys{device_key(device_identifier), devices_key()};
  std::vector<std::string> args{device_identifier, prefix_, pns_handle};
  auto [ec, reply] = co_await remove_lua.run(*redis_, std::move(keys), std::move(args));
  if (ec) co_return failure<remove_outcome>(ec);
  if (reply.type != redis_reply::kind::integer) co_return failure<remove_outcome>(redis_error::unexpected_reply);
  if (reply.integer == 1) co_return remove_outcome::removed;
  if (reply.integer == 0) co_return remove_outcome::not_found;
  co_return remove_outcome::token_changed;
}

boost::asio::awaitable<boost::system::result<std::int64_t>> device_registry::count() {
  std::vector<std::string> cmd{"SCARD", devices_key()};
  auto [ec, reply] = co_await run(*redis_, std::move(cmd));
  if (ec) co_return failure<std::int64_t>(ec);
  if (reply.type != redis_reply::kind::integer) co_return failure<std::int64_t>(redis_error::unexpected_reply);
  co_return reply.integer;
}

}  // namespace herald
