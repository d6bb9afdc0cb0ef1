// `herald trace`: the delivery trace of one device, appointment or message
// (store/delivery_trace.hpp), newest first, as a table.
#include <boost/asio/awaitable.hpp>

#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "daemon/commands.hpp"
#include "runtime/log.hpp"
#include "store/delivery_trace.hpp"
#include "store/redis_client.hpp"

namespace herald {

namespace asio = boost::asio;

namespace {

constexpr const char* trace_usage =
    "usage: herald trace --config FILE (--device ID | --appointment ID | --message ID)\n"
    "  every delivery attempt Herald made for it, newest first (kept per device and per alarm/message)\n";

std::string utc_time(std::int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string or_dash(const std::string& s) { return s.empty() ? "-" : s; }

}  // namespace

int command_trace(const std::vector<std::string>& args) {
  std::string config_path = "config/herald.yaml";
  std::string subject;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const auto& a = args[i];
    if ((a == "--config" || a == "--device" || a == "--appointment" || a == "--message") && i + 1 < args.size()) {
      const auto& v = args[++i];
      if (a == "--config") config_path = v;
      else if (!subject.empty()) subject = "?";
      else subject = (a == "--device" ? "device:" : a == "--appointment" ? "alarm:" : "message:") + v;
    } else {
      std::fprintf(stderr, "herald trace: unknown option or missing value: %s\n%s", a.c_str(), trace_usage);
      return exit_bad_config;
    }
  }
  if (subject.empty() || subject == "?") {
    std::fprintf(stderr, "herald trace: give exactly one of --device, --appointment, --message\n%s", trace_usage);
    return exit_bad_config;
  }
  auto cfg = load_command_config(config_path);
  if (!cfg) return exit_bad_config;
  logger log(log_level::warning, stderr, false, parse_log_format(cfg->log.format).value_or(log_format::text));
  asio::io_context ioc;
  return run_with_redis(ioc, *cfg, "trace", log, nullptr, [&](std::shared_ptr<redis_client> redis) -> asio::awaitable<int> {
    auto [ec, events] = co_await read_delivery_trace(*redis, cfg->redis.key_prefix, subject);
    if (ec) {
      std::fprintf(stderr, "herald trace: %s\n", ec.message().c_str());
      co_return exit_failure;
    }
    std::printf("%-19s %-7s %-14s %-24s %-10s %-12s %-11s %-6s %-28s %s\n", "TIME (UTC)", "KIND", "ID", "DEVICE", "APP", "OUTCOME",
                "ACTION", "STATUS", "REASON", "PROVIDER ID");
    for (const auto& e : events) {
      std::printf("%-19s %-7s %-14s %-24s %-10s %-12s %-11s %-6s %-28s %s\n", utc_time(e.at_ms).c_str(), e.kind.c_str(), e.id.c_str(),
                  or_dash(e.device).c_str(), or_dash(e.app).c_str(), e.outcome.c_str(), e.action.c_str(),
                  e.status == 0 ? "-" : std::to_string(e.status).c_str(), or_dash(e.reason).c_str(), or_dash(e.provider_id).c_str());
    }
    std::fprintf(stderr, "%zu events for %s\n", events.size(), subject.c_str());
    co_return exit_ok;
  });
}

}  // namespace herald
