// Loading, validating and printing Herald's configuration. This is the only
// translation unit that sees yaml-cpp; everything else gets the plain structs.
#include "config/config.hpp"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <set>
#include <sstream>
#include <string_view>

#include <arpa/inet.h>

#include "model/text.hpp"

namespace herald {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::size_t kib = 1024;
constexpr std::size_t mib = 1024 * kib;

// ---------------------------------------------------------------------------
// Text helpers


bool all_of(std::string_view text, bool (*pred)(char)) {
  return std::all_of(text.begin(), text.end(), pred);
}

// Identifiers that end up in scopes, Redis keys and log lines: no spaces,
// no separators that would need quoting.
bool is_identifier_char(char c) { return is_alnum(c) || c == '_' || c == '-' || c == '.'; }

std::optional<std::uint64_t> parse_unsigned(std::string_view text) {
  return parse_integer<std::uint64_t>(text);
}

std::optional<std::int64_t> parse_signed(std::string_view text) {
  if (text.starts_with('+')) text.remove_prefix(1);
  return parse_integer<std::int64_t>(text);
}

std::string format_duration(millis d) {
  const auto ms = d.count();
  struct unit {
    std::int64_t factor;
    const char* suffix;
  };
  static constexpr unit units[] = {{86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}};
  if (ms != 0) {
    for (const auto& u : units) {
      if (ms % u.factor == 0) return std::to_string(ms / u.factor) + u.suffix;
    }
  }
  return std::to_string(ms) + "ms";
}

std::string format_size(std::size_t bytes) {
  if (bytes != 0 && bytes % mib == 0) return std::to_string(bytes / mib) + "MiB";
  if (bytes != 0 && bytes % kib == 0) return std::to_string(bytes / kib) + "KiB";
  return std::to_string(bytes);
}

// "1048576", "512KiB", "1MiB" (also k/K/KB and m/M/MB, all powers of 1024).
std::optional<std::size_t> parse_size(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && is_digit(text[digits])) ++digits;
  auto number = parse_unsigned(text.substr(0, digits));
  if (!number) return std::nullopt;
  std::string_view suffix = text.substr(digits);
  if (!suffix.empty() && suffix.front() == ' ') suffix.remove_prefix(1);
  std::uint64_t factor = 1;
  if (suffix.empty() || suffix == "B") {
    factor = 1;
  } else if (suffix == "k" || suffix == "K" || suffix == "KB" || suffix == "KiB") {
    factor = kib;
  } else if (suffix == "m" || suffix == "M" || suffix == "MB" || suffix == "MiB") {
    factor = mib;
  } else {
    return std::nullopt;
  }
  if (*number > std::numeric_limits<std::size_t>::max() / factor) return std::nullopt;
  return static_cast<std::size_t>(*number * factor);
}

std::string percent_decode(std::string_view text, const std::string& key) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (i + 2 >= text.size()) throw config_error(key, "bad percent-escape");
    const int hi = hex(text[i + 1]);
    const int lo = hex(text[i + 2]);
    if (hi < 0 || lo < 0) throw config_error(key, "bad percent-escape");
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
  auto port = parse_unsigned(text);
  if (!port || *port < 1 || *port > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(*port);
}

bool is_hostname(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  return all_of(host, [](char c) { return is_alnum(c) || c == '-' || c == '.' || c == '_'; });
}

bool is_ipv6(const std::string& host) {
  in6_addr addr{};
  return inet_pton(AF_INET6, host.c_str(), &addr) == 1;
}

struct host_port {
  std::string host;
  std::optional<std::uint16_t> port;
};

// "host", "host:port", "[v6]", "[v6]:port". `what` names the expected form for messages.
host_port parse_host_port(std::string_view text, const std::string& key, const std::string& what) {
  host_port out;
  std::string_view rest;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) throw config_error(key, "missing ']' after IPv6 address; expected " + what);
    out.host = std::string(text.substr(1, close - 1));
    if (!is_ipv6(out.host)) throw config_error(key, in_quotes(out.host) + " is not an IPv6 address");
    rest = text.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) throw config_error(key, "expected " + what);
  } else {
    const auto colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
      throw config_error(key, "IPv6 addresses need brackets, e.g. [::1]:8080");
    }
    out.host = std::string(text.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view{} : text.substr(colon);
    if (out.host.empty()) throw config_error(key, "missing host; expected " + what);
    if (!is_hostname(out.host)) throw config_error(key, in_quotes(out.host) + " is not a valid host name or address");
  }
  if (!rest.empty()) {
    rest.remove_prefix(1);  // ':'
    out.port = parse_port(rest);
    if (!out.port) throw config_error(key, "port must be a number from 1 to 65535, got " + in_quotes(rest));
  }
  return out;
}

// ---------------------------------------------------------------------------
// YAML access with dotted key paths

std::string child_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string index_path(const std::string& parent, std::size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

const char* kind_name(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

// A mapping whose keys are all checked against the known set at construction,
// so a typo is reported even for keys the loader never asks about.
class section {
 public:
  section(const YAML::Node& node, std::string path, std::initializer_list<std::string_view> known)
      : path_(std::move(path)) {
    if (!node.IsDefined() || node.IsNull()) return;
    if (!node.IsMap()) throw config_error(path_.empty() ? "<config>" : path_, std::string("expected a mapping, got ") + kind_name(node));
    for (const auto& entry : node) {
      if (!entry.first.IsScalar()) throw config_error(path_.empty() ? "<config>" : path_, "keys must be plain strings");
      const std::string key = entry.first.Scalar();
      const std::string where = child_path(path_, key);
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        std::string problem = "unknown key";
        std::string_view best;
        std::size_t best_distance = 3;
        for (auto candidate : known) {
          const auto d = edit_distance(key, candidate);
          if (d < best_distance) best_distance = d, best = candidate;
        }
        if (!best.empty()) problem += "; did you mean " + in_quotes(best) + "?";
        throw config_error(where, problem);
      }
      for (const auto& seen : entries_) {
        if (seen.first == key) throw config_error(where, "duplicate key");
      }
      entries_.emplace_back(key, entry.second);
    }
  }

  // The value under `key`, or nothing when absent or explicitly null.
  std::optional<YAML::Node> get(std::string_view key) const {
    for (const auto& entry : entries_) {
      if (entry.first == key) {
        if (entry.second.IsNull()) return std::nullopt;
        return entry.second;
      }
    }
    return std::nullopt;
  }
  // The raw value (a null node stays null), for sub-sections.
  YAML::Node raw(std::string_view key) const {
    for (const auto& entry : entries_) {
      if (entry.first == key) return entry.second;
    }
    return YAML::Node(YAML::NodeType::Undefined);
  }
  bool has(std::string_view key) const { return get(key).has_value(); }
  std::string path(std::string_view key) const { return child_path(path_, key); }
  const std::vector<std::pair<std::string, YAML::Node>>& entries() const { return entries_; }

 private:
  std::string path_;
  std::vector<std::pair<std::string, YAML::Node>> entries_;
};

std::string scalar(const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar()) throw config_error(key, std::string("expected a single value, got ") + kind_name(node));
  return node.Scalar();
}

