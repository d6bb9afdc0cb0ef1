#include "broker/redis/scripts.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "model/text.hpp"
#include "runtime/embedded_file.hpp"

namespace herald {

// Generated from broker/redis/lua/ (broker/redis/CMakeLists.txt).
std::span<const embedded_file> broker_lua_files();

namespace broker_redis {

namespace {

const lua_script& joined(std::initializer_list<std::string_view> names) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<lua_script>, std::less<>> scripts;
  std::string id;
  for (auto n : names) (id += n) += '\n';
  std::lock_guard lock(mutex);
  auto it = scripts.find(id);
  if (it != scripts.end()) return *it->second;
  std::string text;
  for (auto n : names) {
    auto file = find_embedded(broker_lua_files(), std::string(n) + ".lua");
    if (!file) throw std::logic_error("broker Lua script not compiled in: " + std::string(n));
    text += *file;
  }
  return *scripts.emplace(std::move(id), std::make_unique<lua_script>(std::move(text))).first->second;
}

}  // namespace

const lua_script& script(std::string_view name) { return joined({name}); }
const lua_script& script(std::string_view prelude, std::string_view name) { return joined({prelude, name}); }
const lua_script& script(std::string_view prelude1, std::string_view prelude2, std::string_view name) {
  return joined({prelude1, prelude2, name});
}

boost::system::error_code unexpected() { return make_error_code(redis_error::unexpected_reply); }

std::optional<std::int64_t> reply_int(const std::string& s) {
  if (auto v = parse_integer<std::int64_t>(s)) return v;
  // Redis scores may come back as "1.7e12" or with a fraction.
  try {
    return static_cast<std::int64_t>(std::stod(s));
  } catch (...) {
    return std::nullopt;
  }
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

}  // namespace broker_redis
}  // namespace herald
