// The server: section (listener, limits, timeouts).
#include "config/sections.hpp"
#include "config/value_parsers.hpp"

namespace herald::cfg {

using namespace std::chrono_literals;

server_settings load_server(const YAML::Node& node) {
  const section s(node, "server",
                  {"listen", "threads", "body_limit", "header_limit", "header_timeout", "read_timeout", "idle_timeout",
                   "max_connections", "max_connections_per_client", "shutdown_grace"});
  server_settings out;
  if (auto v = s.get("listen")) {
    const auto key = s.path("listen");
    auto hp = parse_host_and_port(non_empty(*v, key), key, "missing port; expected host:port or [v6]:port");
    out.listen_host = hp.host;
    out.listen_port = *hp.port;
  }
  s.read_int("threads", out.threads, 1, 64);
  s.read_size("body_limit", out.body_limit, 1 * kib, 64 * mib);
  s.read_size("header_limit", out.header_limit, 1 * kib, 1 * mib);
  s.read_duration("header_timeout", out.header_timeout, 100ms, 10min);
  s.read_duration("read_timeout", out.read_timeout, 100ms, 1h);
  s.read_duration("idle_timeout", out.idle_timeout, 1s, 1h);
  s.read_int("max_connections", out.max_connections, 1, 1'000'000);
  s.read_int("max_connections_per_client", out.max_connections_per_client, 0, 1'000'000);
  s.read_duration("shutdown_grace", out.shutdown_grace, 0ms, 10min);
  return out;
}

}  // namespace herald::cfg
