#pragma once
// Internal: requests to one origin over HTTP/2 or HTTP/1.1, as the server's
// ALPN answer decides (providers/alpn.hpp). Used by WNS and Web Push.
//
// The first request negotiates: one TLS connection offering "h2,http/1.1"
// (h1_pool::async_negotiate). A server selecting http/1.1 (or nothing)
// keeps that connection as the first of an h1_pool; a server selecting h2
// gets an h2_pool (that probe connection is closed: the HTTP/2 client opens
// its own). Requests arriving meanwhile wait for the decision (one
// negotiation at a time). A failed connection setup in the chosen pool
// makes the next request negotiate again. Lives on one executor; results
// and errors as h1_pool / h2_pool give them.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "providers/alpn.hpp"
#include "providers/detail/h1_pool.hpp"
#include "providers/detail/h2_pool.hpp"

namespace herald::detail {

struct origin_pool_options {
  h1_pool_options http11;
  h2_pool_options h2;
};

class origin_pool {
 public:
  origin_pool(boost::asio::any_io_executor ex, https_url origin, std::shared_ptr<boost::asio::ssl::context> tls,
              origin_pool_options options, h2_hooks hooks, random_source random, logger* log);
  ~origin_pool();
  origin_pool(const origin_pool&) = delete;
  origin_pool& operator=(const origin_pool&) = delete;

  boost::asio::awaitable<boost::system::result<http_response>> async_request(const http_request& request,
                                                                            std::chrono::milliseconds timeout);
  // Stops using the connection that gave `answer` (the pool of the version in use).
  void retire(const http_response& answer);
  void shutdown();
  // The version in use; nullopt before the first negotiation succeeded.
  std::optional<http_version> version() const { return version_; }
  std::size_t negotiations() const { return negotiations_; }
  const https_url& target() const { return target_; }

 private:
  boost::asio::awaitable<boost::system::error_code> negotiate();

  boost::asio::any_io_executor ex_;
  https_url target_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  origin_pool_options options_;
  h2_hooks hooks_;
  random_source random_;
  logger* log_;
  std::unique_ptr<h1_pool> h1_;  // exists from the start: it negotiates
  std::unique_ptr<h2_pool> h2_;  // made when a server first selects h2
  std::optional<http_version> version_;
  std::optional<http_version> logged_;  // the version last logged (alpn_selected)
  bool negotiating_ = false;
  std::uint64_t generation_ = 0;  // negotiations finished
  boost::system::error_code last_error_;
  std::shared_ptr<void> done_;  // steady_timer the waiters wait on (cancelled when a negotiation ends)
  std::size_t negotiations_ = 0;
  bool shut_down_ = false;
};

}  // namespace herald::detail
