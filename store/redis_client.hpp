#pragma once
// One Redis connection driven by hiredis 0.14's async API on an Asio
// executor: no extra thread, no blocking call. Commands are pipelined
// (hiredis buffers them; one write carries many). While disconnected,
// commands fail at once with redis_error::not_connected; the client
// reconnects by itself with exponential backoff (redis.reconnect_min..max)
// and re-issues AUTH/SELECT before it reports itself connected. It is only
// connected to a master (ROLE is part of the handshake): the error replies
// of a node that stopped being one (READONLY, MASTERDOWN, LOADING) make it
// reconnect, resolving the host again or, with redis.sentinels, asking the
// sentinels again (detail/link_policy.hpp decides). With
// settings.check_dataset it checks the dataset epoch on every connect
// (dataset_keys below) and warns once when the node persists nothing.
//
// Threading: all state lives on the client's strand; async_exec may be
// called from any executor, the completion runs on the caller's executor.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/system/error_code.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace herald {

class logger;
class metrics_registry;

enum class redis_error {
  not_connected = 1,  // no connection to Redis right now (fail fast, retry later)
  timeout,            // no reply within redis.command_timeout; the connection is reset
  connection_lost,    // the connection dropped before the reply arrived
  server_error,       // Redis answered with an error reply (message in redis_reply::str)
  busy,               // more than redis.max_pending commands queued
  unexpected_reply,   // the reply had a type the caller did not expect
  stopped,            // the client was stopped
  unavailable,        // the node cannot serve as the master now (READONLY, MASTERDOWN,
                      // LOADING, UNBLOCKED error reply: failover under way); reply filled
                      // in, the connection is being made again
};
const boost::system::error_category& redis_category();
boost::system::error_code make_error_code(redis_error e);

// A decoded RESP reply (owns its data).
struct redis_reply {
  enum class kind { nil, integer, string, status, error, array };
  kind type = kind::nil;
  std::int64_t integer = 0;
  std::string str;  // string, status or error text
  std::vector<redis_reply> elements;
};

// The keys of the dataset epoch: `epoch` is written when the client first
// finds none; `reset` exists (with an expiry of redis.dataset_reset_alert)
// while a detected reset has not been acknowledged (`herald redis ack-reset`
// deletes it).
struct dataset_keys {
  std::string epoch, reset;
  static dataset_keys for_prefix(const std::string& key_prefix) {
    return {key_prefix + ":dataset:epoch", key_prefix + ":dataset:reset"};
  }
};

class redis_client : public std::enable_shared_from_this<redis_client> {
 public:
  using exec_handler = std::function<void(boost::system::error_code, redis_reply)>;

  static std::shared_ptr<redis_client> create(boost::asio::any_io_executor ex, redis_settings settings, logger& log,
                                              metrics_registry* metrics = nullptr);
  virtual ~redis_client() = default;

  virtual void start() = 0;  // begin connecting (and reconnecting) in the background
  virtual void stop() = 0;   // disconnect; pending commands complete with redis_error::stopped
  virtual bool connected() const = 0;  // thread-safe snapshot
  virtual std::string last_error() const = 0;  // why it is not connected ("" when connected)

  // Sends one command (argv form, binary safe). The handler gets a Redis
  // error reply as redis_error::server_error with the reply still filled in.
  // Every handler runs exactly once, never inline from exec(). Pub/sub and
  // MONITOR are refused (errc::operation_not_supported), an empty argv with
  // errc::invalid_argument.
  virtual void exec(std::vector<std::string> args, exec_handler handler) = 0;

  // Asio-style wrapper: `auto [ec, reply] = co_await client->async_exec(args, as_tuple(use_awaitable));`
  template <typename CompletionToken>
  auto async_exec(std::vector<std::string> args, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code, redis_reply)>(
        [this](auto handler, std::vector<std::string> a) {
          auto work = std::make_shared<decltype(handler)>(std::move(handler));
          exec(std::move(a), [work](boost::system::error_code ec, redis_reply r) {
            auto ex = boost::asio::get_associated_executor(*work);
            boost::asio::dispatch(ex, [work, ec, r = std::move(r)]() mutable { (*work)(ec, std::move(r)); });
          });
        },
        token, std::move(args));
  }
};

}  // namespace herald

template <>
struct boost::system::is_error_code_enum<herald::redis_error> : std::true_type {};