std::string non_empty(const YAML::Node& node, const std::string& key) {
  std::string text = scalar(node, key);
  if (text.empty()) throw config_error(key, "must not be empty");
  return text;
}

std::int64_t integer(const YAML::Node& node, const std::string& key, std::int64_t min, std::int64_t max) {
  const std::string text = scalar(node, key);
  auto value = parse_signed(text);
  if (!value) throw config_error(key, "expected an integer, got " + in_quotes(text));
  if (*value < min || *value > max) {
    throw config_error(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + text);
  }
  return *value;
}

millis duration(const YAML::Node& node, const std::string& key, millis min, millis max) {
  const std::string text = scalar(node, key);
  millis value{};
  try {
    value = parse_duration(text);
  } catch (const std::invalid_argument& e) {
    throw config_error(key, e.what());
  }
  if (value < min || value > max) {
    throw config_error(key, "must be between " + format_duration(min) + " and " + format_duration(max) + ", got " + text);
  }
  return value;
}

std::size_t size(const YAML::Node& node, const std::string& key, std::size_t min, std::size_t max) {
  const std::string text = scalar(node, key);
  auto value = parse_size(text);
  if (!value) throw config_error(key, "expected a size like 65536, 64KiB or 1MiB, got " + in_quotes(text));
  if (*value < min || *value > max) {
    throw config_error(key, "must be between " + format_size(min) + " and " + format_size(max) + ", got " + text);
  }
  return *value;
}

std::vector<std::string> string_list(const YAML::Node& node, const std::string& key) {
  if (!node.IsSequence()) throw config_error(key, std::string("expected a list, got ") + kind_name(node));
  std::vector<std::string> out;
  for (std::size_t i = 0; i < node.size(); ++i) out.push_back(non_empty(node[i], index_path(key, i)));
  return out;
}

// ---------------------------------------------------------------------------
// Files

std::string resolve(const fs::path& base_dir, const std::string& text) {
  fs::path p(text);
  if (p.is_relative()) p = base_dir / p;
  return p.lexically_normal().string();
}

struct stat stat_file(const std::string& path, const std::string& key) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) throw config_error(key, path + " does not exist");
    throw config_error(key, path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) throw config_error(key, path + " is not a regular file");
  if (::access(path.c_str(), R_OK) != 0) throw config_error(key, path + " is not readable: " + std::strerror(errno));
  return st;
}

void require_file(const std::string& path, const std::string& key) { stat_file(path, key); }

// Secret files (keys, passwords, service accounts) must not be readable by
// every local user: a leaked APNs key or service account is a leaked identity.
void require_secret_file(const std::string& path, const std::string& key) {
  const struct stat st = stat_file(path, key);
  if (st.st_mode & S_IROTH) throw config_error(key, path + " is world-readable; chmod o-r");
}

std::string read_file(const std::string& path, const std::string& key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw config_error(key, "cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

YAML::Node parse_yaml(const std::string& text, const std::string& source) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    std::string problem = "YAML error";
    if (!e.mark.is_null()) problem += " at line " + std::to_string(e.mark.line + 1);
    throw config_error(source, problem + ": " + e.msg);
  }
}

// ---------------------------------------------------------------------------
// Sections

server_settings load_server(const YAML::Node& node) {
  const section s(node, "server",
                  {"listen", "threads", "body_limit", "header_limit", "header_timeout", "read_timeout", "idle_timeout",
                   "max_connections", "max_connections_per_client", "shutdown_grace"});
  server_settings out;
  if (auto v = s.get("listen")) {
    const auto key = s.path("listen");
    const std::string text = non_empty(*v, key);
    auto hp = parse_host_port(text, key, "host:port or [v6]:port");
    if (!hp.port) throw config_error(key, "missing port; expected host:port or [v6]:port");
    out.listen_host = hp.host;
    out.listen_port = *hp.port;
  }
  if (auto v = s.get("threads")) out.threads = static_cast<int>(integer(*v, s.path("threads"), 1, 64));
  if (auto v = s.get("body_limit")) out.body_limit = size(*v, s.path("body_limit"), 1 * kib, 64 * mib);
  if (auto v = s.get("header_limit")) out.header_limit = size(*v, s.path("header_limit"), 1 * kib, 1 * mib);
  if (auto v = s.get("header_timeout")) out.header_timeout = duration(*v, s.path("header_timeout"), 100ms, 10min);
  if (auto v = s.get("read_timeout")) out.read_timeout = duration(*v, s.path("read_timeout"), 100ms, 1h);
  if (auto v = s.get("idle_timeout")) out.idle_timeout = duration(*v, s.path("idle_timeout"), 1s, 1h);
  if (auto v = s.get("max_connections")) {
    out.max_connections = static_cast<std::size_t>(integer(*v, s.path("max_connections"), 1, 1'000'000));
  }
  if (auto v = s.get("max_connections_per_client")) {
    out.max_connections_per_client =
        static_cast<std::size_t>(integer(*v, s.path("max_connections_per_client"), 0, 1'000'000));
  }
  if (auto v = s.get("shutdown_grace")) out.shutdown_grace = duration(*v, s.path("shutdown_grace"), 0ms, 10min);
  return out;
}

constexpr const char* redis_url_forms = "redis://[user[:password]@]host[:port][/db] or redis+unix:///path?db=N";

void parse_userinfo(std::string_view userinfo, const std::string& key, redis_settings& out) {
  const auto colon = userinfo.find(':');
  out.username = percent_decode(userinfo.substr(0, colon), key);
  if (colon != std::string_view::npos) out.password = percent_decode(userinfo.substr(colon + 1), key);
}

int parse_db(std::string_view text, const std::string& key) {
  auto db = parse_unsigned(text);
  if (!db || *db > 65535) throw config_error(key, "database must be a number from 0 to 65535, got " + in_quotes(text));
  return static_cast<int>(*db);
}

