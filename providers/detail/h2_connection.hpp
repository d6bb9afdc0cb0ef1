#pragma once
// Internal: an HTTP/2 client connection to one endpoint: the I/O that
// drives a tls_socket and an h2_session (connect, handshake, reads, writes,
// request queue, response timeouts, idle pings). h2_pool spreads requests
// over several of them.
//
// Threading: a connection and its pool live on one executor; every member
// is called on it (the providers hop there first). Each request ends with
// exactly one result: an http_response (any status) or a provider_error
// saying whether the request may have reached the server:
//   not_sent / connect_failed / queue_full / shut_down: never left Herald;
//   connection_lost / stream_reset / response_timeout: may have been processed.
// REFUSED_STREAM answers are resubmitted transparently (bounded); streams
// refused by a GOAWAY fail with not_sent so the caller resends elsewhere.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "providers/errors.hpp"
#include "providers/http_types.hpp"

namespace boost::asio::ssl {
class context;
}

namespace herald {
class logger;
}

namespace herald::detail {

// Metrics hooks (each may be empty).
struct h2_hooks {
  std::function<void()> on_open;
  std::function<void()> on_close;
  std::function<void(int)> on_streams;  // +1 when a stream opens, -1 when it closes
};

struct h2_options {
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds idle_ping_after{300'000};
  std::chrono::milliseconds ping_timeout{20'000};
  std::size_t queue_limit = 10'000;
  std::size_t max_response_body = 64 << 10;
  int max_refused_resubmits = 3;
};

class h2_connection {
 public:
  enum class state { connecting, open, draining, closed };
  // Called once when the connection closes; `was_open` says it got past the handshake.
  using close_handler = std::function<void(std::uint64_t id, bool was_open)>;

  static std::shared_ptr<h2_connection> create(boost::asio::any_io_executor ex, https_url target,
                                               std::shared_ptr<boost::asio::ssl::context> tls, h2_options options,
                                               std::uint64_t id, h2_hooks hooks, close_handler on_close,
                                               logger* log);
  virtual ~h2_connection() = default;

  // Connects after `delay` (reconnect backoff); requests queue meanwhile.
  virtual void start(std::chrono::milliseconds delay) = 0;
  // `request` is borrowed: the caller keeps it alive and unchanged until the
  // result is back (a copy is taken only if the request times out in flight).
  virtual boost::asio::awaitable<boost::system::result<http_response>> async_request(
      const http_request& request, std::chrono::milliseconds timeout) = 0;
  // No new streams; closes once the in-flight ones are answered.
  virtual void retire() = 0;
  // Closes now; in-flight requests end with connection_lost or not_sent.
  virtual void close() = 0;

  virtual state current_state() const = 0;
  virtual bool accepting() const = 0;  // connecting/open, no GOAWAY, queue not full
  virtual std::size_t load() const = 0;  // streams in flight + queued
  virtual std::uint64_t id() const = 0;
  virtual std::uint32_t max_concurrent_streams() const = 0;  // the server's current value
};

// Makes pool connection `id`; the connection calls `on_close` once when it
// closes. The pool's only way to open connections, so tests can hand it
// scripted ones.
using h2_connection_factory =
    std::function<std::shared_ptr<h2_connection>(std::uint64_t id, h2_connection::close_handler on_close)>;
// The real one: h2_connection::create over TLS to `target`.
h2_connection_factory tls_connection_factory(boost::asio::any_io_executor ex, https_url target,
                                             std::shared_ptr<boost::asio::ssl::context> tls, h2_options options,
                                             h2_hooks hooks, logger* log);

}  // namespace herald::detail
