// `herald send`: one notification to an associate's devices (or one device)
// through the configured providers, one result line per device.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <random>

#include "config/config.hpp"
#include "daemon/commands.hpp"
#include "daemon/wiring.hpp"
#include "providers/provider.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "store/device_registry.hpp"
#include "store/redis_client.hpp"

namespace herald {

namespace asio = boost::asio;

namespace {

struct send_options {
  std::string config_path = "config/herald.yaml";
  std::optional<std::int64_t> associate;
  std::optional<std::string> device;
  std::string app;
  notification message;
};

// Parses the send arguments; returns an error text or nullopt.
std::optional<std::string> parse_send(const std::vector<std::string>& args, send_options& out) {
  for (std::size_t i = 1; i < args.size(); ++i) {
    const auto& a = args[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    std::optional<std::string> v;
    if (a == "--config" || a == "--associate" || a == "--device" || a == "--title" || a == "--body" || a == "--data" ||
        a == "--app") {
      v = value();
      if (!v) return a + " needs a value";
    } else {
      return "unknown option " + a;
    }
    if (a == "--config") out.config_path = *v;
    else if (a == "--associate") {
      try {
        std::size_t used = 0;
        out.associate = std::stoll(*v, &used);
        if (used != v->size() || *out.associate <= 0) return "--associate must be a positive integer";
      } catch (const std::exception&) {
        return "--associate must be a positive integer";
      }
    } else if (a == "--device") out.device = *v;
    else if (a == "--title") out.message.title = *v;
    else if (a == "--body") out.message.body = *v;
    else if (a == "--app") out.app = *v;
    else if (a == "--data") {
      auto eq = v->find('=');
      if (eq == std::string::npos || eq == 0) return "--data must be key=value";
      out.message.data.emplace_back(v->substr(0, eq), v->substr(eq + 1));
    }
  }
  if (out.associate.has_value() == out.device.has_value()) return "give exactly one of --associate ID or --device DEVICE_IDENTIFIER";
  if (out.message.title.empty() && out.message.body.empty()) return "give --title and/or --body";
  return std::nullopt;
}

}  // namespace

int command_send(const std::vector<std::string>& args) {
  send_options opts;
  if (auto err = parse_send(args, opts)) {
    std::fprintf(stderr, "herald send: %s\n", err->c_str());
    return exit_bad_config;
  }
  auto cfg = load_command_config(opts.config_path);
  if (!cfg) return exit_bad_config;
  // Quieter than the daemon: the result lines are the output.
  logger log(std::min(parse_log_level(cfg->log.level).value_or(log_level::info), log_level::warning), stderr, false,
             parse_log_format(cfg->log.format).value_or(log_format::text));
  metrics_registry metrics;
  const std::uint64_t nonce = std::random_device{}();
  asio::io_context ioc;
  provider_router router(ioc.get_executor(), cfg->apps, provider_options_for(*cfg, log, nullptr));
  return run_with_redis(ioc, *cfg, "send", log, &metrics, [&](std::shared_ptr<redis_client> redis) -> asio::awaitable<int> {
    device_registry devices(redis, cfg->redis.key_prefix);
    int rc = exit_ok;
    std::vector<device_info> targets;
    if (opts.associate) {
      auto r = co_await devices.list_by_associate(*opts.associate);
      if (!r) {
        std::fprintf(stderr, "herald send: %s\n", r.error().message().c_str());
        rc = exit_failure;
      } else {
        targets = std::move(*r);
      }
    } else {
      auto r = co_await devices.get(*opts.device);
      if (!r) {
        std::fprintf(stderr, "herald send: %s\n", r.error().message().c_str());
        rc = exit_failure;
      } else if (!*r) {
        std::fprintf(stderr, "herald send: no device %s\n", opts.device->c_str());
        rc = exit_failure;
      } else {
        targets.push_back(**r);
      }
    }
    if (rc == exit_ok && targets.empty()) {
      std::fprintf(stderr, "herald send: associate %lld has no registered devices\n", static_cast<long long>(*opts.associate));
      rc = exit_failure;
    }
    for (const auto& d : targets) {
      notification n = opts.message;
      n.delivery_id = "send:" + std::to_string(nonce) + ":" + d.device_identifier;
      auto res = co_await router.async_send(opts.app, d, n);
      std::printf("device=%s platform=%s outcome=%s status=%d reason=%s id=%s\n", d.device_identifier.c_str(),
                  std::string(to_string(d.platform)).c_str(), std::string(to_string(res.kind)).c_str(), res.http_status,
                  res.reason.empty() ? "-" : res.reason.c_str(), res.provider_id.empty() ? "-" : res.provider_id.c_str());
      if (res.kind != delivery_result::outcome::delivered) rc = exit_failure;
    }
    router.shutdown();
    co_return rc;
  });
}

}  // namespace herald
