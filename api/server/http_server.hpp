#pragma once
// The HTTP/1.1 server: Beast over Asio coroutines, keep-alive, bounded
// request heads and bodies (413 beyond body_limit), head/read/idle timeouts,
// a bounded number of connections and a graceful drain on shutdown.
//
// Threading: each connection runs on its own strand of the io_context; the
// request handler is called on that strand.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <functional>
#include <memory>

#include "config/config.hpp"

namespace herald {

class logger;
class metrics_registry;

using api_request = boost::beast::http::request<boost::beast::http::string_body>;
using api_response = boost::beast::http::response<boost::beast::http::string_body>;
using request_handler = std::function<boost::asio::awaitable<api_response>(api_request&)>;

class http_server {
 public:
  // `ex` must be an io_context executor (connections get strands of it).
  http_server(boost::asio::any_io_executor ex, server_settings settings, request_handler handler, logger& log,
              metrics_registry& metrics);
  ~http_server();

  // Binds and listens (throws boost::system::system_error on failure).
  void start();
  // Stops accepting, closes idle keep-alive connections, lets in-flight
  // requests finish (their responses carry Connection: close), and calls
  // `done` once no connection is left or after `grace`, whichever is first.
  void async_drain(std::chrono::milliseconds grace, std::function<void(bool clean)> done);

  unsigned short local_port() const;
  std::size_t open_connections() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace herald
