#pragma once
// Transport and shared state behind mock_apns_server / mock_fcm_server:
// TLS acceptor, HTTP/2 (nghttp2 in memory) and HTTP/1.1 connections, the
// request record and the fault queues. The protocol rules live in a
// protocol_handler (APNs or FCM) that turns one complete request into a
// decision; it runs on the server thread only.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tests/mocks/mock_push_server.hpp"

namespace herald::test::detail {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct incoming_request {
  std::uint64_t connection_id = 0;
  std::int32_t stream_id = 0;
  std::string method, path;
  header_list headers;  // lowercase names, pseudo-headers included
  std::string body;     // at most body_cap bytes kept
  std::size_t body_size = 0;
  std::chrono::system_clock::time_point received_at;

  static constexpr std::size_t body_cap = 1 << 20;
  const std::string* find(std::string_view name) const;
  std::string header(std::string_view name) const;
  std::size_t header_count(std::string_view name) const;
};

// Per-connection protocol state (server thread only).
struct connection_state {
  std::uint64_t id = 0;
  std::string provider_token;  // APNs: last JWT seen
  std::chrono::steady_clock::time_point provider_token_since;
  // The verified client certificate's subject UID, else its CN (empty
  // without client certificates).
  std::string client_certificate_id;
};

struct decision {
  mock_fault::action what = mock_fault::action::respond;
  int status = 200;
  header_list headers;
  std::string body;
  std::chrono::milliseconds delay{0};
  std::optional<recorded_request> record;  // recorded as a send request when set
};

class protocol_handler {
 public:
  virtual ~protocol_handler() = default;
  virtual bool allow_http1() const { return false; }
  // false: ALPN never selects h2 (an HTTP/1.1-only service); needs allow_http1.
  virtual bool allow_h2() const { return true; }
  // Called once the port is known, before any connection is accepted.
  virtual void on_bound(unsigned short /*port*/) {}
  virtual decision handle(const incoming_request& request, connection_state& state) = 0;
};

struct core_settings {
  std::string cert_file, key_file;
  std::string client_ca_file;  // set: a client certificate signed by this CA is required
  unsigned short port = 0;
  std::uint32_t initial_max_concurrent_streams = 100;
  std::uint32_t max_concurrent_streams = 100;  // sent after the first 200 on a connection
};

class connection;

class server_core {
 public:
  explicit server_core(core_settings settings);
  ~server_core();
  server_core(const server_core&) = delete;
  server_core& operator=(const server_core&) = delete;

  void set_handler(std::unique_ptr<protocol_handler> handler) { handler_ = std::move(handler); }
  protocol_handler& handler() { return *handler_; }
  void start();  // binds, calls handler.on_bound, starts the thread
  void stop();
  unsigned short port() const { return port_; }

  // --- shared state (any thread)
  std::optional<mock_fault> take_fault(const std::string& device_token);
  void fail_next(std::size_t n, const mock_fault& f);
  void fail_token(const std::string& token, const mock_fault& f, std::size_t times);
  void clear_faults();
  void record(recorded_request r);
  std::vector<recorded_request> requests() const;
  std::size_t request_count() const;
  std::size_t count(const std::unordered_map<std::string, std::size_t>& m, std::string_view key) const;
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const;
  void clear_requests();

  std::atomic<std::int64_t> response_delay_ms{0};
  std::atomic<std::uint32_t> raised_max_concurrent_streams;
  std::atomic<std::uint32_t> initial_max_concurrent_streams;
  std::atomic<std::size_t> connections_accepted{0};
  std::atomic<std::size_t> connections_open{0};
  std::atomic<std::size_t> handshake_failures{0};
  std::atomic<std::uint32_t> max_concurrent_seen{0};
  std::atomic<std::size_t> protocol_errors{0};
  std::atomic<std::size_t> refused_streams{0};

  // One-shot GOAWAY trigger: counts request streams server-wide.
  void arm_goaway(std::size_t n, std::string reason);
  // Returns the GOAWAY reason when this new stream is the one that triggers.
  std::optional<std::string> goaway_trigger();
  void goaway_now(std::string reason);
  void set_max_concurrent_streams(std::uint32_t n);

  void note_concurrency(std::uint32_t open);

  struct impl;  // io_context, TLS context, acceptor, thread (mock_server_core.cpp)

  mutable std::mutex mu;
  std::unordered_map<std::string, std::size_t> by_token, delivered_by_token, by_apns_id, delivered_by_apns_id;
  std::size_t delivered = 0;
  std::size_t total_requests = 0;
  std::size_t record_limit = 0;  // 0 = unlimited

 private:
  friend class connection;
  std::unique_ptr<protocol_handler> handler_;
  core_settings settings_;
  unsigned short port_ = 0;

  mutable std::condition_variable cv_;
  std::vector<recorded_request> records_;
  std::deque<std::pair<mock_fault, std::size_t>> next_faults_;
  std::unordered_map<std::string, std::deque<std::pair<mock_fault, std::size_t>>> token_faults_;
  std::size_t goaway_countdown_ = 0;
  std::string goaway_reason_;
  // Last member: the io_context (and any coroutine frame left in it) goes
  // first, while the handler and the record still exist.
  std::unique_ptr<impl> impl_;
};

// Shared helpers for the handlers.
std::int64_t unix_now();

}  // namespace herald::test::detail
