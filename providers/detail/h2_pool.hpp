#pragma once
// Internal: a pool of HTTP/2 connections to one endpoint.
//
// Threading: the pool and its connections live on one executor; every member
// is called on it. Results are those of h2_connection::async_request, plus
// shut_down after shutdown() and queue_full when no connection accepts.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "providers/detail/h2_connection.hpp"
#include "runtime/backoff.hpp"

namespace herald::detail {

struct h2_pool_options {
  int connections = 1;
  h2_options connection;
  backoff_policy reconnect_backoff{std::chrono::milliseconds(200), std::chrono::milliseconds(30'000)};
};

// N connections to one endpoint (one credential); opened on demand through
// the factory, reconnected with exponential backoff and jitter after failed
// connects, the least loaded open one chosen for each request.
class h2_pool {
 public:
  // TLS connections (tls_connection_factory).
  h2_pool(boost::asio::any_io_executor ex, https_url target, std::shared_ptr<boost::asio::ssl::context> tls,
          h2_pool_options options, h2_hooks hooks, random_source random, logger* log);
  // Connections made by `factory`.
  h2_pool(https_url target, h2_connection_factory factory, h2_pool_options options, random_source random);
  ~h2_pool();
  h2_pool(const h2_pool&) = delete;
  h2_pool& operator=(const h2_pool&) = delete;

  // `request` is borrowed as in h2_connection::async_request.
  boost::asio::awaitable<boost::system::result<http_response>> async_request(const http_request& request,
                                                                            std::chrono::milliseconds timeout);
  // Stops using that connection (it drains and closes); the slot reconnects on demand.
  void retire(std::uint64_t connection_id);
  void shutdown();
  const https_url& target() const { return target_; }
  std::size_t open_connections() const;

 private:
  struct slot {
    std::shared_ptr<h2_connection> conn;
    int failures = 0;
  };
  std::shared_ptr<h2_connection> choose();

  https_url target_;
  h2_connection_factory factory_;
  h2_pool_options options_;
  random_source random_;
  std::shared_ptr<std::vector<slot>> slots_;  // shared with close handlers (which may outlive the pool)
  std::uint64_t next_id_ = 1;
  std::size_t rr_ = 0;
  bool shut_down_ = false;
};

}  // namespace herald::detail
