#include "providers/detail/h2_pool.hpp"

#include <algorithm>
#include <utility>

namespace herald::detail {

namespace asio = boost::asio;

h2_pool::h2_pool(asio::any_io_executor ex, https_url target, std::shared_ptr<asio::ssl::context> tls,
                 h2_pool_options options, h2_hooks hooks, random_source random, logger* log)
    : h2_pool(target, tls_connection_factory(ex, target, std::move(tls), options.connection, std::move(hooks), log),
              options, std::move(random)) {}

h2_pool::h2_pool(https_url target, h2_connection_factory factory, h2_pool_options options, random_source random)
    : target_(std::move(target)),
      factory_(std::move(factory)),
      options_(options),
      random_(random ? std::move(random) : make_random_source()),
      slots_(std::make_shared<std::vector<slot>>(static_cast<std::size_t>(std::max(1, options.connections)))) {}

h2_pool::~h2_pool() { shutdown(); }

std::shared_ptr<h2_connection> h2_pool::choose() {
  if (shut_down_) return nullptr;
  auto& slots = *slots_;
  // Open every slot on demand so load spreads over the configured connections.
  for (std::size_t i = 0; i < slots.size(); ++i) {
    auto& s = slots[i];
    if (s.conn && s.conn->current_state() != h2_connection::state::closed &&
        s.conn->current_state() != h2_connection::state::draining)
      continue;
    std::chrono::milliseconds delay{0};
    if (s.failures > 0) delay = options_.reconnect_backoff.delay(s.failures - 1, random_);
    std::weak_ptr<std::vector<slot>> weak_slots = slots_;
    std::uint64_t id = next_id_++;
    s.conn = factory_(id, [weak_slots, i](std::uint64_t closed_id, bool was_open) {
      auto slots = weak_slots.lock();
      if (!slots || i >= slots->size()) return;
      auto& sl = (*slots)[i];
      if (!sl.conn || sl.conn->id() != closed_id) return;
      sl.failures = was_open ? 0 : sl.failures + 1;
    });
    if (!s.conn) continue;
    s.conn->start(delay);
  }
  // Least loaded open connection; a connecting one (maybe in reconnect
  // backoff) only when none is open.
  std::shared_ptr<h2_connection> best;
  auto score = [](const h2_connection& c) {
    bool open = c.current_state() == h2_connection::state::open;
    return std::pair<int, std::size_t>(open ? 0 : 1, c.load());
  };
  for (std::size_t k = 0; k < slots.size(); ++k) {
    auto& c = slots[(rr_ + k) % slots.size()].conn;
    if (!c || !c->accepting()) continue;
    if (!best || score(*c) < score(*best)) best = c;
  }
  rr_ = (rr_ + 1) % slots.size();
  return best;
}

asio::awaitable<boost::system::result<http_response>> h2_pool::async_request(const http_request& request,
                                                                            std::chrono::milliseconds timeout) {
  auto conn = choose();
  if (!conn) co_return shut_down_ ? provider_error::shut_down : provider_error::queue_full;
  co_return co_await conn->async_request(request, timeout);
}

void h2_pool::retire(std::uint64_t connection_id) {
  for (auto& s : *slots_)
    if (s.conn && s.conn->id() == connection_id) s.conn->retire();
}

void h2_pool::shutdown() {
  shut_down_ = true;
  for (auto& s : *slots_)
    if (s.conn) s.conn->close();
}

std::size_t h2_pool::open_connections() const {
  std::size_t n = 0;
  for (const auto& s : *slots_)
    if (s.conn && s.conn->current_state() == h2_connection::state::open) ++n;
  return n;
}

}  // namespace herald::detail
