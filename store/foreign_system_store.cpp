#include "store/foreign_system_store.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <initializer_list>
#include <limits>
#include <variant>

#include "store/lua_script.hpp"

namespace herald {

namespace asio = boost::asio;
namespace json = boost::json;
using boost::system::error_code;

namespace {

// Key/field components: optionally lowercased, with '%', ':' and control
// characters percent-encoded so that the ':' separators stay unambiguous.
std::string component(std::string_view s, bool fold_case) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (fold_case) c = static_cast<unsigned char>(std::tolower(c));
    if (c == '%' || c == ':' || c < 0x20 || c == 0x7f) {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

// Device write checks shared by the scripts: the device's hash field must
// exist and, when ARGV owner is not '', its AssociateId must match (read with
// a pattern, as in device_registry: no cjson number rounding).
#define HERALD_FS_DEVICE_CHECK(owner_arg)                                             \
  "local dev = redis.call('HGET', KEYS[1], ARGV[1])\n"                                \
  "if not dev then return {0} end\n"                                                  \
  "if ARGV[" owner_arg "] ~= '' and string.match(dev, '\"AssociateId\":(%-?%d+)') ~= ARGV[" owner_arg "] then return {-1} end\n"

// KEYS: devices hash, keys hash. ARGV: device field, owner.
const lua_script& delete_device_script() {
  static const lua_script s(HERALD_FS_DEVICE_CHECK("2") "redis.call('HDEL', KEYS[1], ARGV[1])\nredis.call('DEL', KEYS[2])\nreturn {1}\n");
  return s;
}

// KEYS: devices hash, keys hash. ARGV: device field, key field, new record,
// owner, max keys. An update keeps CreatedDate/CreatedBy (cjson only sees
// strings and the int32 RecordId here, so nothing is rounded).
const lua_script& save_key_script() {
  static const lua_script s(HERALD_FS_DEVICE_CHECK("4") R"lua(
local old = redis.call('HGET', KEYS[2], ARGV[2])
local rec = ARGV[3]
if old then
  local ok, o = pcall(cjson.decode, old)
  if ok and type(o) == 'table' then
    local n = cjson.decode(rec)
    n.CreatedDate = o.CreatedDate
    n.CreatedBy = o.CreatedBy
    rec = cjson.encode(n)
  end
elseif redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[5]) then
  return {-2}
end
redis.call('HSET', KEYS[2], ARGV[2], rec)
return {1, rec}
)lua");
  return s;
}

// KEYS: devices hash, keys hash. ARGV: device field, key field, owner.
const lua_script& delete_key_script() {
  static const lua_script s(HERALD_FS_DEVICE_CHECK("3") "redis.call('HDEL', KEYS[2], ARGV[2])\nreturn {1}\n");
  return s;
}
#undef HERALD_FS_DEVICE_CHECK

template <typename T>
boost::system::result<T> failure(error_code ec) {
  return boost::system::result<T>(boost::system::in_place_error, ec);
}
template <typename T>
boost::system::result<T> unexpected() {
  return failure<T>(make_error_code(redis_error::unexpected_reply));
}

foreign_write write_outcome(const redis_reply& r) {
  if (r.type != redis_reply::kind::array || r.elements.empty() || r.elements[0].type != redis_reply::kind::integer)
    return foreign_write::full;  // unreachable with these scripts; callers treat it as an error
  switch (r.elements[0].integer) {
    case 1: return foreign_write::done;
    case 0: return foreign_write::no_device;
    case -1: return foreign_write::not_owner;
    default: return foreign_write::full;
  }
}

bool valid_reply(const redis_reply& r) {
  return r.type == redis_reply::kind::array && !r.elements.empty() && r.elements[0].type == redis_reply::kind::integer &&
         r.elements[0].integer >= -2 && r.elements[0].integer <= 1;
}

std::optional<std::int64_t> int_of(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return std::nullopt;
  const auto& v = it->value();
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return static_cast<std::int64_t>(v.get_uint64());
  if (v.is_double() && v.get_double() == static_cast<double>(static_cast<std::int64_t>(v.get_double())) && std::abs(v.get_double()) < 9e15)
    return static_cast<std::int64_t>(v.get_double());
  return std::nullopt;
}

std::string str_of(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return {};
  return std::string(it->value().get_string());
}

std::optional<json::object> parse_object(const std::string& text) {
  error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

// One member of a stored record: its JSON name and the struct member. Numbers
// are required when decoding (a record without them is not one), strings
// default to "".
template <class T>
struct record_field {
  std::string_view name;
  std::variant<std::string T::*, std::int64_t T::*, std::int32_t T::*> member;
};
template <class T>
using record_fields = std::initializer_list<record_field<T>>;

// The stored JSON of each record, members in this order.
const record_fields<foreign_device> device_fields = {
    {"ForeignDeviceId", &foreign_device::id},       {"ForeignAppId", &foreign_device::app_id},
    {"Name", &foreign_device::name},                {"DeviceIdentifier", &foreign_device::device_identifier},
    {"Application", &foreign_device::application},  {"AssociateId", &foreign_device::associate_id},
    {"CreatedDate", &foreign_device::created_date}, {"UpdatedDate", &foreign_device::updated_date},
    {"CreatedBy", &foreign_device::created_by},     {"UpdatedBy", &foreign_device::updated_by}};
const record_fields<foreign_key> key_fields = {
    {"Key", &foreign_key::key},                  {"Value", &foreign_key::value},
    {"RecordId", &foreign_key::record_id},       {"TableName", &foreign_key::table_name},
    {"CreatedDate", &foreign_key::created_date}, {"UpdatedDate", &foreign_key::updated_date},
    {"CreatedBy", &foreign_key::created_by},     {"UpdatedBy", &foreign_key::updated_by}};

template <class T>
std::string encode_record(const T& record, record_fields<T> fields) {
  json::object o;
  for (const auto& f : fields) std::visit([&](auto member) { o[f.name] = record.*member; }, f.member);
  return json::serialize(o);
}

template <class T>
bool decode_member(const json::object& o, std::string_view name, T& record, std::string T::*member) {
  record.*member = str_of(o, name);
  return true;
}
template <class T, class N>
bool decode_member(const json::object& o, std::string_view name, T& record, N T::*member) {
  auto n = int_of(o, name);
  if (!n || *n < std::numeric_limits<N>::min() || *n > std::numeric_limits<N>::max()) return false;
  record.*member = static_cast<N>(*n);
  return true;
}

template <class T>
std::optional<T> decode_record(const std::string& text, record_fields<T> fields) {
  auto o = parse_object(text);
  if (!o) return std::nullopt;
  T record;
  for (const auto& f : fields) {
    if (!std::visit([&](auto member) { return decode_member(*o, f.name, record, member); }, f.member)) return std::nullopt;
  }
  return record;
}

}  // namespace

std::string encode_foreign_device(const foreign_device& d) { return encode_record(d, device_fields); }
std::optional<foreign_device> decode_foreign_device(const std::string& text) { return decode_record(text, device_fields); }
std::string encode_foreign_key(const foreign_key& k) { return encode_record(k, key_fields); }
std::optional<foreign_key> decode_foreign_key(const std::string& text) { return decode_record(text, key_fields); }

foreign_system_store::foreign_system_store(std::shared_ptr<redis_client> redis, std::string key_prefix)
    : redis_(std::move(redis)), prefix_(std::move(key_prefix)) {}

std::string foreign_system_store::apps_key() const { return prefix_ + ":fs:apps"; }
std::string foreign_system_store::devices_key(const std::string& application) const {
  return prefix_ + ":fs:app:" + component(application, true) + ":devices";
}
std::string foreign_system_store::keys_key(const foreign_device_ref& ref) const {
  return prefix_ + ":fs:app:" + component(ref.application, true) + ":keys:" + device_field(ref);
}
std::string foreign_system_store::device_field(const foreign_device_ref& ref) {
  return component(ref.device_name, true) + ":" + component(ref.device_identifier, false);
}
std::string foreign_system_store::key_field(const std::string& key_name, const std::string& table_name, std::int32_t record_id) {
  return component(table_name, true) + ":" + std::to_string(table_name.empty() ? 0 : record_id) + ":" + component(key_name, true);
}

asio::awaitable<boost::system::result<foreign_write_result<foreign_device>>> foreign_system_store::add_device(
    const foreign_device_ref& ref, std::int64_t associate_id, const std::string& by, const std::string& now) {
  using R = foreign_write_result<foreign_device>;
  auto existing = co_await get_device(ref);
  if (!existing) co_return failure<R>(existing.error());
  if (*existing) co_return R{foreign_write::done, std::move(**existing)};
  {
    std::vector<std::string> cmd1{"HLEN", devices_key(ref.application)};
    auto [ec, n] = co_await redis_command(*redis_, std::move(cmd1));
    if (ec) co_return failure<R>(ec);
    if (n.type == redis_reply::kind::integer && n.integer >= static_cast<std::int64_t>(max_foreign_devices_per_app))
      co_return R{foreign_write::full, {}};
  }
  // Ids come from INCR before the HSETNX that claims the name: two racing
  // adds both draw an id, one wins, the other reads the winner (ids may skip).
  auto app_field = component(ref.application, true);
  std::int64_t app_id = 0;
  for (int attempt = 0; attempt < 2 && app_id == 0; ++attempt) {
    std::vector<std::string> cmd2{"HGET", apps_key(), app_field};
    auto [ec, app] = co_await redis_command(*redis_, std::move(cmd2));
    if (ec) co_return failure<R>(ec);
    if (app.type == redis_reply::kind::string) {
      auto o = parse_object(app.str);
      auto id = o ? int_of(*o, "ForeignAppId") : std::nullopt;
      if (!id) co_return unexpected<R>();
      app_id = *id;
      break;
    }
    std::vector<std::string> cmd3{"INCR", prefix_ + ":fs:next_app_id"};
    auto [ec2, next] = co_await redis_command(*redis_, std::move(cmd3));
    if (ec2) co_return failure<R>(ec2);
    json::object rec;
    rec["ForeignAppId"] = next.integer;
    rec["Name"] = ref.application;
    rec["CreatedDate"] = now;
    rec["CreatedBy"] = by;
    std::vector<std::string> cmd4{"HSETNX", apps_key(), app_field, json::serialize(rec)};
    auto [ec3, set] = co_await redis_command(*redis_, std::move(cmd4));
    if (ec3) co_return failure<R>(ec3);
    if (set.integer == 1) app_id = next.integer;
  }
  if (app_id == 0) co_return unexpected<R>();
  std::vector<std::string> cmd5{"INCR", prefix_ + ":fs:next_device_id"};
  auto [ec4, next_dev] = co_await redis_command(*redis_, std::move(cmd5));
  if (ec4) co_return failure<R>(ec4);
  foreign_device d;
  d.id = next_dev.integer;
  d.app_id = app_id;
  d.name = ref.device_name;
  d.device_identifier = ref.device_identifier;
  d.application = ref.application;
  d.associate_id = associate_id;
  d.created_date = d.updated_date = now;
  d.created_by = d.updated_by = by;
  std::vector<std::string> cmd6{"HSETNX", devices_key(ref.application), device_field(ref), encode_foreign_device(d)};
  auto [ec5, set] = co_await redis_command(*redis_, std::move(cmd6));
  if (ec5) co_return failure<R>(ec5);
  if (set.integer == 1) co_return R{foreign_write::done, std::move(d)};
  auto winner = co_await get_device(ref);
  if (!winner) co_return failure<R>(winner.error());
  if (!*winner) co_return unexpected<R>();
  co_return R{foreign_write::done, std::move(**winner)};
}

asio::awaitable<boost::system::result<std::optional<foreign_device>>> foreign_system_store::get_device(const foreign_device_ref& ref) {
  using R = std::optional<foreign_device>;
  std::vector<std::string> cmd7{"HGET", devices_key(ref.application), device_field(ref)};
  auto [ec, r] = co_await redis_command(*redis_, std::move(cmd7));
  if (ec) co_return failure<R>(ec);
  if (r.type == redis_reply::kind::nil) co_return R{};
  if (r.type != redis_reply::kind::string) co_return unexpected<R>();
  auto d = decode_foreign_device(r.str);
  if (!d) co_return unexpected<R>();
  co_return R{std::move(*d)};
}

asio::awaitable<boost::system::result<foreign_write>> foreign_system_store::delete_device(const foreign_device_ref& ref,
                                                                                         std::optional<std::int64_t> owner) {
  std::vector<std::string> keys{devices_key(ref.application), keys_key(ref)};
  std::vector<std::string> args{device_field(ref), owner ? std::to_string(*owner) : std::string()};
  auto [ec, r] = co_await delete_device_script().run(*redis_, std::move(keys), std::move(args));
  if (ec) co_return failure<foreign_write>(ec);
  if (!valid_reply(r)) co_return unexpected<foreign_write>();
  co_return write_outcome(r);
}

asio::awaitable<boost::system::result<std::vector<foreign_device>>> foreign_system_store::application_devices(
    const std::string& application) {
  using R = std::vector<foreign_device>;
  std::vector<std::string> cmd8{"HVALS", devices_key(application)};
  auto [ec, r] = co_await redis_command(*redis_, std::move(cmd8));
  if (ec) co_return failure<R>(ec);
  if (r.type != redis_reply::kind::array) co_return unexpected<R>();
  R out;
  for (const auto& e : r.elements)
    if (e.type == redis_reply::kind::string)
      if (auto d = decode_foreign_device(e.str)) out.push_back(std::move(*d));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  co_return out;
}

asio::awaitable<boost::system::result<std::optional<foreign_key>>> foreign_system_store::get_key(const foreign_device_ref& ref,
                                                                                                const std::string& key_name,
                                                                                                const std::string& table_name,
                                                                                                std::int32_t record_id) {
  using R = std::optional<foreign_key>;
  std::vector<std::string> cmd9{"HGET", keys_key(ref), key_field(key_name, table_name, record_id)};
  auto [ec, r] = co_await redis_command(*redis_, std::move(cmd9));
  if (ec) co_return failure<R>(ec);
  if (r.type == redis_reply::kind::nil) co_return R{};
  if (r.type != redis_reply::kind::string) co_return unexpected<R>();
  auto k = decode_foreign_key(r.str);
  if (!k) co_return unexpected<R>();
  co_return R{std::move(*k)};
}

asio::awaitable<boost::system::result<std::vector<foreign_key>>> foreign_system_store::device_keys(const foreign_device_ref& ref) {
  using R = std::vector<foreign_key>;
  std::vector<std::string> cmd10{"HVALS", keys_key(ref)};
  auto [ec, r] = co_await redis_command(*redis_, std::move(cmd10));
  if (ec) co_return failure<R>(ec);
  if (r.type != redis_reply::kind::array) co_return unexpected<R>();
  R out;
  for (const auto& e : r.elements)
    if (e.type == redis_reply::kind::string)
      if (auto k = decode_foreign_key(e.str)) out.push_back(std::move(*k));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.table_name, a.record_id, a.key) < std::tie(b.table_name, b.record_id, b.key);
  });
  co_return out;
}

