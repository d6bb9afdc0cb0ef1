#pragma once
// Internal: HTTP/1.1 keep-alive connections over TLS (ALPN "http/1.1") to one
// origin, at most `connections` at a time, one request per connection at a
// time; requests beyond that wait in a bounded queue. Used by WNS and Web
// Push. Lives on one executor like h2_pool; each request ends with an
// http_response (any status) or a provider_error:
//   connect_failed / queue_full / shut_down: never left Herald;
//   connection_lost: the connection died before a whole answer (a kept-alive
//   connection the server had closed ends so too: safe to resend);
//   response_timeout: no whole answer in time (the connection is dropped).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "providers/detail/h2_connection.hpp"
#include "providers/errors.hpp"
#include "providers/http_types.hpp"

namespace herald::detail {

struct h1_pool_options {
  int connections = 4;
  std::chrono::milliseconds connect_timeout{10'000};
  std::size_t queue_limit = 10'000;          // requests waiting for a connection
  std::size_t max_response_body = 64 << 10;  // larger answers fail with response_too_large
  std::chrono::milliseconds idle_close_after{60'000};  // a kept-alive connection idle this long is closed before reuse
};

class h1_pool {
 public:
  h1_pool(boost::asio::any_io_executor ex, https_url target, std::shared_ptr<boost::asio::ssl::context> tls,
          h1_pool_options options, h2_hooks hooks, logger* log);
  ~h1_pool();
  h1_pool(const h1_pool&) = delete;
  h1_pool& operator=(const h1_pool&) = delete;

  // `request.path` is the request target; Host is the pool's authority.
  boost::asio::awaitable<boost::system::result<http_response>> async_request(const http_request& request,
                                                                            std::chrono::milliseconds timeout);
  // Opens one connection offering ALPN "h2" and "http/1.1" and returns the
  // protocol the server selected ("" when it selected none). A connection
  // that speaks HTTP/1.1 stays in the pool for the next request; any other
  // is closed. An idle connection already open answers "http/1.1" at once.
  // Errors: connect_failed, queue_full, shut_down.
  boost::asio::awaitable<boost::system::result<std::string>> async_negotiate();
  // Closes that connection if it is idle in the pool (e.g. it answered 5xx).
  void retire(std::uint64_t connection_id);
  void shutdown();
  const https_url& target() const { return target_; }
  std::size_t open_connections() const { return open_; }

 private:
  struct connection;
  boost::asio::awaitable<std::unique_ptr<connection>> acquire(boost::system::error_code& ec);
  // TCP, TLS (offering `alpn`, wire format) and the peer check; the
  // selected protocol goes to `selected`. On failure the socket is closed.
  boost::asio::awaitable<bool> connect(connection& c, std::string_view alpn, std::string& selected);
  void mark_open(connection& c);
  void close_open(connection& c);
  void release(std::unique_ptr<connection> c);
  void wake_one();
  void pass_on();

  boost::asio::any_io_executor ex_;
  https_url target_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  h1_pool_options options_;
  h2_hooks hooks_;
  logger* log_;
  std::vector<std::unique_ptr<connection>> idle_;
  std::size_t busy_ = 0;   // connections lent out or connecting
  std::size_t open_ = 0;   // TLS sessions established and not closed
  std::size_t waiting_ = 0;
  std::shared_ptr<void> wake_;  // steady_timer the waiters wait on (cancelled to wake them)
  std::uint64_t next_id_ = 1;
  bool shut_down_ = false;
};

}  // namespace herald::detail
