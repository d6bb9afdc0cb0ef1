// provider_bench: throughput and latency of the real adapter code (JWT or
// OAuth token, headers, payload, encryption, HTTP/2 or HTTP/1.1 pool,
// classification) against any server, e.g. nghttpd or the mock servers.
//
//   provider_bench --provider apns|fcm|wns|webpush --endpoint https://HOST:PORT [--ca-file FILE]
//                  --count N --connections C [--concurrency K] [--threads T]
//                  [--fcm-access-token TOKEN | --fcm-service-account FILE]
//                  [--apns-key FILE --key-id ID --team-id ID] [--topic TOPIC]
//                  [--wns-client-id ID --wns-client-secret S] [--vapid-key FILE]
//                  [--same-device] [--response-timeout-ms MS] [--print-request FILE] [--verbose]
//
// --response-timeout-ms: the adapter's response_timeout (default: the
// configuration's, 30 s); a small one exercises the timeout path under load.
// Notification i goes to device i (APNs path /3/device/<64 hex of
// 0x5eed0000 + i>, FCM token bench-fcm-token-<i>, WNS channel
// <endpoint>/w/?token=bench-<i>, Web Push subscription <endpoint>/push/bench-<i>);
// with --same-device every notification goes to device 0, so a static server
// (nghttpd) can answer every request from one cached file.
//
// APNs signs with its own fresh P-256 key unless --apns-key is given. FCM
// uses --fcm-access-token as is (no exchange) or exchanges the service
// account's assertion at its token_uri; without either it generates a
// service account whose token_uri is <endpoint>/token. WNS exchanges the
// client credentials (defaults: the mock's) at <endpoint>/token. Web Push
// signs VAPID with --vapid-key (PEM P-256) or a fresh key; the subscription
// keys (p256dh, auth) are generated, the payload encrypted per message.
// WNS and Web Push speak HTTP/2 or HTTP/1.1 as the server's ALPN decides
// (the adapter logs event=alpn_selected protocol=... on stderr).
//
// --print-request FILE (wns, webpush): writes the request Herald sends for
// notification 0, without sending it, for a reference load generator: FILE
// gets "method M", "path P" and "header NAME: VALUE" lines, FILE.body the
// body (Web Push: a fresh encryption of the same payload; the bearer token
// of WNS is a stand-in of the real one's length).
// Output: counts per outcome (outcome_<kind>=N) and, for every result not
// delivered, per reason ("reason <reason> (HTTP <status>): N"; transport
// failures: ConnectFailed, ConnectionLost, StreamReset, Timeout, QueueFull,
// NotSent, Shutdown), the requests sent including transparent resends
// (requests_sent), connections opened and closed, p50/p99/max latency, the
// longest time without any result (longest_gap_ms: a stalled connection
// shows here), VmRSS after every 50,000 results (rss_kb_after_<n>) and the
// peak (peak_rss_kb), the process's CPU time (cpu_user_s, cpu_sys_s), and as
// the last line `notifications_per_s=<number>`. While running, a gap of 5 s
// or more without a result is reported on stderr (provider_bench: stalled
// ...) once per gap. Exit status 1 when the setup fails.
//
// The senders run on one thread (as the daemon's broker on its strand).
// --threads T (providers.threads) with T > 1: APNs and FCM run on T threads
// of their own, the adapter split into min(connections, T) shards.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "providers/http_types.hpp"
#include "providers/jwt.hpp"
#include "providers/provider.hpp"
#include "providers/webpush_crypto.hpp"
#include "providers/webpush_protocol.hpp"
#include "providers/wns_protocol.hpp"
#include "runtime/log.hpp"