void parse_redis_url(const std::string& url, const std::string& key, redis_settings& out) {
  std::string_view rest(url);
  if (rest.starts_with("redis://")) {
    rest.remove_prefix(8);
    const auto slash = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, slash);
    std::string_view tail = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
      parse_userinfo(authority.substr(0, at), key, out);
      authority.remove_prefix(at + 1);
    }
    if (authority.empty()) throw config_error(key, "missing host; expected " + std::string(redis_url_forms));
    auto hp = parse_host_port(authority, key, redis_url_forms);
    out.host = hp.host;
    out.port = hp.port.value_or(6379);
    out.unix_socket.clear();
    out.db = 0;
    if (!tail.empty()) {
      if (tail.front() != '/') throw config_error(key, "unexpected " + in_quotes(tail) + "; expected " + redis_url_forms);
      tail.remove_prefix(1);
      if (!tail.empty()) out.db = parse_db(tail, key);
    }
    return;
  }
  if (rest.starts_with("redis+unix://")) {
    rest.remove_prefix(13);
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos) throw config_error(key, "missing socket path; expected " + std::string(redis_url_forms));
    std::string_view authority = rest.substr(0, slash);
    if (!authority.empty()) {
      if (!authority.ends_with('@')) throw config_error(key, "a unix socket URL has no host; expected " + std::string(redis_url_forms));
      authority.remove_suffix(1);
      parse_userinfo(authority, key, out);
    }
    std::string_view path = rest.substr(slash);
    std::string_view query;
    if (const auto q = path.find('?'); q != std::string_view::npos) {
      query = path.substr(q + 1);
      path = path.substr(0, q);
    }
    if (path.size() < 2) throw config_error(key, "missing socket path; expected " + std::string(redis_url_forms));
    out.unix_socket = percent_decode(path, key);
    out.host.clear();
    out.port = 0;
    out.db = 0;
    while (!query.empty()) {
      const auto amp = query.find('&');
      const std::string_view param = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
      if (param.starts_with("db=")) {
        out.db = parse_db(param.substr(3), key);
      } else if (!param.empty()) {
        throw config_error(key, "unknown URL parameter " + in_quotes(param) + "; only db=N is supported");
      }
    }
    return;
  }
  if (rest.starts_with("rediss://")) throw config_error(key, "TLS (rediss://) is not supported; use " + std::string(redis_url_forms));
  // The URL itself is not repeated: it may hold a password.
  throw config_error(key, "unknown scheme; expected " + std::string(redis_url_forms));
}

// A one-line secret file (trailing newline allowed), not world-readable.
std::string read_password_file(const std::string& path, const std::string& key) {
  require_secret_file(path, key);
  std::string password = read_file(path, key);
  while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) password.pop_back();
  if (password.empty()) throw config_error(key, path + " is empty");
  if (password.find('\n') != std::string::npos) throw config_error(key, path + " must hold one line");
  return password;
}

redis_settings load_redis(const YAML::Node& node, const fs::path& base_dir) {
  const section s(node, "redis",
                  {"url", "password_file", "key_prefix", "connect_timeout", "command_timeout", "reconnect_min",
                   "reconnect_max", "max_pending", "sentinels", "master_name", "sentinel_password_file",
                   "dataset_reset_alert"});
  redis_settings out;
  if (auto v = s.get("url")) {
    out.url = non_empty(*v, s.path("url"));
    parse_redis_url(out.url, s.path("url"), out);
  }
  if (auto v = s.get("sentinels")) {
    const auto key = s.path("sentinels");
    if (s.get("url")) throw config_error(key, "redis.url and redis.sentinels are mutually exclusive; set one or the other");
    const auto list = string_list(*v, key);
    if (list.empty()) throw config_error(key, "must list at least one sentinel as host:port");
    for (std::size_t i = 0; i < list.size(); ++i) {
      const auto ikey = index_path(key, i);
      auto hp = parse_host_port(list[i], ikey, "host:port or [v6]:port");
      if (!hp.port) throw config_error(ikey, "missing port; expected host:port (Sentinel's default is 26379)");
      out.sentinels.push_back({hp.host, *hp.port});
    }
    out.url.clear();
    out.host.clear();
    out.port = 0;
    if (auto m = s.get("master_name")) {
      out.master_name = non_empty(*m, s.path("master_name"));
    } else {
      throw config_error(s.path("master_name"), "required with redis.sentinels (the name the sentinels monitor)");
    }
  } else if (s.get("master_name")) {
    throw config_error(s.path("master_name"), "only used with redis.sentinels");
  }
  if (auto v = s.get("sentinel_password_file")) {
    const auto key = s.path("sentinel_password_file");
    if (out.sentinels.empty()) throw config_error(key, "only used with redis.sentinels");
    out.sentinel_password_file = resolve(base_dir, non_empty(*v, key));
    out.sentinel_password = read_password_file(out.sentinel_password_file, key);
  }
  if (auto v = s.get("dataset_reset_alert")) {
    out.dataset_reset_alert = duration(*v, s.path("dataset_reset_alert"), 1s, std::chrono::hours(24 * 365));
  }
  if (auto v = s.get("password_file")) {
    const auto key = s.path("password_file");
    if (!out.password.empty()) throw config_error(key, "redis.url already has a password; set one or the other");
    out.password_file = resolve(base_dir, non_empty(*v, key));
    out.password = read_password_file(out.password_file, key);
  }
  if (auto v = s.get("key_prefix")) {
    const auto key = s.path("key_prefix");
    out.key_prefix = non_empty(*v, key);
    if (out.key_prefix.size() > 64 ||
        !all_of(out.key_prefix, [](char c) { return is_identifier_char(c) || c == ':'; })) {
      throw config_error(key, "must be 1 to 64 characters of letters, digits, '_', '-', '.', ':'");
    }
  }
  if (auto v = s.get("connect_timeout")) out.connect_timeout = duration(*v, s.path("connect_timeout"), 10ms, 1min);
  if (auto v = s.get("command_timeout")) out.command_timeout = duration(*v, s.path("command_timeout"), 10ms, 10min);
  if (auto v = s.get("reconnect_min")) out.reconnect_min = duration(*v, s.path("reconnect_min"), 1ms, 1min);
  if (auto v = s.get("reconnect_max")) out.reconnect_max = duration(*v, s.path("reconnect_max"), 1ms, 10min);
  if (out.reconnect_max < out.reconnect_min) {
    throw config_error(s.path("reconnect_max"), "must not be less than redis.reconnect_min (" +
                                                    format_duration(out.reconnect_min) + ")");
  }
  if (auto v = s.get("max_pending")) {
    out.max_pending = static_cast<std::size_t>(integer(*v, s.path("max_pending"), 1, 10'000'000));
  }
  return out;
}

bool is_known_scope(std::string_view scope) {
  static constexpr std::string_view fixed[] = {"devices.read",  "devices.write",     "subscriptions.read",
                                               "subscriptions.write", "messages.write", "broker.run",
                                               "appointments.read",   "appointments.write", "messages.any",
                                               "admin.read",          "admin.write"};
  if (std::find(std::begin(fixed), std::end(fixed), scope) != std::end(fixed)) return true;
  constexpr std::string_view app_prefix = "push.application.";
  if (scope.starts_with(app_prefix)) {
    const auto app = scope.substr(app_prefix.size());
    return !app.empty() && all_of(app, is_identifier_char);
  }
  return false;
}

