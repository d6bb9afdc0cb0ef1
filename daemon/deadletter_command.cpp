// `herald deadletter list|show|replay|purge`: the dead-letter stream
// (<prefix>:deadletter) that the broker writes when a delivery cannot be
// made (permanent rejection, too late, processing failed too often), through
// broker/redis/dead_letters (the same code as the admin REST routes).
#include <boost/asio/awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "broker/redis/dead_letters.hpp"
#include "config/config.hpp"
#include "daemon/commands.hpp"
#include "runtime/log.hpp"
#include "store/redis_client.hpp"

namespace herald {

namespace asio = boost::asio;

namespace {

constexpr const char* deadletter_usage =
    "usage: herald deadletter list --config FILE [--since DURATION] [--reason TEXT] [--app APP] [--limit N]\n"
    "       herald deadletter show --config FILE ID\n"
    "       herald deadletter replay --config FILE (ID | --all-matching [--since DURATION] [--reason TEXT] [--app APP] [--limit N])\n"
    "       herald deadletter purge --config FILE --before DURATION|ID\n"
    "  DURATION is an age (30m, 12h, 7d); ID a stream entry id as list prints it; --app the application id\n"
    "  (\"default\" for the default application). A replayed entry is queued once as a retry and leaves the stream.\n";

struct deadletter_options {
  std::string action;  // list | show | replay | purge
  std::string config_path = "config/herald.yaml";
  std::optional<millis> since;
  dead_letter_filter filter;
  std::size_t limit = 100;
  bool all_matching = false;  // replay
  std::string id;             // show, replay
  std::string before;         // purge
};

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::optional<std::string> parse_deadletter(const std::vector<std::string>& args, deadletter_options& out) {
  if (args.size() < 2) return "missing action";
  out.action = args[1];
  if (out.action != "list" && out.action != "show" && out.action != "replay" && out.action != "purge") return "unknown action " + out.action;
  const bool filters = out.action == "list" || out.action == "replay";
  for (std::size_t i = 2; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a == "--all-matching" && out.action == "replay") {
      out.all_matching = true;
    } else if (a == "--config" || (filters && (a == "--since" || a == "--reason" || a == "--app" || a == "--limit")) ||
               (out.action == "purge" && a == "--before")) {
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
        out.filter.reason = v;
      } else if (a == "--app") {
        out.filter.app = v;
      } else if (a == "--limit") {
        if (v.empty() || v.size() > 6 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }) || std::stoul(v) == 0)
          return "--limit must be 1 to 999999";
        out.limit = std::stoul(v);
      } else {
        out.before = v;
      }
    } else if ((out.action == "show" || out.action == "replay") && out.id.empty() && !a.starts_with("--")) {
      out.id = a;
    } else {
      return "unknown option " + a;
    }
  }
  if (out.action == "show" && !is_stream_id(out.id)) return "show needs an entry ID such as 1764500000000-0";
  if (out.action == "replay" && out.all_matching == !out.id.empty()) return "replay needs an entry ID or --all-matching";
  if (out.action == "replay" && !out.all_matching && !is_stream_id(out.id)) return "replay needs an entry ID such as 1764500000000-0";
  if (out.action == "replay" && !out.all_matching && (out.since || !out.filter.reason.empty() || !out.filter.app.empty()))
    return "filters go with --all-matching";
  if (out.action == "purge" && out.before.empty()) return "purge needs --before DURATION or --before ID";
  if (out.action == "purge" && !purge_min_id(out.before, 0)) return "--before must be an age (7d) or an entry ID";
  return std::nullopt;
}

