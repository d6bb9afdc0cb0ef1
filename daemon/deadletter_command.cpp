// `herald deadletter list|show|purge`: read and trim the dead-letter stream
// (<prefix>:deadletter) that the broker writes when a delivery cannot be
// made (permanent rejection, too late, processing failed too often).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "daemon/commands.hpp"
#include "runtime/log.hpp"
#include "store/lua_script.hpp"
#include "store/redis_client.hpp"

namespace herald {

namespace asio = boost::asio;

namespace {

constexpr const char* deadletter_usage =
    "usage: herald deadletter list --config FILE [--since DURATION] [--reason TEXT] [--limit N]\n"
    "       herald deadletter show --config FILE ID\n"
    "       herald deadletter purge --config FILE --before DURATION|ID\n"
    "  DURATION is an age (30m, 12h, 7d); ID a stream entry id as list prints it\n";

struct deadletter_options {
  std::string action;  // list | show | purge
  std::string config_path = "config/herald.yaml";
  std::optional<millis> since;
  std::string reason;
  std::size_t limit = 100;
  std::string id;      // show
  std::string before;  // purge
};

struct stream_entry {
  std::string id;
  std::vector<std::pair<std::string, std::string>> fields;
  std::string field(std::string_view name) const {
    for (const auto& [k, v] : fields)
      if (k == name) return v;
    return {};
  }
};

bool is_stream_id(const std::string& text) {
  const auto dash = text.find('-');
  const auto digits = [](std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }); };
  if (dash == std::string::npos) return digits(text);
  return digits(std::string_view(text).substr(0, dash)) && digits(std::string_view(text).substr(dash + 1));
}

std::optional<std::string> parse_deadletter(const std::vector<std::string>& args, deadletter_options& out) {
  if (args.size() < 2) return "missing action";
  out.action = args[1];
  if (out.action != "list" && out.action != "show" && out.action != "purge") return "unknown action " + out.action;
  for (std::size_t i = 2; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a == "--config" || a == "--since" || a == "--reason" || a == "--limit" || a == "--before") {
      if (i + 1 >= args.size()) return a + " needs a value";
      const auto& v = args[++i];
      if (a == "--config") {
        out.config_path = v;
      } else if (a == "--since") {
        try {
          out.since = parse_duration(v);
        } catch (const std::invalid_argument& e) {
          return "--since: " + std::string(e.what());
        }
      } else if (a == "--reason") {
        out.reason = v;
      } else if (a == "--limit") {
        if (!is_stream_id(v) || v.find('-') != std::string::npos || v.size() > 6 || std::stoul(v) == 0) return "--limit must be 1 to 999999";
        out.limit = std::stoul(v);
      } else {
        out.before = v;
      }
    } else if (out.action == "show" && out.id.empty() && !a.starts_with("--")) {
      out.id = a;
    } else {
      return "unknown option " + a;
    }
  }
  if (out.action == "show" && !is_stream_id(out.id)) return "show needs an entry ID such as 1764500000000-0";
  if (out.action == "purge" && out.before.empty()) return "purge needs --before DURATION or --before ID";
  return std::nullopt;
}