std::optional<std::array<std::uint8_t, 32>> decode_sha256(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  std::array<std::uint8_t, 32> out{};
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < 32; ++i) {
    const int hi = nibble(hex[2 * i]);
    const int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return out;
}

token_credential load_token(const YAML::Node& node, const std::string& path) {
  if (!node.IsMap()) throw config_error(path, std::string("expected a mapping with name, sha256, scopes, got ") + kind_name(node));
  const section s(node, path, {"name", "sha256", "scopes", "associate_id"});
  token_credential out;
  const auto name = s.get("name");
  if (!name) throw config_error(s.path("name"), "is required");
  out.name = non_empty(*name, s.path("name"));
  if (out.name.size() > 64 || !all_of(out.name, [](char c) { return is_identifier_char(c) || c == '@' || c == ':'; })) {
    throw config_error(s.path("name"), "must be 1 to 64 characters of letters, digits, '_', '-', '.', '@', ':'");
  }
  const auto sha = s.get("sha256");
  if (!sha) throw config_error(s.path("sha256"), "is required (the SHA-256 hex of the token)");
  const auto digest = decode_sha256(scalar(*sha, s.path("sha256")));
  if (!digest) throw config_error(s.path("sha256"), "must be 64 hex characters (the SHA-256 of the token)");
  out.sha256 = *digest;
  if (auto v = s.get("scopes")) {
    out.scopes = string_list(*v, s.path("scopes"));
    for (std::size_t i = 0; i < out.scopes.size(); ++i) {
      if (!is_known_scope(out.scopes[i])) {
        throw config_error(index_path(s.path("scopes"), i),
                           "unknown scope " + in_quotes(out.scopes[i]) +
                               " (known: devices.read, devices.write, subscriptions.read, subscriptions.write, "
                               "messages.write, messages.any, broker.run, appointments.read, appointments.write, "
                               "admin.read, admin.write, push.application.<id>)");
      }
    }
  }
  if (auto v = s.get("associate_id")) {
    out.associate_id = integer(*v, s.path("associate_id"), 1, std::numeric_limits<std::int64_t>::max());
  }
  return out;
}

void load_token_list(const YAML::Node& node, const std::string& path, std::vector<token_credential>& out) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsSequence()) throw config_error(path, std::string("expected a list of tokens, got ") + kind_name(node));
  for (std::size_t i = 0; i < node.size(); ++i) out.push_back(load_token(node[i], index_path(path, i)));
}

auth_settings load_auth(const YAML::Node& node, const fs::path& base_dir) {
  const section s(node, "auth", {"tokens", "tokens_file", "application_tokens"});
  auth_settings out;
  load_token_list(s.raw("tokens"), s.path("tokens"), out.tokens);
  if (auto v = s.get("tokens_file")) {
    const auto key = s.path("tokens_file");
    out.tokens_file = resolve(base_dir, non_empty(*v, key));
    require_file(out.tokens_file, key);
    const YAML::Node file = parse_yaml(read_file(out.tokens_file, key), out.tokens_file);
    load_token_list(file, key, out.tokens);
  }
  // Names show up in logs and metrics, digests identify the caller: both must be unique.
  for (std::size_t i = 0; i < out.tokens.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (out.tokens[i].name == out.tokens[j].name) {
        throw config_error("auth.tokens", "token name " + in_quotes(out.tokens[i].name) + " is used twice");
      }
      if (out.tokens[i].sha256 == out.tokens[j].sha256) {
        throw config_error("auth.tokens", "tokens " + in_quotes(out.tokens[j].name) + " and " + in_quotes(out.tokens[i].name) +
                                              " have the same sha256");
      }
    }
  }
  if (auto v = s.get("application_tokens")) {
    const auto key = s.path("application_tokens");
    for (const auto& hex : string_list(*v, key)) {
      const auto digest = decode_sha256(hex);
      if (!digest)
        throw config_error(key, "entries must be the SHA-256 hex of an ApplicationToken (printf %s TOKEN | sha256sum), got " +
                                    std::to_string(hex.size()) + " characters");
      out.application_tokens.push_back(*digest);
    }
  }
  return out;
}

// "https://host[:port]" with an optional trailing '/'.
std::string https_endpoint(const YAML::Node& node, const std::string& key) {
  std::string url = non_empty(node, key);
  std::string_view rest(url);
  if (!rest.starts_with("https://")) throw config_error(key, "must be an https:// URL like https://host:443, got " + in_quotes(url));
  rest.remove_prefix(8);
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.find_first_of("/?#@") != std::string_view::npos) {
    throw config_error(key, "must be https://host[:port] without path, query or credentials");
  }
  if (rest.empty()) throw config_error(key, "missing host");
  parse_host_port(rest, key, "https://host[:port]");
  return "https://" + std::string(rest);
}

bool is_apple_id(std::string_view text) { return text.size() == 10 && all_of(text, is_alnum); }

apns_settings load_apns(const YAML::Node& node, const std::string& path, const fs::path& base_dir) {
  const section s(node, path,
                  {"team_id", "key_id", "key_file", "certificate_file", "certificate_password_file", "topic",
                   "environment", "endpoint", "ca_file", "connections", "connect_timeout", "response_timeout"});
  apns_settings out;
  auto secret = [&](std::string_view name, std::string& field) {
    if (auto v = s.get(name)) {
      const auto key = s.path(name);
      field = resolve(base_dir, non_empty(*v, key));
      require_secret_file(field, key);
    }
  };
  secret("key_file", out.key_file);
  secret("certificate_file", out.certificate_file);
  secret("certificate_password_file", out.certificate_password_file);
  if (out.key_file.empty() == out.certificate_file.empty()) {
    throw config_error(path, "set exactly one of key_file (token auth) or certificate_file (certificate auth)");
  }
  if (!out.certificate_password_file.empty() && out.certificate_file.empty()) {
    throw config_error(s.path("certificate_password_file"), "only used with certificate_file");
  }
  for (auto [name, field] : {std::pair{"team_id", &out.team_id}, std::pair{"key_id", &out.key_id}}) {
    if (auto v = s.get(name)) {
      *field = scalar(*v, s.path(name));
      if (!is_apple_id(*field)) throw config_error(s.path(name), "must be exactly 10 letters or digits, got " + in_quotes(*field));
    } else if (!out.key_file.empty()) {
      throw config_error(s.path(name), "is required with key_file");
    }
  }
  if (auto v = s.get("topic")) {
    out.topic = non_empty(*v, s.path("topic"));
  } else {
    throw config_error(s.path("topic"), "is required (the app's bundle id)");
  }
  if (auto v = s.get("environment")) {
    out.environment = scalar(*v, s.path("environment"));
    if (out.environment != "production" && out.environment != "sandbox") {
      throw config_error(s.path("environment"), "must be production or sandbox, got " + in_quotes(out.environment));
    }
  }
  if (auto v = s.get("endpoint")) out.endpoint = https_endpoint(*v, s.path("endpoint"));
  if (auto v = s.get("ca_file")) {
    out.ca_file = resolve(base_dir, non_empty(*v, s.path("ca_file")));
    require_file(out.ca_file, s.path("ca_file"));
  }
  if (auto v = s.get("connections")) out.connections = static_cast<int>(integer(*v, s.path("connections"), 1, 64));
  if (auto v = s.get("connect_timeout")) out.connect_timeout = duration(*v, s.path("connect_timeout"), 100ms, 5min);
  if (auto v = s.get("response_timeout")) out.response_timeout = duration(*v, s.path("response_timeout"), 100ms, 10min);
  return out;
}