asio::awaitable<boost::system::result<foreign_write_result<foreign_key>>> foreign_system_store::save_key(
    const foreign_device_ref& ref, const foreign_key& key, std::optional<std::int64_t> owner) {
  using R = foreign_write_result<foreign_key>;
  foreign_key k = key;
  if (k.table_name.empty()) k.record_id = 0;
  std::vector<std::string> keys{devices_key(ref.application), keys_key(ref)};
  std::vector<std::string> args{device_field(ref), key_field(k.key, k.table_name, k.record_id), encode_foreign_key(k),
                                owner ? std::to_string(*owner) : std::string(), std::to_string(max_foreign_keys_per_device)};
  auto [ec, r] = co_await save_key_script().run(*redis_, std::move(keys), std::move(args));
  if (ec) co_return failure<R>(ec);
  if (!valid_reply(r)) co_return unexpected<R>();
  auto outcome = write_outcome(r);
  if (outcome != foreign_write::done) co_return R{outcome, {}};
  if (r.elements.size() < 2 || r.elements[1].type != redis_reply::kind::string) co_return unexpected<R>();
  auto stored = decode_foreign_key(r.elements[1].str);
  if (!stored) co_return unexpected<R>();
  co_return R{foreign_write::done, std::move(*stored)};
}

asio::awaitable<boost::system::result<foreign_write>> foreign_system_store::delete_key(const foreign_device_ref& ref,
                                                                                      const std::string& key_name,
                                                                                      const std::string& table_name,
                                                                                      std::int32_t record_id,
                                                                                      std::optional<std::int64_t> owner) {
  std::vector<std::string> keys{devices_key(ref.application), keys_key(ref)};
  std::vector<std::string> args{device_field(ref), key_field(key_name, table_name, record_id),
                                owner ? std::to_string(*owner) : std::string()};
  auto [ec, r] = co_await delete_key_script().run(*redis_, std::move(keys), std::move(args));
  if (ec) co_return failure<foreign_write>(ec);
  if (!valid_reply(r)) co_return unexpected<foreign_write>();
  co_return write_outcome(r);
}

}  // namespace herald
