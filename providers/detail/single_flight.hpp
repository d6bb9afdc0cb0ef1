#pragma once
// One token refresh at a time per adapter, however many sends need a token:
// the first caller runs the exchange, the others wait for it and share its
// failure (then read the cache again on success). Used by the FCM and WNS
// OAuth access tokens. Strand-confined like the adapter that owns it.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "providers/provider.hpp"

namespace herald::detail {

class single_flight_refresh {
 public:
  explicit single_flight_refresh(boost::asio::any_io_executor ex) : done_(ex) {}

  struct outcome {
    bool ran = false;                        // this caller ran the exchange (and it stored the token on success)
    std::optional<delivery_result> failure;  // the exchange's failure (this caller's or the one it waited for)
  };

  // `exchange()`: awaitable<std::variant<std::string, delivery_result>>.
  template <typename Exchange>
  boost::asio::awaitable<outcome> run(Exchange exchange) {
    if (running_) {
      const auto generation = generation_;
      co_await done_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
      if (generation_ != generation && failure_) co_return outcome{false, failure_};
      co_return outcome{};
    }
    running_ = true;
    done_.expires_at(boost::asio::steady_timer::time_point::max());
    auto result = co_await exchange();
    running_ = false;
    ++generation_;
    done_.cancel();
    if (auto* failure = std::get_if<delivery_result>(&result)) failure_ = *failure;
    else failure_.reset();
    co_return outcome{true, failure_};
  }

 private:
  bool running_ = false;
  std::uint64_t generation_ = 0;
  std::optional<delivery_result> failure_;
  boost::asio::steady_timer done_;  // waiters of the running exchange wait here
};

}  // namespace herald::detail