fcm_settings load_fcm(const YAML::Node& node, const std::string& path, const fs::path& base_dir) {
  const section s(node, path,
                  {"service_account_file", "endpoint", "ca_file", "connections", "connect_timeout", "response_timeout"});
  fcm_settings out;
  if (auto v = s.get("service_account_file")) {
    out.service_account_file = resolve(base_dir, non_empty(*v, s.path("service_account_file")));
    require_secret_file(out.service_account_file, s.path("service_account_file"));
  } else {
    throw config_error(s.path("service_account_file"), "is required");
  }
  if (auto v = s.get("endpoint")) out.endpoint = https_endpoint(*v, s.path("endpoint"));
  if (auto v = s.get("ca_file")) {
    out.ca_file = resolve(base_dir, non_empty(*v, s.path("ca_file")));
    require_file(out.ca_file, s.path("ca_file"));
  }
  if (auto v = s.get("connections")) out.connections = static_cast<int>(integer(*v, s.path("connections"), 1, 64));
  if (auto v = s.get("connect_timeout")) out.connect_timeout = duration(*v, s.path("connect_timeout"), 100ms, 5min);
  if (auto v = s.get("response_timeout")) out.response_timeout = duration(*v, s.path("response_timeout"), 100ms, 10min);
  return out;
}

// An https URL with a path (a token endpoint): no credentials, no spaces.
std::string https_url_with_path(const YAML::Node& node, const std::string& key) {
  std::string url = non_empty(node, key);
  std::string_view rest(url);
  if (!rest.starts_with("https://")) throw config_error(key, "must be an https:// URL, got " + in_quotes(url));
  rest.remove_prefix(8);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty() || authority.find('@') != std::string_view::npos)
    throw config_error(key, "must be https://host[:port]/path without credentials");
  if (!all_of(url, [](char c) { return static_cast<unsigned char>(c) > 0x20 && c != 0x7f; }))
    throw config_error(key, "must not contain spaces or control characters");
  parse_host_port(authority, key, "https://host[:port]/path");
  return url;
}

// Hosts a client-supplied URL may point at: "name", "*.suffix" or an IP literal, lowercase.
std::vector<std::string> host_list(const YAML::Node& node, const std::string& key) {
  auto hosts = string_list(node, key);
  if (hosts.empty()) throw config_error(key, "must list at least one host (leave it out for the defaults)");
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    auto& h = hosts[i];
    std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string_view name(h);
    if (name.starts_with("*.")) name.remove_prefix(2);
    if (name.empty() || !all_of(name, [](char c) { return is_alnum(c) || c == '.' || c == '-' || c == ':'; }))
      throw config_error(index_path(key, i), "must be a host name, *.domain or an IP address, got " + in_quotes(h));
  }
  return hosts;
}

wns_settings load_wns(const YAML::Node& node, const std::string& path, const fs::path& base_dir) {
  const section s(node, path,
                  {"client_id", "client_secret_file", "token_endpoint", "scope", "allowed_hosts", "ca_file",
                   "connections", "connect_timeout", "response_timeout"});
  wns_settings out;
  if (auto v = s.get("client_id")) out.client_id = non_empty(*v, s.path("client_id"));
  else throw config_error(s.path("client_id"), "is required (package SID or Entra ID application id)");
  if (auto v = s.get("client_secret_file")) {
    out.client_secret_file = resolve(base_dir, non_empty(*v, s.path("client_secret_file")));
    require_secret_file(out.client_secret_file, s.path("client_secret_file"));
  } else {
    throw config_error(s.path("client_secret_file"), "is required");
  }
  if (auto v = s.get("token_endpoint")) {
    out.token_endpoint = https_url_with_path(*v, s.path("token_endpoint"));
  } else {
    throw config_error(s.path("token_endpoint"),
                       "is required: https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token (Entra ID) or "
                       "https://login.live.com/accesstoken.srf (classic Store apps)");
  }
  if (auto v = s.get("scope")) out.scope = non_empty(*v, s.path("scope"));
  if (auto v = s.get("allowed_hosts")) out.allowed_hosts = host_list(*v, s.path("allowed_hosts"));
  if (auto v = s.get("ca_file")) {
    out.ca_file = resolve(base_dir, non_empty(*v, s.path("ca_file")));
    require_file(out.ca_file, s.path("ca_file"));
  }
  if (auto v = s.get("connections")) out.connections = static_cast<int>(integer(*v, s.path("connections"), 1, 64));
  if (auto v = s.get("connect_timeout")) out.connect_timeout = duration(*v, s.path("connect_timeout"), 100ms, 5min);
  if (auto v = s.get("response_timeout")) out.response_timeout = duration(*v, s.path("response_timeout"), 100ms, 10min);
  return out;
}

