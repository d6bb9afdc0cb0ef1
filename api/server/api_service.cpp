#include "api/server/api_service.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string_view>
#include <unordered_map>

#include "api/access/authorization.hpp"
#include "api/server/http_helpers.hpp"
#include "api/server/openapi_document.hpp"
#include "api/server/route_module.hpp"
#include "model/text.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "store/device_registry.hpp"
#include "store/redis_client.hpp"
#include "store/redis_health.hpp"

namespace herald {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;

struct api_service::impl {
  impl(dependencies d, std::vector<std::unique_ptr<route_module>> m)
      : deps(std::move(d)),
        latency(deps.metrics.get_histogram("herald_http_request_duration_seconds", "HTTP request handling time")),
        devices_gauge(deps.metrics.get_gauge("herald_registered_devices", "Devices in the registry (refreshed on scrape)")),
        modules(std::move(m)) {}

  dependencies deps;
  histogram& latency;
  gauge& devices_gauge;
  std::vector<std::unique_ptr<route_module>> modules;

  // herald_http_requests_total{route,status}: each counter is looked up in
  // the registry once, then found here under a shared lock with no
  // allocation (the key is built in a per-thread buffer).
  struct key_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view k) const noexcept { return std::hash<std::string_view>{}(k); }
  };
  std::shared_mutex requests_mutex;
  std::unordered_map<std::string, counter*, key_hash, std::equal_to<>> requests;

  void count(std::string_view route, unsigned status) {
    thread_local std::string key;
    key.assign(route).push_back(' ');
    key.append(std::to_string(status));
    {
      std::shared_lock lock(requests_mutex);
      if (auto it = requests.find(std::string_view(key)); it != requests.end()) {
        it->second->inc();
        return;
      }
    }
    auto& c = deps.metrics.get_counter("herald_http_requests_total", "HTTP requests by route and status",
                                       {{"route", std::string(route)}, {"status", std::to_string(status)}});
    {
      std::unique_lock lock(requests_mutex);
      requests.try_emplace(key, &c);
    }
    c.inc();
  }

  // Last logged state of each readiness check (a change is logged once).
  std::mutex readiness_mutex;
  std::map<std::string, bool, std::less<>> readiness_logged;

  void log_readiness_changes(const std::vector<readiness_check>& checks) {
    std::lock_guard lock(readiness_mutex);
    for (const auto& c : checks) {
      auto [it, inserted] = readiness_logged.try_emplace(c.name, true);
      if (it->second == c.ok) continue;
      it->second = c.ok;
      if (c.ok) deps.log.notice("readiness.recovered").kv("check", c.name);
      else deps.log.warning("readiness.failed").kv("check", c.name).kv("reason", c.reason.empty() ? "unavailable" : c.reason);
    }
  }

  // Without a credential /readyz says ok or not per check; the reasons (which
  // may name hosts, files and key ids) go to the log and to `?verbose` for a
  // credential with admin.read.
  asio::awaitable<api_response> readyz(const api_request& req) {
    const bool verbose = query_parameter(req.target(), "verbose").has_value();
    if (verbose) {
      auto who = authorize(deps.auth, req, authz::scope::admin_read);
      if (auto* e = std::get_if<api_error>(&who)) co_return error_response(*e, media_type::json);
    }
    std::vector<readiness_check> checks;
    // A live round trip (ROLE: a master; no unacknowledged dataset reset), bounded.
    auto redis_state = co_await check_redis_health(*deps.redis, deps.key_prefix, std::chrono::seconds(1));
    checks.push_back({"redis", redis_state.ok, redis_state.reason});
    if (deps.extra_readiness)
      for (auto& c : deps.extra_readiness()) checks.push_back(std::move(c));
    log_readiness_changes(checks);
    bool ready = std::all_of(checks.begin(), checks.end(), [](const auto& c) { return c.ok; });
    json::object body;
    body["status"] = ready ? "ready" : "not ready";
    json::object deps;
    for (const auto& c : checks) {
      json::object d;
      d["ok"] = c.ok;
      if (!c.ok && verbose) d["reason"] = c.reason.empty() ? "unavailable" : c.reason;
      deps[c.name] = std::move(d);
    }
    body["checks"] = std::move(deps);
    co_return make_response(ready ? http::status::ok : http::status::service_unavailable, json::serialize(body),
                            "application/json; charset=utf-8");
  }

  asio::awaitable<api_response> metrics() {
    if (deps.redis->connected()) {
      auto n = co_await deps.devices.count();
      if (n) devices_gauge.set(static_cast<double>(*n));
    }
    co_return make_response(http::status::ok, deps.metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
  }

  asio::awaitable<api_response> dispatch(api_request& req, std::string& route_name) {
    auto path = to_lower(target_path(req.target()));
    if (path.size() > 1 && path.back() == '/') path.pop_back();
    if (path == "/healthz" || path == "/readyz" || path == "/metrics") {
      route_name = path.substr(1);
      if (req.method() != http::verb::get && req.method() != http::verb::head)
        co_return error_response({405, "MethodNotAllowed", "use GET"}, media_type::json);
      if (path == "/healthz") co_return make_response(http::status::ok, R"({"status":"alive"})", "application/json");
      if (path == "/readyz") co_return co_await readyz(req);
      co_return co_await metrics();
    }
    // The API description (docs/openapi.yaml, compiled in): no credential.
    if (path == "/openapi.yaml") {
      route_name = "openapi";
      if (req.method() != http::verb::get && req.method() != http::verb::head)
        co_return error_response({405, "MethodNotAllowed", "use GET"}, media_type::json);
      co_return make_response(http::status::ok, std::string(openapi_document()), "application/yaml; charset=utf-8");
    }
    for (auto& m : modules) {
      if (auto res = co_await m->handle(req, path, route_name)) co_return std::move(*res);
    }
    route_name = "unmatched";
    co_return error_response({404, "SoNotFoundException", "no such route: " + std::string(target_path(req.target()))}, media_type::json);
  }
};

api_service::api_service(dependencies deps, std::vector<std::unique_ptr<route_module>> modules)
    : impl_(std::make_unique<impl>(std::move(deps), std::move(modules))) {}
api_service::~api_service() = default;

asio::awaitable<api_response> api_service::handle(api_request& req) {
  auto start = std::chrono::steady_clock::now();
  std::string route = "unmatched";
  api_response res;
  try {
    res = co_await impl_->dispatch(req, route);
  } catch (const std::exception& e) {
    impl_->deps.log.err("http.handler_failed").kv("route", route).kv("error", e.what());
    res = error_response({500, "InternalError", "internal error"}, media_type::json);
  }
  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  impl_->latency.observe(elapsed);
  impl_->count(route, res.result_int());
  co_return res;
}

}  // namespace herald