namespace {

using namespace herald;
using clock_type = std::chrono::steady_clock;

struct args {
  std::string provider = "apns";
  std::string endpoint;
  std::string ca_file;
  long count = 10'000;
  int connections = 1;
  int concurrency = 1'000;
  int threads = 1;
  long response_timeout_ms = 0;  // 0: the settings' default
  std::string fcm_access_token;
  std::string fcm_service_account;
  std::string apns_key, key_id = "BENCHKEY01", team_id = "BENCHTEAM1", topic = "com.example.herald";
  std::string wns_client_id = "ms-app://s-1-15-2-herald-test", wns_client_secret = "herald-test-wns-secret";
  std::string vapid_key;
  std::string print_request;
  bool same_device = false;
  bool verbose = false;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "provider_bench: %s\n"
               "usage: provider_bench --provider apns|fcm|wns|webpush --endpoint https://HOST:PORT [--ca-file FILE]\n"
               "       --count N --connections C [--concurrency K] [--threads T] [--fcm-access-token T]\n"
               "       [--fcm-service-account FILE] [--apns-key FILE --key-id ID --team-id ID] [--topic T]\n"
               "       [--wns-client-id ID --wns-client-secret S] [--vapid-key FILE]\n"
               "       [--same-device] [--response-timeout-ms MS] [--print-request FILE] [--verbose]\n",
               why);
  std::exit(2);
}

args parse(int argc, char** argv) {
  args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + k).c_str());
      return argv[++i];
    };
    auto number = [&](long lo, long hi) {
      std::string v = value();
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (!end || *end || n < lo || n > hi) usage(("bad number for " + k).c_str());
      return n;
    };
    if (k == "--provider") a.provider = value();
    else if (k == "--endpoint") a.endpoint = value();
    else if (k == "--ca-file") a.ca_file = value();
    else if (k == "--count") a.count = number(1, 100'000'000);
    else if (k == "--connections") a.connections = static_cast<int>(number(1, 64));
    else if (k == "--concurrency") a.concurrency = static_cast<int>(number(1, 100'000));
    else if (k == "--threads") a.threads = static_cast<int>(number(1, 16));
    else if (k == "--fcm-access-token") a.fcm_access_token = value();
    else if (k == "--fcm-service-account") a.fcm_service_account = value();
    else if (k == "--apns-key") a.apns_key = value();
    else if (k == "--key-id") a.key_id = value();
    else if (k == "--team-id") a.team_id = value();
    else if (k == "--topic") a.topic = value();
    else if (k == "--wns-client-id") a.wns_client_id = value();
    else if (k == "--wns-client-secret") a.wns_client_secret = value();
    else if (k == "--vapid-key") a.vapid_key = value();
    else if (k == "--print-request") a.print_request = value();
    else if (k == "--same-device") a.same_device = true;
    else if (k == "--response-timeout-ms") a.response_timeout_ms = number(1, 3'600'000);
    else if (k == "--verbose") a.verbose = true;
    else usage(("unknown option " + k).c_str());
  }
  if (a.provider != "apns" && a.provider != "fcm" && a.provider != "wns" && a.provider != "webpush")
    usage("--provider must be apns, fcm, wns or webpush");
  if (a.endpoint.empty()) usage("--endpoint is required");
  if (!a.print_request.empty() && a.provider != "wns" && a.provider != "webpush")
    usage("--print-request is for wns and webpush");
  return a;
}

std::string write_private(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  ::chmod(path.c_str(), 0600);
  return path.string();
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string hex_token(long i) {
  char buf[65];
  std::snprintf(buf, sizeof buf, "%064lx", 0x5eed0000L + i);
  return buf;
}

// Latencies in microseconds: exact below 128, then 64 buckets per power of
// two (under 1.6 % error). Fixed size whatever the count, so the tool's own
// memory does not grow with the run.
class latency_histogram {
 public:
  void add(std::chrono::nanoseconds d) {
    auto us = static_cast<std::uint64_t>(std::max<std::int64_t>(0, d.count() / 1000));
    ++counts_[std::min(index(us), counts_.size() - 1)];
    ++total_;
  }
  // The value at quantile q (0..1) in milliseconds (bucket middle).
  double quantile_ms(double q) const {
    if (total_ == 0) return 0;
    auto rank = static_cast<long>(q * static_cast<double>(total_ - 1)) + 1;
    long seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) return middle_us(i) / 1000.0;
    }
    return middle_us(counts_.size() - 1) / 1000.0;
  }

 private:
  static std::size_t index(std::uint64_t us) {
    if (us < 128) return us;
    int msb = std::bit_width(us) - 1;  // >= 7
    int shift = msb - 6;
    return 128 + static_cast<std::size_t>(msb - 7) * 64 + static_cast<std::size_t>((us >> shift) - 64);
  }
  static double middle_us(std::size_t i) {
    if (i < 128) return static_cast<double>(i);
    std::size_t k = i - 128;
    int shift = static_cast<int>(k / 64) + 1;
    double low = static_cast<double>((k % 64 + 64) << shift);
    return low + static_cast<double>(std::uint64_t{1} << shift) / 2;
  }
  std::array<long, 128 + 40 * 64> counts_{};
  long total_ = 0;
};