// The stream id's millisecond part as UTC "2026-11-30 12:00:00".
std::string entry_time(const std::string& id) {
  const auto ms = stream_id_ms(id).value_or(0);
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string or_dash(const std::string& s) { return s.empty() ? "-" : s; }

void print_error(const boost::system::error_code& ec) { std::fprintf(stderr, "herald deadletter: %s\n", ec.message().c_str()); }

asio::awaitable<int> run_deadletter(dead_letter_store& store, deadletter_options o) {
  if (o.since) o.filter.since_ms = now_ms() - o.since->count();
  const auto& key = store.stream_key();
  if (o.action == "show") {
    auto entry = co_await store.get(o.id);
    if (!entry) {
      print_error(entry.error());
      co_return exit_failure;
    }
    if (!*entry) {
      std::fprintf(stderr, "herald deadletter: no entry %s in %s\n", o.id.c_str(), key.c_str());
      co_return exit_failure;
    }
    std::printf("id: %s\ntime: %s UTC\n", (*entry)->id.c_str(), entry_time((*entry)->id).c_str());
    for (const auto& [k, v] : (*entry)->fields) std::printf("%s: %s\n", k.c_str(), v.c_str());
    co_return exit_ok;
  }
  if (o.action == "purge") {
    const auto min_id = *purge_min_id(o.before, now_ms());
    auto n = co_await store.purge(min_id);
    if (!n) {
      print_error(n.error());
      co_return exit_failure;
    }
    std::printf("purged %lld entries older than %s from %s\n", static_cast<long long>(*n), min_id.c_str(), key.c_str());
    co_return exit_ok;
  }
  if (o.action == "replay") {
    std::vector<std::string> ids;
    if (o.all_matching) {
      auto page = co_await store.list(o.filter, o.limit);
      if (!page) {
        print_error(page.error());
        co_return exit_failure;
      }
      for (const auto& e : page->entries) ids.push_back(e.id);
    } else {
      ids.push_back(o.id);
    }
    std::size_t replayed = 0, refused = 0;
    for (const auto& id : ids) {
      auto r = co_await store.replay(id);
      if (!r) {
        print_error(r.error());
        co_return exit_failure;
      }
      if (r->refused) {
        ++refused;
        std::printf("%s refused %s%s%s\n", id.c_str(), std::string(to_string(*r->refused)).c_str(), r->work_id.empty() ? "" : " work=",
                    r->work_id.c_str());
      } else {
        ++replayed;
        std::printf("%s replayed work=%s\n", id.c_str(), r->work_id.c_str());
      }
    }
    std::fprintf(stderr, "%zu replayed, %zu refused\n", replayed, refused);
    // One entry: refused is a failure. --all-matching: it is one when nothing was replayed of something.
    co_return (refused > 0 && (!o.all_matching || replayed == 0)) ? exit_failure : exit_ok;
  }
  auto page = co_await store.list(o.filter, o.limit);
  if (!page) {
    print_error(page.error());
    co_return exit_failure;
  }
  std::printf("%-16s %-19s %-8s %-14s %-24s %-10s %-6s %s\n", "ID", "TIME (UTC)", "KIND", "ITEM", "DEVICE", "APP", "STATUS", "REASON");
  for (const auto& e : page->entries) {
    std::printf("%-16s %-19s %-8s %-14s %-24s %-10s %-6s %s\n", e.id.c_str(), entry_time(e.id).c_str(), or_dash(e.field("kind")).c_str(),
                or_dash(e.field("id")).c_str(), or_dash(e.field("device")).c_str(), or_dash(e.field("app")).c_str(),
                or_dash(e.field("status")).c_str(), or_dash(e.field("reason")).c_str());
  }
  std::fprintf(stderr, "%zu entries shown (%zu examined) from %s\n", page->entries.size(), page->examined, key.c_str());
  co_return exit_ok;
}

}  // namespace

int command_deadletter(const std::vector<std::string>& args) {
  deadletter_options opts;
  if (auto problem = parse_deadletter(args, opts)) {
    std::fprintf(stderr, "herald deadletter: %s\n%s", problem->c_str(), deadletter_usage);
    return exit_bad_config;
  }
  auto cfg = load_command_config(opts.config_path);
  if (!cfg) return exit_bad_config;
  logger log(log_level::warning, stderr, false, parse_log_format(cfg->log.format).value_or(log_format::text));
  asio::io_context ioc;
  return run_with_redis(ioc, *cfg, "deadletter", log, nullptr, [&](std::shared_ptr<redis_client> redis) -> asio::awaitable<int> {
    dead_letter_store store(redis, cfg->redis.key_prefix);
    co_return co_await run_deadletter(store, opts);
  });
}

}  // namespace herald