// The stream id's millisecond part as UTC "2026-11-30 12:00:00".
std::string entry_time(const std::string& id) {
  const auto ms = std::stoll(id.substr(0, id.find('-')));
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::vector<stream_entry> decode_entries(const redis_reply& reply) {
  std::vector<stream_entry> out;
  for (const auto& e : reply.elements) {
    if (e.elements.size() != 2) continue;
    stream_entry entry;
    entry.id = e.elements[0].str;
    const auto& kv = e.elements[1].elements;
    for (std::size_t i = 0; i + 1 < kv.size(); i += 2) entry.fields.emplace_back(kv[i].str, kv[i + 1].str);
    out.push_back(std::move(entry));
  }
  return out;
}

std::string or_dash(const std::string& s) { return s.empty() ? "-" : s; }

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

asio::awaitable<int> run_deadletter(redis_client& redis, const std::string& key, const deadletter_options& o) {
  if (o.action == "show") {
    // Named argv vectors: GCC 12 miscompiles braced string lists inside co_await.
    std::vector<std::string> cmd{"XRANGE", key, o.id, o.id};
    auto [ec, reply] = co_await redis_command(redis, std::move(cmd));
    if (ec) {
      std::fprintf(stderr, "herald deadletter: %s%s%s\n", ec.message().c_str(), reply.str.empty() ? "" : ": ", reply.str.c_str());
      co_return exit_failure;
    }
    const auto entries = decode_entries(reply);
    if (entries.empty()) {
      std::fprintf(stderr, "herald deadletter: no entry %s in %s\n", o.id.c_str(), key.c_str());
      co_return exit_failure;
    }
    std::printf("id: %s\ntime: %s UTC\n", entries[0].id.c_str(), entry_time(entries[0].id).c_str());
    for (const auto& [k, v] : entries[0].fields) std::printf("%s: %s\n", k.c_str(), v.c_str());
    co_return exit_ok;
  }
  if (o.action == "purge") {
    std::string min_id = o.before;
    if (!is_stream_id(min_id)) {
      millis age{};
      try {
        age = parse_duration(o.before);
      } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "herald deadletter: --before: %s\n", e.what());
        co_return exit_bad_config;
      }
      min_id = std::to_string(now_ms() - age.count()) + "-0";
    }
    std::vector<std::string> cmd{"XTRIM", key, "MINID", min_id};
    auto [ec, reply] = co_await redis_command(redis, std::move(cmd));
    if (ec) {
      std::fprintf(stderr, "herald deadletter: %s%s%s\n", ec.message().c_str(), reply.str.empty() ? "" : ": ", reply.str.c_str());
      co_return exit_failure;
    }
    std::printf("purged %lld entries older than %s from %s\n", static_cast<long long>(reply.integer), min_id.c_str(), key.c_str());
    co_return exit_ok;
  }
  // list: newest first, in pages, filtered here (bounded by the stream's MAXLEN).
  const std::string oldest = o.since ? std::to_string(now_ms() - o.since->count()) + "-0" : "-";
  std::string newest = "+";
  std::vector<stream_entry> shown;
  std::size_t total = 0;
  while (shown.size() < o.limit) {
    std::vector<std::string> cmd{"XREVRANGE", key, newest, oldest, "COUNT", "500"};
    auto [ec, reply] = co_await redis_command(redis, std::move(cmd));
    if (ec) {
      std::fprintf(stderr, "herald deadletter: %s%s%s\n", ec.message().c_str(), reply.str.empty() ? "" : ": ", reply.str.c_str());
      co_return exit_failure;
    }
    auto page = decode_entries(reply);
    if (page.empty()) break;
    newest = "(" + page.back().id;  // exclusive: the next page continues below this one
    for (auto& e : page) {
      ++total;
      if (!o.reason.empty() && e.field("reason").find(o.reason) == std::string::npos) continue;
      if (shown.size() < o.limit) shown.push_back(std::move(e));
    }
  }
  std::printf("%-16s %-19s %-11s %-14s %-24s %-6s %s\n", "ID", "TIME (UTC)", "KIND", "ITEM", "DEVICE", "STATUS", "REASON");
  for (const auto& e : shown) {
    std::printf("%-16s %-19s %-11s %-14s %-24s %-6s %s\n", e.id.c_str(), entry_time(e.id).c_str(), or_dash(e.field("kind")).c_str(),
                or_dash(e.field("id")).c_str(), or_dash(e.field("device")).c_str(), or_dash(e.field("status")).c_str(),
                or_dash(e.field("reason")).c_str());
  }
  std::fprintf(stderr, "%zu entries shown (%zu examined) from %s\n", shown.size(), total, key.c_str());
  co_return exit_ok;
}

}  // namespace

int command_deadletter(const std::vector<std::string>& args) {
  deadletter_options opts;
  if (auto problem = parse_deadletter(args, opts)) {
    std::fprintf(stderr, "herald deadletter: %s\n%s", problem->c_str(), deadletter_usage);
    return exit_bad_config;
  }
  config cfg;
  try {
    cfg = load_config_file(opts.config_path);
  } catch (const config_error& e) {
    std::fprintf(stderr, "herald: bad configuration: %s\n", e.what());
    return exit_bad_config;
  }
  logger log(log_level::warning, stderr, false, parse_log_format(cfg.log.format).value_or(log_format::text));
  asio::io_context ioc;
  auto redis = redis_client::create(ioc.get_executor(), cfg.redis, log, nullptr);
  const std::string key = cfg.redis.key_prefix + ":deadletter";
  int rc = exit_failure;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        co_await async_start_redis(*redis);
        if (!redis->connected()) {
          std::fprintf(stderr, "herald deadletter: Redis unavailable: %s\n", redis->last_error().c_str());
        } else {
          rc = co_await run_deadletter(*redis, key, opts);
        }
        std::fflush(stdout);
        redis->stop();
      },
      [&](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            std::fprintf(stderr, "herald deadletter: %s\n", ex.what());
          }
          rc = exit_failure;
        }
        ioc.stop();
      });
  ioc.run();
  return rc;
}

}  // namespace herald
