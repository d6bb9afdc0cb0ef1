// The server: section (listener, limits, timeouts).
#include "config/sections.hpp"
#include "config/value_parsers.hpp"

namespace herald::cfg {

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
  read_tunables(s, out, tunables::server);
  return out;
}

}  // namespace herald::cfg