// Resident set size of this process in KiB ("VmRSS" or "VmHWM" = peak).
long rss_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  std::string prefix = std::string(field) + ":";
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0) return std::strtol(line.c_str() + prefix.size(), nullptr, 10);
  return -1;
}

struct run_state {
  long next = 0;
  long done = 0;
  latency_histogram latency;
  std::vector<std::pair<long, long>> rss_at;  // (notifications done, VmRSS KiB)
  std::array<long, 6> outcomes{};  // by delivery_result::outcome
  std::map<std::string, long> reasons;
  std::function<void()> on_all_done;
  std::chrono::nanoseconds max_latency{0};
  clock_type::time_point last_result{};  // the run's start until the first result
  std::chrono::nanoseconds longest_gap{0};
  bool stall_reported = false;  // for the current gap
};

// What the adapter did besides results: requests sent (transparent resends
// included) and connections opened/closed. Called on the providers' threads.
class bench_metrics final : public provider_metrics_listener {
 public:
  void on_sent(std::string_view, std::string_view) override { sent.fetch_add(1, std::memory_order_relaxed); }
  void on_connection_opened(std::string_view, std::string_view) override {
    opened.fetch_add(1, std::memory_order_relaxed);
  }
  void on_connection_closed(std::string_view, std::string_view) override {
    closed.fetch_add(1, std::memory_order_relaxed);
  }
  std::atomic<long> sent{0}, opened{0}, closed{0};
};

// Reports on stderr, once per gap, when no result came for 5 s or more.
void watch_for_stalls(boost::asio::steady_timer& timer, run_state& st, long count) {
  timer.expires_after(std::chrono::seconds(1));
  timer.async_wait([&timer, &st, count](boost::system::error_code ec) {
    if (ec) return;
    auto gap = clock_type::now() - st.last_result;
    if (gap >= std::chrono::seconds(5) && !st.stall_reported) {
      st.stall_reported = true;
      std::fprintf(stderr, "provider_bench: stalled: no result for %.1f s, %ld of %ld done, %ld in flight\n",
                   std::chrono::duration<double>(gap).count(), st.done, count, st.next - st.done);
    }
    watch_for_stalls(timer, st, count);
  });
}

// The subscription keys of the bench's Web Push devices (one pair for all).
struct bench_subscription {
  std::string p256dh, auth;  // base64url
};

std::string endpoint_base(std::string endpoint) {
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  return endpoint;
}

device_info bench_device(const args& a, notification_platform platform, long i, const bench_subscription& sub) {
  device_info d;
  d.device_identifier = "bench-" + std::to_string(i);
  long token = a.same_device ? 0 : i;
  switch (platform) {
    case notification_platform::apple: d.pns_handle = hex_token(token); break;
    case notification_platform::microsoft:
      d.pns_handle = endpoint_base(a.endpoint) + "/w/?token=bench-" + std::to_string(token);
      break;
    case notification_platform::web:
      d.pns_handle = "{\"endpoint\":" + json_string(endpoint_base(a.endpoint) + "/push/bench-" + std::to_string(token)) +
                     ",\"expirationTime\":null,\"keys\":{\"p256dh\":\"" + sub.p256dh + "\",\"auth\":\"" + sub.auth +
                     "\"}}";
      break;
    default: d.pns_handle = "bench-fcm-token-" + std::to_string(token); break;
  }
  d.platform = platform;
  return d;
}

