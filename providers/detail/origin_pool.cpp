#include "providers/detail/origin_pool.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "runtime/log.hpp"

namespace herald::detail {

namespace asio = boost::asio;
using boost::system::error_code;

origin_pool::origin_pool(asio::any_io_executor ex, https_url origin, std::shared_ptr<asio::ssl::context> tls,
                         origin_pool_options options, h2_hooks hooks, random_source random, logger* log)
    : ex_(ex),
      target_(std::move(origin)),
      tls_(std::move(tls)),
      options_(std::move(options)),
      hooks_(std::move(hooks)),
      random_(std::move(random)),
      log_(log),
      h1_(std::make_unique<h1_pool>(ex_, target_, tls_, options_.http11, hooks_, log_)),
      done_(std::make_shared<asio::steady_timer>(ex, asio::steady_timer::time_point::max())) {}

origin_pool::~origin_pool() { shutdown(); }

void origin_pool::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  h1_->shutdown();
  if (h2_) h2_->shutdown();
  static_cast<asio::steady_timer*>(done_.get())->cancel();
}

void origin_pool::retire(const http_response& answer) {
  if (version_ == http_version::h2 && h2_) h2_->retire(answer.connection_id);
  else h1_->retire(answer.connection_id);
}

asio::awaitable<error_code> origin_pool::negotiate() {
  auto done = done_;  // outlives a pool destroyed while we wait
  auto* timer = static_cast<asio::steady_timer*>(done.get());
  if (negotiating_) {
    auto generation = generation_;
    while (negotiating_ && generation_ == generation && !shut_down_)
      co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    if (shut_down_) co_return provider_error::shut_down;
    if (version_) co_return error_code{};
    co_return last_error_ ? last_error_ : error_code(provider_error::connect_failed);
  }
  negotiating_ = true;
  ++negotiations_;
  auto selected = co_await h1_->async_negotiate();
  if (shut_down_) co_return provider_error::shut_down;
  negotiating_ = false;
  ++generation_;
  timer->cancel();
  if (!selected) {
    last_error_ = selected.error();
    co_return last_error_;
  }
  auto version = http_version_for_alpn(*selected);
  if (!version) {
    if (log_) log_->warning("alpn_unusable").kv("host", target_.host).kv("port", target_.port).kv("alpn", *selected);
    last_error_ = provider_error::connect_failed;
    co_return last_error_;
  }
  if (*version == http_version::h2 && !h2_)
    h2_ = std::make_unique<h2_pool>(ex_, target_, tls_, options_.h2, hooks_, random_, log_);
  if (log_ && logged_ != version)
    log_->notice("alpn_selected").kv("host", target_.host).kv("port", target_.port).kv("protocol", to_string(*version));
  logged_ = version;
  version_ = version;
  co_return error_code{};
}

asio::awaitable<boost::system::result<http_response>> origin_pool::async_request(const http_request& request,
                                                                                std::chrono::milliseconds timeout) {
  if (shut_down_) co_return provider_error::shut_down;
  // A waiter may find the version reset again (a connection setup failed
  // meanwhile): it negotiates once more, then gives up.
  for (int round = 0; !version_; ++round) {
    if (round == 2) co_return provider_error::connect_failed;
    auto ec = co_await negotiate();
    if (ec) co_return ec;
  }
  const http_version used = *version_;
  // (No co_await inside a conditional expression: GCC 12 miscompiles it.)
  boost::system::result<http_response> answer = provider_error::not_sent;
  if (used == http_version::h2) {
    answer = co_await h2_->async_request(request, timeout);
  } else {
    answer = co_await h1_->async_request(request, timeout);
  }
  if (!answer && answer.error().category() == provider_category() && !shut_down_ &&
      renegotiate_after(static_cast<provider_error>(answer.error().value())) && version_ == used)
    version_.reset();
  co_return answer;
}

}  // namespace herald::detail
