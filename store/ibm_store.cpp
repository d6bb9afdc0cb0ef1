#include "store/ibm_store.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "store/device_registry.hpp"

namespace herald {

namespace {

using boost::system::error_code;

// KEYS: the indexes to add the device to (the first ARGV[2] keys), then the
// ones to remove it from. ARGV: deviceId, number of keys to add to.
constexpr std::string_view index_script = R"lua(
local n = tonumber(ARGV[2])
for i = 1, #KEYS do
  if i <= n then
    redis.call('ZADD', KEYS[i], 0, ARGV[1])
  else
    redis.call('ZREM', KEYS[i], ARGV[1])
  end
end
return #KEYS
)lua";

// The IBM letter of a platform (api/ibm_codec has the same mapping; the
// store cannot depend on the API library).
char letter_of(notification_platform p) {
  switch (p) {
    case notification_platform::google:
    case notification_platform::google_developer: return 'G';
    case notification_platform::microsoft: return 'W';
    case notification_platform::web: return 'B';
    default: return 'A';
  }
}

template <typename T>
boost::system::result<T> failure(error_code ec) {
  return boost::system::result<T>(boost::system::in_place_error, ec);
}

boost::asio::awaitable<std::tuple<error_code, redis_reply>> run(redis_client& redis, std::vector<std::string> args) {
  co_return co_await redis.async_exec(std::move(args), boost::asio::as_tuple(boost::asio::use_awaitable));
}

void add_unique(std::vector<std::string>& keys, std::string key) {
  if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(std::move(key));
}

}  // namespace

ibm_store::ibm_store(std::shared_ptr<redis_client> redis, std::string key_prefix, const device_registry& devices)
    : redis_(std::move(redis)), prefix_(std::move(key_prefix)), devices_(devices) {}

std::string ibm_store::app_key(const std::string& app) const { return prefix_ + ":ibm:app:" + app + ":devices"; }
std::string ibm_store::user_key(const std::string& app, const std::string& user_id) const {
  return prefix_ + ":ibm:app:" + app + ":user:" + user_id;
}
std::string ibm_store::platform_key(const std::string& app, char letter) const {
  return prefix_ + ":ibm:app:" + app + ":platform:" + std::string(1, letter);
}
std::string ibm_store::tag_key(const std::string& app, const std::string& tag) const {
  return prefix_ + ":ibm:app:" + app + ":tag:" + tag;
}

boost::asio::awaitable<boost::system::result<void>> ibm_store::index(const device_info& device,
                                                                     const std::optional<device_info>& previous) {
  std::vector<std::string> add;
  if (!device.app_id.empty()) {
    add_unique(add, app_key(device.app_id));
    add_unique(add, platform_key(device.app_id, letter_of(device.platform)));
    if (!device.user_id.empty()) add_unique(add, user_key(device.app_id, device.user_id));
    for (const auto& t : device.subscriptions) add_unique(add, tag_key(device.app_id, t));
  }
  std::vector<std::string> remove;
  if (previous && !previous->app_id.empty()) {
    const auto& p = *previous;
    auto drop = [&](std::string key) {
      if (std::find(add.begin(), add.end(), key) == add.end()) add_unique(remove, std::move(key));
    };
    drop(app_key(p.app_id));
    drop(platform_key(p.app_id, letter_of(p.platform)));
    if (!p.user_id.empty()) drop(user_key(p.app_id, p.user_id));
    for (const auto& t : p.subscriptions) drop(tag_key(p.app_id, t));
  }
  if (add.empty() && remove.empty()) co_return boost::system::result<void>{};
  std::vector<std::string> cmd{"EVAL", std::string(index_script), std::to_string(add.size() + remove.size())};
  cmd.insert(cmd.end(), add.begin(), add.end());
  cmd.insert(cmd.end(), remove.begin(), remove.end());
  cmd.push_back(device.device_identifier);
  cmd.push_back(std::to_string(add.size()));
  auto [ec, reply] = co_await run(*redis_, std::move(cmd));
  if (ec) co_return failure<void>(ec);
  co_return boost::system::result<void>{};
}

boost::asio::awaitable<boost::system::result<void>> ibm_store::unindex(const device_info& device) {
  device_info nothing;  // indexes nowhere
  co_return co_await index(nothing, std::optional<device_info>{device});
}

boost::asio::awaitable<boost::system::result<ibm_store::page>> ibm_store::range(const std::string& key,
                                                                                std::size_t offset, std::size_t count) {
  page out;
  std::vector<std::string> card{"ZCARD", key};
  auto [ec, reply] = co_await run(*redis_, std::move(card));
  if (ec) co_return failure<page>(ec);
  if (reply.type != redis_reply::kind::integer) co_return failure<page>(make_error_code(redis_error::unexpected_reply));
  out.total = static_cast<std::size_t>(reply.integer);
  if (count == 0 || offset >= out.total) co_return out;
  std::vector<std::string> cmd{"ZRANGE", key, std::to_string(offset), std::to_string(offset + count - 1)};
  auto [ec2, members] = co_await run(*redis_, std::move(cmd));
  if (ec2) co_return failure<page>(ec2);
  if (members.type != redis_reply::kind::array) co_return failure<page>(make_error_code(redis_error::unexpected_reply));
  for (auto& m : members.elements)
    if (m.type == redis_reply::kind::string) out.ids.push_back(std::move(m.str));
  co_return out;
}

boost::asio::awaitable<boost::system::result<std::vector<std::optional<device_info>>>> ibm_store::fetch(
    const std::vector<std::string>& ids) {
  using records = std::vector<std::optional<device_info>>;
  records out;
  out.reserve(ids.size());
  constexpr std::size_t chunk = 500;  // bound on one MGET's reply
  for (std::size_t i = 0; i < ids.size(); i += chunk) {
    std::vector<std::string> cmd{"MGET"};
    for (std::size_t j = i; j < std::min(ids.size(), i + chunk); ++j) cmd.push_back(devices_.device_key(ids[j]));
    auto [ec, reply] = co_await run(*redis_, std::move(cmd));
    if (ec) co_return failure<records>(ec);
    if (reply.type != redis_reply::kind::array) co_return failure<records>(make_error_code(redis_error::unexpected_reply));
    for (const auto& e : reply.elements) {
      if (e.type == redis_reply::kind::string) out.push_back(decode_device_record(e.str));
      else out.emplace_back();
    }
  }
  co_return out;
}

boost::asio::awaitable<boost::system::result<void>> ibm_store::forget(const std::string& key,
                                                                      const std::vector<std::string>& ids) {
  if (ids.empty()) co_return boost::system::result<void>{};
  std::vector<std::string> cmd{"ZREM", key};
  cmd.insert(cmd.end(), ids.begin(), ids.end());
  auto [ec, reply] = co_await run(*redis_, std::move(cmd));
  if (ec) co_return failure<void>(ec);
  co_return boost::system::result<void>{};
}

}  // namespace herald