notification bench_notification(long i) {
  notification n;
  n.title = "Meeting";
  n.body = "Starts at 14:00 (in 15 minutes), Room 4";
  n.delivery_id = "bench/" + std::to_string(i);
  n.custom_json = R"({"herald":{"appointment_id":"42","event":"AppointmentAlarm"}})";
  return n;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// --print-request: the request of notification 0 as the adapter builds it.
int print_request(const args& a, notification_platform platform, const bench_subscription& sub,
                  const std::string& vapid_key_file) {
  auto url = parse_https_url(a.endpoint);
  if (!url) usage("--endpoint is not https://host[:port]");
  device_info d = bench_device(a, platform, 0, sub);
  notification n = bench_notification(0);
  http_request request;
  if (platform == notification_platform::microsoft) {
    auto prepared = prepare_wns_request(d, n, {url->host}, unix_now());
    if (auto* local = std::get_if<delivery_result>(&prepared)) {
      std::fprintf(stderr, "provider_bench: %s\n", local->reason.c_str());
      return 1;
    }
    request = std::get<wns_prepared>(prepared).request;
    // The mock's tokens: 51 characters and 24 hex digits.
    set_wns_authorization(request, std::string(51, 'E') + std::string(24, '0'));
  } else {
    webpush_request_settings settings;
    settings.allowed_hosts = {url->host};
    auto prepared = prepare_webpush_request(d, n, settings, unix_now());
    if (auto* local = std::get_if<delivery_result>(&prepared)) {
      std::fprintf(stderr, "provider_bench: %s\n", local->reason.c_str());
      return 1;
    }
    auto& ready = std::get<webpush_prepared>(prepared);
    auto key = signing_key::from_pem_file(vapid_key_file, signing_key::algorithm::es256);
    if (!key) {
      std::fprintf(stderr, "provider_bench: %s\n", key.error().message().c_str());
      return 1;
    }
    auto jwt = make_vapid_jwt(*key, ready.origin, unix_now() + vapid_token_cache::lifetime_s, "mailto:bench@example.com");
    if (!jwt) return 1;
    set_vapid_authorization(ready.request, vapid_authorization(*jwt, key->ec_public_point()));
    request = ready.request;
  }
  std::ofstream out(a.print_request, std::ios::binary | std::ios::trunc);
  out << "method " << request.method << "\npath " << request.path << "\n";
  for (const auto& h : request.headers) out << "header " << h.name << ": " << h.value << "\n";
  std::ofstream body(a.print_request + ".body", std::ios::binary | std::ios::trunc);
  body << request.body;
  return out && body ? 0 : 1;
}

boost::asio::awaitable<void> worker(push_provider& provider, const args& a, run_state& st, notification_platform platform,
                                    const bench_subscription& sub) {
  while (st.next < a.count) {
    long i = st.next++;
    device_info d = bench_device(a, platform, i, sub);
    notification n = bench_notification(i);
    auto start = clock_type::now();
    auto r = co_await provider.async_send(d, n);
    auto now = clock_type::now();
    st.latency.add(now - start);
    st.max_latency = std::max(st.max_latency, std::chrono::nanoseconds(now - start));
    st.longest_gap = std::max(st.longest_gap, std::chrono::nanoseconds(now - st.last_result));
    st.last_result = now;
    st.stall_reported = false;
    ++st.outcomes[static_cast<std::size_t>(r.kind)];
    if (r.kind != delivery_result::outcome::delivered)
      ++st.reasons[r.reason + (r.http_status ? " (HTTP " + std::to_string(r.http_status) + ")" : "")];
    ++st.done;
    if (st.done % 50'000 == 0 || st.done == a.count) st.rss_at.emplace_back(st.done, rss_kb("VmRSS"));
    if (st.done == a.count) st.on_all_done();
  }
}

}  // namespace

int main(int argc, char** argv) {
  args a = parse(argc, argv);
  auto dir = std::filesystem::temp_directory_path() / ("provider_bench." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  ::chmod(dir.c_str(), 0700);

  logger log(a.verbose ? log_level::info : log_level::notice);
  boost::asio::io_context io(1);  // one thread, as in the daemon's workers
  provider_options options;
  options.log = &log;
  options.queue_limit = static_cast<std::size_t>(a.concurrency) + 16;
  options.fcm_access_token = a.fcm_access_token;
  auto metrics = std::make_shared<bench_metrics>();
  options.metrics = metrics;
  // providers.threads > 1: the providers' own threads, one io_context each
  // (as the daemon's provider_router owns them); declared before the
  // provider, which must go first.
  std::vector<std::unique_ptr<boost::asio::io_context>> shard_io;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> shard_work;
  std::vector<std::thread> shard_threads;
  if (a.threads > 1) {
    options.threads = a.threads;
    for (int t = 0; t < a.threads; ++t) {
      shard_io.push_back(std::make_unique<boost::asio::io_context>(1));
      shard_work.emplace_back(shard_io.back()->get_executor());
      options.shard_executors.push_back(shard_io.back()->get_executor());
    }
  }
  auto stop_shards = [&] {
    shard_work.clear();
    for (auto& ioc : shard_io) ioc->stop();
    for (auto& t : shard_threads)
      if (t.joinable()) t.join();
  };

  std::unique_ptr<push_provider> provider;
  notification_platform platform = notification_platform::apple;
  bench_subscription sub;
  if (a.provider == "apns") {
    apns_settings s;
    s.team_id = a.team_id;
    s.key_id = a.key_id;
    s.key_file = a.apns_key.empty()
                     ? write_private(dir / "AuthKey_bench.p8",
                                     signing_key::generate(signing_key::algorithm::es256).private_pem())
                     : a.apns_key;
    s.topic = a.topic;
    s.endpoint = a.endpoint;
    s.ca_file = a.ca_file;
    s.connections = a.connections;
    if (a.response_timeout_ms > 0) s.response_timeout = std::chrono::milliseconds(a.response_timeout_ms);
    provider = make_apns_provider(io.get_executor(), "bench", s, apns_environment::production, options);
  } else if (a.provider == "wns" || a.provider == "webpush") {
    auto url = parse_https_url(a.endpoint);
    if (!url) usage("--endpoint is not https://host[:port]");
    if (a.provider == "wns") {
      platform = notification_platform::microsoft;
      if (!a.print_request.empty()) {
        int rc = print_request(a, platform, sub, {});
        std::filesystem::remove_all(dir);
        return rc;
      }
      wns_settings s;
      s.client_id = a.wns_client_id;
      s.client_secret_file = write_private(dir / "wns-secret", a.wns_client_secret + "\n");
      s.token_endpoint = endpoint_base(a.endpoint) + "/token";
      s.allowed_hosts = {url->host};
      s.ca_file = a.ca_file;
      s.connections = a.connections;
      if (a.response_timeout_ms > 0) s.response_timeout = std::chrono::milliseconds(a.response_timeout_ms);
      provider = make_wns_provider(io.get_executor(), "bench", s, options);
    } else {
      platform = notification_platform::web;
      auto device_key = signing_key::generate(signing_key::algorithm::es256);
      sub.p256dh = base64url_encode(device_key.ec_public_point());
      std::string auth(16, '\0');
      for (std::size_t k = 0; k < auth.size(); ++k) auth[k] = static_cast<char>(0x5e + k);
      sub.auth = base64url_encode(auth);
      webpush_settings s;
      s.vapid_private_key_file =
          a.vapid_key.empty()
              ? write_private(dir / "vapid.pem", signing_key::generate(signing_key::algorithm::es256).private_pem())
              : a.vapid_key;
      if (!a.print_request.empty()) {
        int rc = print_request(a, platform, sub, s.vapid_private_key_file);
        std::filesystem::remove_all(dir);
        return rc;
      }
      s.subject = "mailto:bench@example.com";
      s.allowed_hosts = {url->host};
      s.ca_file = a.ca_file;
      s.connections = a.connections;
      if (a.response_timeout_ms > 0) s.response_timeout = std::chrono::milliseconds(a.response_timeout_ms);
      provider = make_webpush_provider(io.get_executor(), "bench", s, options);
    }
  } else {
    platform = notification_platform::google;
    fcm_settings s;
    s.endpoint = a.endpoint;
    s.ca_file = a.ca_file;
    s.connections = a.connections;
    if (a.response_timeout_ms > 0) s.response_timeout = std::chrono::milliseconds(a.response_timeout_ms);
    if (!a.fcm_service_account.empty()) {
      s.service_account_file = a.fcm_service_account;
    } else {
      auto key = signing_key::generate(signing_key::algorithm::rs256);
      std::string endpoint = a.endpoint;
      while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
      std::string json = "{\"type\":\"service_account\",\"project_id\":\"herald-bench\",\"private_key_id\":\"bench\","
                         "\"private_key\":" + json_string(key.private_pem()) +
                         ",\"client_email\":\"bench@herald-bench.iam.gserviceaccount.com\",\"token_uri\":" +
                         json_string(endpoint + "/token") + "}";
      s.service_account_file = write_private(dir / "service-account.json", json);
    }
    provider = make_fcm_provider(io.get_executor(), "bench", s, options);
  }
  for (auto& ioc : shard_io) shard_threads.emplace_back([ioc = ioc.get()] { ioc->run(); });
  if (!provider->state().ready) {
    std::fprintf(stderr, "provider_bench: %s\n", provider->state().error.c_str());
    provider->shutdown();
    stop_shards();
    provider.reset();
    std::filesystem::remove_all(dir);
    return 1;
  }

  run_state st;
  st.rss_at.reserve(static_cast<std::size_t>(a.count / 50'000 + 2));
  st.rss_at.emplace_back(0, rss_kb("VmRSS"));
  auto started = clock_type::now();
  st.last_result = started;
  boost::asio::steady_timer stall_timer(io);
  watch_for_stalls(stall_timer, st, a.count);
  int workers = static_cast<int>(std::min<long>(a.concurrency, a.count));
  for (int w = 0; w < workers; ++w)
    boost::asio::co_spawn(io, worker(*provider, a, st, platform, sub), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
  // Run until every notification has a result, then let the connections close.
  st.on_all_done = [&io] { io.stop(); };
  io.run();
  auto elapsed = std::chrono::duration<double>(clock_type::now() - started).count();
  stall_timer.cancel();
  provider->shutdown();
  stop_shards();
  io.restart();
  io.poll();
  provider.reset();
  std::filesystem::remove_all(dir);

  std::printf("provider=%s endpoint=%s count=%ld connections=%d threads=%d concurrency=%d elapsed_s=%.3f\n",
              a.provider.c_str(), a.endpoint.c_str(), a.count, a.connections, a.threads, workers, elapsed);
  for (std::size_t k = 0; k < st.outcomes.size(); ++k)
    if (st.outcomes[k] > 0)
      std::printf("outcome_%s=%ld\n", std::string(to_string(static_cast<delivery_result::outcome>(k))).c_str(),
                  st.outcomes[k]);
  for (const auto& [k, v] : st.reasons) std::printf("reason %s: %ld\n", k.c_str(), v);
  std::printf("requests_sent=%ld\nconnections_opened=%ld\nconnections_closed=%ld\n", metrics->sent.load(),
              metrics->opened.load(), metrics->closed.load());
  std::printf("latency_p50_ms=%.3f\nlatency_p99_ms=%.3f\nlatency_max_ms=%.3f\nlongest_gap_ms=%.3f\n",
              st.latency.quantile_ms(0.50), st.latency.quantile_ms(0.99),
              std::chrono::duration<double, std::milli>(st.max_latency).count(),
              std::chrono::duration<double, std::milli>(st.longest_gap).count());
  for (const auto& [n, kb] : st.rss_at) std::printf("rss_kb_after_%ld=%ld\n", n, kb);
  long peak = rss_kb("VmHWM");  // the kernel updates it lazily: also take the samples
  for (const auto& sample : st.rss_at) peak = std::max(peak, sample.second);
  std::printf("peak_rss_kb=%ld\n", peak);
  rusage usage_self{};
  ::getrusage(RUSAGE_SELF, &usage_self);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  std::printf("cpu_user_s=%.3f\ncpu_sys_s=%.3f\n", seconds(usage_self.ru_utime), seconds(usage_self.ru_stime));
  std::printf("notifications_per_s=%.1f\n", static_cast<double>(st.done) / elapsed);
  return 0;
}