webpush_settings load_webpush(const YAML::Node& node, const std::string& path, const fs::path& base_dir) {
  const section s(node, path,
                  {"vapid_private_key_file", "subject", "allowed_hosts", "ca_file", "ttl", "urgency", "connections",
                   "connect_timeout", "response_timeout"});
  webpush_settings out;
  if (auto v = s.get("vapid_private_key_file")) {
    out.vapid_private_key_file = resolve(base_dir, non_empty(*v, s.path("vapid_private_key_file")));
    require_secret_file(out.vapid_private_key_file, s.path("vapid_private_key_file"));
  } else {
    throw config_error(s.path("vapid_private_key_file"), "is required (herald webpush keygen writes one)");
  }
  if (auto v = s.get("subject")) {
    out.subject = non_empty(*v, s.path("subject"));
    if (!out.subject.starts_with("mailto:") && !out.subject.starts_with("https://"))
      throw config_error(s.path("subject"), "must be a mailto: or https:// contact, got " + in_quotes(out.subject));
  } else {
    throw config_error(s.path("subject"), "is required (mailto:ops@example.com or an https:// URL)");
  }
  if (auto v = s.get("allowed_hosts")) out.allowed_hosts = host_list(*v, s.path("allowed_hosts"));
  if (auto v = s.get("ca_file")) {
    out.ca_file = resolve(base_dir, non_empty(*v, s.path("ca_file")));
    require_file(out.ca_file, s.path("ca_file"));
  }
  if (auto v = s.get("ttl"))
    out.ttl = std::chrono::duration_cast<std::chrono::seconds>(duration(*v, s.path("ttl"), 0ms, 24h * 28));
  if (auto v = s.get("urgency")) {
    out.urgency = scalar(*v, s.path("urgency"));
    if (out.urgency != "very-low" && out.urgency != "low" && out.urgency != "normal" && out.urgency != "high")
      throw config_error(s.path("urgency"), "must be very-low, low, normal or high, got " + in_quotes(out.urgency));
  }
  if (auto v = s.get("connections")) out.connections = static_cast<int>(integer(*v, s.path("connections"), 1, 64));
  if (auto v = s.get("connect_timeout")) out.connect_timeout = duration(*v, s.path("connect_timeout"), 100ms, 5min);
  if (auto v = s.get("response_timeout")) out.response_timeout = duration(*v, s.path("response_timeout"), 100ms, 10min);
  return out;
}

std::vector<app_settings> load_apps(const YAML::Node& node, const fs::path& base_dir) {
  std::vector<app_settings> out;
  if (!node.IsDefined() || node.IsNull()) return out;
  if (!node.IsMap()) throw config_error("apps", std::string("expected a mapping of applicationId to providers, got ") + kind_name(node));
  std::set<std::string> seen;
  // yaml-cpp iterates a mapping in document order, which makes the first app the default.
  for (const auto& entry : node) {
    if (!entry.first.IsScalar()) throw config_error("apps", "application ids must be plain strings");
    app_settings app;
    app.id = entry.first.Scalar();
    const std::string path = "apps." + app.id;
    if (app.id.empty() || app.id.size() > 64 || !all_of(app.id, is_identifier_char)) {
      throw config_error(path, "application id must be 1 to 64 characters of letters, digits, '_', '-', '.'");
    }
    if (!seen.insert(app.id).second) throw config_error(path, "duplicate key");
    const section s(entry.second, path, {"apns", "fcm", "wns", "webpush"});
    if (s.has("apns")) app.apns = load_apns(*s.get("apns"), s.path("apns"), base_dir);
    if (s.has("fcm")) app.fcm = load_fcm(*s.get("fcm"), s.path("fcm"), base_dir);
    if (s.has("wns")) app.wns = load_wns(*s.get("wns"), s.path("wns"), base_dir);
    if (s.has("webpush")) app.webpush = load_webpush(*s.get("webpush"), s.path("webpush"), base_dir);
    if (!app.apns && !app.fcm && !app.wns && !app.webpush) throw config_error(path, "configure at least one of apns, fcm, wns, webpush");
    out.push_back(std::move(app));
  }
  return out;
}

broker_settings load_broker(const YAML::Node& node) {
  const section s(node, "broker", {"interval", "max_lateness", "takeover_after", "max_deliveries"});
  broker_settings out;
  if (auto v = s.get("interval")) out.interval = duration(*v, s.path("interval"), 1s, 1h);
  if (auto v = s.get("max_lateness")) out.max_lateness = duration(*v, s.path("max_lateness"), 1s, 24h * 7);
  if (auto v = s.get("takeover_after")) out.takeover_after = duration(*v, s.path("takeover_after"), 100ms, 1h);
  if (auto v = s.get("max_deliveries")) out.max_deliveries = integer(*v, s.path("max_deliveries"), 2, 1000);
  return out;
}

trace_settings load_trace(const YAML::Node& node) {
  const section s(node, "trace", {"max_events", "max_age"});
  trace_settings out;
  if (auto v = s.get("max_events")) out.max_events = integer(*v, s.path("max_events"), 0, 10'000);
  if (auto v = s.get("max_age")) out.max_age = duration(*v, s.path("max_age"), 1min, 24h * 90);
  return out;
}

constexpr std::string_view log_levels[] = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};

log_settings load_log(const YAML::Node& node) {
  const section s(node, "log", {"level", "format"});
  log_settings out;
  if (auto v = s.get("format")) {
    out.format = scalar(*v, s.path("format"));
    if (out.format != "text" && out.format != "json") {
      throw config_error(s.path("format"), "must be text or json, got " + in_quotes(out.format));
    }
  }
  if (auto v = s.get("level")) {
    out.level = scalar(*v, s.path("level"));
    if (std::find(std::begin(log_levels), std::end(log_levels), out.level) == std::end(log_levels)) {
      throw config_error(s.path("level"),
                         "must be one of emerg, alert, crit, err, warning, notice, info, debug; got " + in_quotes(out.level));
    }
  }
  return out;
}

// "en", "nb-NO", "zh-Hant-TW": a BCP 47 shape, not a registry lookup.
bool is_language_tag(std::string_view tag) {
  std::size_t start = 0;
  bool first = true;
  while (true) {
    const auto dash = tag.find('-', start);
    const auto part = tag.substr(start, dash == std::string_view::npos ? std::string_view::npos : dash - start);
    if (first) {
      if (part.size() < 2 || part.size() > 3 || !all_of(part, [](char c) { return c >= 'a' && c <= 'z'; })) return false;
    } else if (part.empty() || part.size() > 8 || !all_of(part, is_alnum)) {
      return false;
    }
    first = false;
    if (dash == std::string_view::npos) return true;
    start = dash + 1;
  }
}

locale_settings load_locales(const YAML::Node& node, const fs::path& base_dir) {
  const section s(node, "locales", {"default_language", "directory"});
  locale_settings out;
  if (auto v = s.get("default_language")) {
    out.default_language = scalar(*v, s.path("default_language"));
    if (!is_language_tag(out.default_language)) {
      throw config_error(s.path("default_language"), "must be a language tag like en or nb-NO, got " + in_quotes(out.default_language));
    }
  }
  // Unset: the catalogs compiled into the binary.
  if (auto v = s.get("directory")) out.directory = resolve(base_dir, non_empty(*v, s.path("directory")));
  return out;
}

timezone_settings load_timezones(const YAML::Node& node, const fs::path& base_dir) {
  const section s(node, "timezones", {"default", "table_file"});
  timezone_settings out;
  if (auto v = s.get("default")) {
    out.default_zone = non_empty(*v, s.path("default"));
    const bool shaped = out.default_zone.size() <= 64 && !out.default_zone.starts_with('/') &&
                        out.default_zone.find("..") == std::string::npos &&
                        all_of(out.default_zone, [](char c) { return is_alnum(c) || c == '/' || c == '_' || c == '-' || c == '+'; });
    if (!shaped) throw config_error(s.path("default"), "must be an IANA zone name like Europe/Oslo or UTC, got " + in_quotes(out.default_zone));
  }
  // Unset: the table compiled into the binary. Existence is the loader's check.
  if (auto v = s.get("table_file")) out.table_file = resolve(base_dir, non_empty(*v, s.path("table_file")));
  return out;
}

config load(const std::string& text, const std::string& source, const std::string& source_path, const fs::path& base_dir) {
  const YAML::Node root = parse_yaml(text, source);
  if (root.IsDefined() && !root.IsNull() && !root.IsMap()) {
    throw config_error(source, std::string("the top level must be a mapping, got ") + kind_name(root));
  }
  const section s(root, "", {"server", "redis", "auth", "apps", "broker", "trace", "log", "locales", "timezones"});
  config out;
  out.source_path = source_path;
  out.server = load_server(s.raw("server"));
  out.redis = load_redis(s.raw("redis"), base_dir);
  out.auth = load_auth(s.raw("auth"), base_dir);
  out.apps = load_apps(s.raw("apps"), base_dir);
  out.broker = load_broker(s.raw("broker"));
  out.trace = load_trace(s.raw("trace"));
  out.log = load_log(s.raw("log"));
  out.locales = load_locales(s.raw("locales"), base_dir);
  out.timezones = load_timezones(s.raw("timezones"), base_dir);
  return out;
}

// ---------------------------------------------------------------------------
// Printing

// The URL as written, with the password (if any) replaced by ***.
std::string mask_url(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  const auto authority_begin = scheme_end + 3;
  const auto authority_end = url.find_first_of("/?#", authority_begin);
  const auto at = url.rfind('@', authority_end == std::string::npos ? std::string::npos : authority_end);
  if (at == std::string::npos || at < authority_begin) return url;
  const auto colon = url.find(':', authority_begin);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

void emit_duration(YAML::Emitter& out, const char* key, millis value) {
  out << YAML::Key << key << YAML::Value << format_duration(value);
}

}  // namespace

millis parse_duration(const std::string& text) {
  // One or more <integer><unit> groups ("90s", "1h30m"); a unit is required so
  // "30" can never mean seconds to one reader and milliseconds to another.
  if (text.empty()) throw std::invalid_argument("empty duration; expected e.g. 250ms, 30s, 15m, 1h, 2d");
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t start = i;
    while (i < text.size() && is_digit(text[i])) ++i;
    auto number = parse_unsigned(std::string_view(text).substr(start, i - start));
    const std::size_t unit_start = i;
    while (i < text.size() && !is_digit(text[i])) ++i;
    const std::string_view unit = std::string_view(text).substr(unit_start, i - unit_start);
    std::int64_t factor = 0;
    if (unit == "ms") factor = 1;
    else if (unit == "s") factor = 1'000;
    else if (unit == "m") factor = 60'000;
    else if (unit == "h") factor = 3'600'000;
    else if (unit == "d") factor = 86'400'000;
    if (!number || factor == 0) {
      throw std::invalid_argument("bad duration \"" + text + "\"; expected e.g. 250ms, 30s, 15m, 1h, 2d");
    }
    constexpr auto limit = std::numeric_limits<std::int64_t>::max();
    if (*number > static_cast<std::uint64_t>(limit / factor) || total > limit - static_cast<std::int64_t>(*number) * factor) {
      throw std::invalid_argument("duration \"" + text + "\" is too large");
    }
    total += static_cast<std::int64_t>(*number) * factor;
  }
  return millis{total};
}

config load_config_file(const std::string& path) {
  const fs::path absolute = fs::absolute(path).lexically_normal();
  std::ifstream in(absolute, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(absolute, ec)) throw config_error(path, "file does not exist");
    throw config_error(path, std::string("cannot read: ") + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return load(text.str(), path, absolute.string(), absolute.parent_path());
}

config load_config_string(const std::string& yaml, const std::string& base_dir) {
  return load(yaml, "<config>", "", fs::absolute(base_dir).lexically_normal());
}

std::string describe_effective(const config& cfg) {
  YAML::Emitter out;
  out << YAML::BeginMap;

  const auto& s = cfg.server;
  out << YAML::Key << "server" << YAML::Value << YAML::BeginMap;
  const bool v6 = s.listen_host.find(':') != std::string::npos;
  out << YAML::Key << "listen" << YAML::Value
      << ((v6 ? "[" + s.listen_host + "]" : s.listen_host) + ":" + std::to_string(s.listen_port));
  out << YAML::Key << "threads" << YAML::Value << s.threads;
  out << YAML::Key << "body_limit" << YAML::Value << format_size(s.body_limit);
  out << YAML::Key << "header_limit" << YAML::Value << format_size(s.header_limit);
  emit_duration(out, "header_timeout", s.header_timeout);
  emit_duration(out, "read_timeout", s.read_timeout);
  emit_duration(out, "idle_timeout", s.idle_timeout);
  out << YAML::Key << "max_connections" << YAML::Value << s.max_connections;
  out << YAML::Key << "max_connections_per_client" << YAML::Value << s.max_connections_per_client;
  emit_duration(out, "shutdown_grace", s.shutdown_grace);
  out << YAML::EndMap;

  const auto& r = cfg.redis;
  out << YAML::Key << "redis" << YAML::Value << YAML::BeginMap;
  if (r.sentinels.empty()) {
    out << YAML::Key << "url" << YAML::Value << mask_url(r.url);
  } else {
    out << YAML::Key << "sentinels" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const auto& e : r.sentinels)
      out << ((e.host.find(':') != std::string::npos ? "[" + e.host + "]" : e.host) + ":" + std::to_string(e.port));
    out << YAML::EndSeq;
    out << YAML::Key << "master_name" << YAML::Value << r.master_name;
    if (!r.sentinel_password_file.empty())
      out << YAML::Key << "sentinel_password_file" << YAML::Value << r.sentinel_password_file;
  }
  if (!r.password_file.empty()) out << YAML::Key << "password_file" << YAML::Value << r.password_file;
  out << YAML::Key << "key_prefix" << YAML::Value << r.key_prefix;
  emit_duration(out, "connect_timeout", r.connect_timeout);
  emit_duration(out, "command_timeout", r.command_timeout);
  emit_duration(out, "reconnect_min", r.reconnect_min);
  emit_duration(out, "reconnect_max", r.reconnect_max);
  out << YAML::Key << "max_pending" << YAML::Value << r.max_pending;
  emit_duration(out, "dataset_reset_alert", r.dataset_reset_alert);
  out << YAML::EndMap;

  const auto& a = cfg.auth;
  out << YAML::Key << "auth" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "tokens" << YAML::Value << YAML::BeginSeq;
  for (const auto& t : a.tokens) {
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << t.name;
    // Enough to tell tokens apart, far too little to help anyone guess one.
    out << YAML::Key << "sha256" << YAML::Value << to_hex(std::span<const std::uint8_t>(t.sha256.data(), 4)) + "\u2026";
    out << YAML::Key << "scopes" << YAML::Value << YAML::Flow << t.scopes;
    if (t.associate_id) out << YAML::Key << "associate_id" << YAML::Value << *t.associate_id;
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  if (!a.tokens_file.empty()) out << YAML::Key << "tokens_file" << YAML::Value << a.tokens_file;
  out << YAML::Key << "application_tokens" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (std::size_t i = 0; i < a.application_tokens.size(); ++i) out << "***";
  out << YAML::EndSeq;
  out << YAML::EndMap;

  out << YAML::Key << "apps" << YAML::Value;
  if (cfg.apps.empty()) out << YAML::Flow;
  out << YAML::BeginMap;
  for (const auto& app : cfg.apps) {
    out << YAML::Key << app.id << YAML::Value << YAML::BeginMap;
    auto optional_string = [&](const char* key, const std::string& value) {
      if (!value.empty()) out << YAML::Key << key << YAML::Value << value;
    };
    if (app.apns) {
      const auto& p = *app.apns;
      out << YAML::Key << "apns" << YAML::Value << YAML::BeginMap;
      optional_string("team_id", p.team_id);
      optional_string("key_id", p.key_id);
      optional_string("key_file", p.key_file);
      optional_string("certificate_file", p.certificate_file);
      optional_string("certificate_password_file", p.certificate_password_file);
      out << YAML::Key << "topic" << YAML::Value << p.topic;
      out << YAML::Key << "environment" << YAML::Value << p.environment;
      optional_string("endpoint", p.endpoint);
      optional_string("ca_file", p.ca_file);
      out << YAML::Key << "connections" << YAML::Value << p.connections;
      emit_duration(out, "connect_timeout", p.connect_timeout);
      emit_duration(out, "response_timeout", p.response_timeout);
      out << YAML::EndMap;
    }
    if (app.fcm) {
      const auto& p = *app.fcm;
      out << YAML::Key << "fcm" << YAML::Value << YAML::BeginMap;
      out << YAML::Key << "service_account_file" << YAML::Value << p.service_account_file;
      optional_string("endpoint", p.endpoint);
      optional_string("ca_file", p.ca_file);
      out << YAML::Key << "connections" << YAML::Value << p.connections;
      emit_duration(out, "connect_timeout", p.connect_timeout);
      emit_duration(out, "response_timeout", p.response_timeout);
      out << YAML::EndMap;
    }
    auto host_list_out = [&](const std::vector<std::string>& hosts) {
      if (hosts.empty()) return;
      out << YAML::Key << "allowed_hosts" << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (const auto& h : hosts) out << h;
      out << YAML::EndSeq;
    };
    if (app.wns) {
      const auto& p = *app.wns;
      out << YAML::Key << "wns" << YAML::Value << YAML::BeginMap;
      out << YAML::Key << "client_id" << YAML::Value << p.client_id;
      out << YAML::Key << "client_secret_file" << YAML::Value << p.client_secret_file;
      out << YAML::Key << "token_endpoint" << YAML::Value << p.token_endpoint;
      optional_string("scope", p.scope);
      host_list_out(p.allowed_hosts);
      optional_string("ca_file", p.ca_file);
      out << YAML::Key << "connections" << YAML::Value << p.connections;
      emit_duration(out, "connect_timeout", p.connect_timeout);
      emit_duration(out, "response_timeout", p.response_timeout);
      out << YAML::EndMap;
    }
    if (app.webpush) {
      const auto& p = *app.webpush;
      out << YAML::Key << "webpush" << YAML::Value << YAML::BeginMap;
      out << YAML::Key << "vapid_private_key_file" << YAML::Value << p.vapid_private_key_file;
      out << YAML::Key << "subject" << YAML::Value << p.subject;
      host_list_out(p.allowed_hosts);
      optional_string("ca_file", p.ca_file);
      emit_duration(out, "ttl", std::chrono::duration_cast<millis>(p.ttl));
      out << YAML::Key << "urgency" << YAML::Value << p.urgency;
      out << YAML::Key << "connections" << YAML::Value << p.connections;
      emit_duration(out, "connect_timeout", p.connect_timeout);
      emit_duration(out, "response_timeout", p.response_timeout);
      out << YAML::EndMap;
    }
    out << YAML::EndMap;
  }
  out << YAML::EndMap;

  out << YAML::Key << "broker" << YAML::Value << YAML::BeginMap;
  emit_duration(out, "interval", cfg.broker.interval);
  emit_duration(out, "max_lateness", cfg.broker.max_lateness);
  emit_duration(out, "takeover_after", cfg.broker.takeover_after);
  out << YAML::Key << "max_deliveries" << YAML::Value << cfg.broker.max_deliveries;
  out << YAML::EndMap;

  out << YAML::Key << "trace" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "max_events" << YAML::Value << cfg.trace.max_events;
  emit_duration(out, "max_age", cfg.trace.max_age);
  out << YAML::EndMap;

  out << YAML::Key << "log" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "level" << YAML::Value << cfg.log.level;
  out << YAML::Key << "format" << YAML::Value << cfg.log.format;
  out << YAML::EndMap;

  out << YAML::Key << "locales" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "default_language" << YAML::Value << cfg.locales.default_language;
  // Unset prints as null (which loads as unset) with a comment saying what it means.
  if (cfg.locales.directory.empty()) {
    out << YAML::Key << "directory" << YAML::Value << YAML::Null << YAML::Comment("built-in catalogs");
  } else {
    out << YAML::Key << "directory" << YAML::Value << cfg.locales.directory;
  }
  out << YAML::EndMap;

  out << YAML::Key << "timezones" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "default" << YAML::Value << cfg.timezones.default_zone;
  if (cfg.timezones.table_file.empty()) {
    out << YAML::Key << "table_file" << YAML::Value << YAML::Null << YAML::Comment("built-in table");
  } else {
    out << YAML::Key << "table_file" << YAML::Value << cfg.timezones.table_file;
  }
  out << YAML::EndMap;

  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace herald
